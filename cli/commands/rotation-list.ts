import type { Command } from 'commander';
import type { RunProgress } from '../../domain/rotation';
import { parseLimit } from '../args';
import { apiClient, type CliDeps, globalOptions, print } from '../context';
import { render } from '../output';
import { runTable } from './rotation-view';

/** `certflow rotation list`: the tenant's runs, newest first. */
export function registerRotationList(rotation: Command, deps: CliDeps): void {
  rotation
    .command('list')
    .description('list rotation runs, newest first')
    .option('--limit <n>', 'runs per page (1-500)', parseLimit, 50)
    .option('--after <id>', 'start after this run id (the `next` of the previous page)')
    .action(async (opts: { limit: number; after?: string }, cmd: Command) => {
      const query = new URLSearchParams({
        limit: String(opts.limit),
        ...(opts.after ? { after: opts.after } : {}),
      });
      const page = await apiClient(cmd, deps).request<{ runs: RunProgress[]; next: string | null }>(
        'GET',
        `/api/rotation-runs?${query.toString()}`,
      );
      print(
        deps,
        render(globalOptions(cmd).output, page, () => runTable(page.runs)),
      );
      if (page.next && globalOptions(cmd).output === 'table')
        deps.io.err(`more runs: --after ${page.next}\n`);
    });
}
