import type { Command } from 'commander';
import type { RunProgress } from '../../domain/rotation';
import { apiClient, type CliDeps, globalOptions, print } from '../context';
import { render } from '../output';
import { runTable } from './rotation-view';

/** `certflow rotation pause|resume|cancel <id>`: answers with the status the run reached. */
export function registerRotationControl(rotation: Command, deps: CliDeps): void {
  const verbs = [
    ['pause', 'stop starting devices; those in flight finish'],
    ['resume', 'resume a paused run'],
    ['cancel', 'cancel a run: devices not started are marked cancelled'],
  ] as const;
  for (const [verb, description] of verbs) {
    const command = rotation.command(verb).description(description).argument('<id>', 'run id');
    if (verb === 'cancel') command.option('--reason <text>', 'why (recorded with the run)');
    command.action(async (id: string, opts: { reason?: string }, cmd: Command) => {
      const run = await apiClient(cmd, deps).request<RunProgress>(
        'POST',
        `/api/rotation-runs/${encodeURIComponent(id)}/${verb}`,
        verb === 'cancel' && opts.reason ? { reason: opts.reason } : undefined,
      );
      print(
        deps,
        render(globalOptions(cmd).output, run, () => runTable([run])),
      );
    });
  }
}
