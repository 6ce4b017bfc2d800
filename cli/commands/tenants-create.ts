import type { Command } from 'commander';
import { isUniqueViolation } from '../../registry/errors';
import { createTenantWithAdminKey } from '../../registry/tenants';
import { tenantNameProblem } from '../args';
import { type CliDeps, globalOptions, print, withRegistry } from '../context';
import { CliError } from '../errors';
import { render } from '../output';

/**
 * `certflow tenants create <name>`: straight to the registry (DATA_DIR / DATABASE_URL), since no
 * API key exists before the tenant does. Prints the tenant's first admin key: the only time it
 * can be shown, as only its hash is stored.
 */
export function registerTenantsCreate(tenants: Command, deps: CliDeps): void {
  tenants
    .command('create')
    .description('create a tenant and print its admin API key (shown once)')
    .argument('<name>', 'tenant name, unique, 1-64 characters')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const why = tenantNameProblem(name);
      if (why) throw new CliError(`tenant name ${why}`);
      const { tenant, adminKey } = await withRegistry(deps, async (registry) => {
        try {
          return await createTenantWithAdminKey(registry.db, name, 'cli');
        } catch (err) {
          // The unique index decides, so two concurrent creates of one name cannot both win.
          if (isUniqueViolation(err)) throw new CliError(`a tenant named "${name}" already exists`);
          throw err;
        }
      });
      const result = { tenant: { id: tenant.id, name: tenant.name, createdAt: tenant.created_at }, adminKey };
      print(
        deps,
        render(globalOptions(cmd).output, result, () =>
          [`tenant     ${tenant.name}`, `id         ${tenant.id}`, `admin key  ${adminKey}`].join('\n'),
        ),
      );
      deps.io.err('Store the admin key now: it is stored hashed and cannot be shown again.\n');
    });
}
