import type { Command } from 'commander';
import { apiClient, type CliDeps, print } from '../context';
import { reportText, type RunReport } from './rotation-view';

/** `certflow rotation report <id> [--json]`: the final report (or the report so far). */
export function registerRotationReport(rotation: Command, deps: CliDeps): void {
  rotation
    .command('report')
    .description('counts, status and every device that did not succeed, with reasons')
    .argument('<id>', 'run id')
    .option('--json', 'print the report as JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const report = await apiClient(cmd, deps).request<RunReport>(
        'GET',
        `/api/rotation-runs/${encodeURIComponent(id)}/report`,
      );
      print(deps, opts.json ? JSON.stringify(report, null, 2) : reportText(report));
    });
}
