import type { Command } from 'commander';
import type { RunProgress } from '../../domain/rotation';
import { apiClient, type CliDeps, globalOptions, print } from '../context';
import { CliError } from '../errors';
import { render } from '../output';
import { runTable, runSummary, watchInterval, watchRun } from './rotation-view';

/**
 * `certflow rotation status <id> [--watch]`: exact progress; with --watch a live bar until the
 * run ends, then exit 1 if it was aborted (its failure threshold was crossed).
 */
export function registerRotationStatus(rotation: Command, deps: CliDeps): void {
  rotation
    .command('status')
    .description('show the progress of a run')
    .argument('<id>', 'run id')
    .option('--watch', 'redraw a progress bar until the run ends (one line per change when not a terminal)')
    .action(async (id: string, opts: { watch?: boolean }, cmd: Command) => {
      const api = apiClient(cmd, deps);
      const run = opts.watch
        ? await watchRun(api, id, {
            isTTY: deps.io.errIsTTY,
            write: (s) => deps.io.err(s),
            intervalMs: watchInterval(deps.env),
          })
        : await api.request<RunProgress>('GET', `/api/rotation-runs/${encodeURIComponent(id)}`);
      print(
        deps,
        render(globalOptions(cmd).output, run, () => `${runTable([run])}\n${runSummary(run)}`),
      );
      if (opts.watch && run.status === 'aborted') {
        throw new CliError(`run ${run.runId} was aborted${run.statusReason ? `: ${run.statusReason}` : ''}`);
      }
    });
}
