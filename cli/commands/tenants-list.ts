import type { Command } from 'commander';
import { listTenants } from '../../registry/tenants';
import { type CliDeps, globalOptions, print, withRegistry } from '../context';
import { render } from '../output';
import { renderTable } from '../table';

/** `certflow tenants list`: every tenant in the registry, oldest first. */
export function registerTenantsList(tenants: Command, deps: CliDeps): void {
  tenants
    .command('list')
    .description('list tenants (reads the registry directly)')
    .action(async (_opts: unknown, cmd: Command) => {
      const rows = await withRegistry(deps, (registry) => listTenants(registry.db));
      const tenants = rows.map((t) => ({ id: t.id, name: t.name, createdAt: t.created_at }));
      print(
        deps,
        render(globalOptions(cmd).output, tenants, () =>
          renderTable(
            [
              { header: 'ID', value: (t) => t.id },
              { header: 'NAME', value: (t) => t.name },
              { header: 'CREATED', value: (t) => t.createdAt },
            ],
            tenants,
          ),
        ),
      );
    });
}
