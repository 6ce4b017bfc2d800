import { type Command, InvalidArgumentError, Option } from 'commander';
import type { RunProgress } from '../../domain/rotation';
import { collect } from '../args';
import { apiClient, type CliDeps, globalOptions, print } from '../context';
import { CliError } from '../errors';
import { render } from '../output';
import { renderTable } from '../table';
import { runTable, watchInterval, watchRun } from './rotation-view';

interface DryRun {
  dryRun: true;
  devices: number;
  sample: { deviceId: string; deviceName: string; fingerprint: string; notAfter: string | null }[];
  estimatedSeconds: number;
  estimate: string;
}

interface StartOptions {
  product?: string;
  cohort?: string;
  class?: string;
  tag?: string[];
  ca?: string;
  expiringBefore?: string;
  device?: string[];
  concurrency?: number;
  rate?: number;
  deadline?: number;
  abortAfter?: number;
  issuingCa?: string;
  dryRun?: boolean;
  watch?: boolean;
}

const integer = (min: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`must be an integer ≥ ${min}`);
  return n;
};
const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
};

/** The request body of POST /api/rotation-runs from the flags; the server validates the rest. */
export function startRequest(o: StartOptions): Record<string, unknown> {
  const selection = {
    ...(o.product ? { productId: o.product } : {}),
    ...(o.cohort ? { cohortId: o.cohort } : {}),
    ...(o.class ? { deviceClassId: o.class } : {}),
    ...(o.tag?.length ? { tags: o.tag } : {}),
    ...(o.ca ? { caId: o.ca } : {}),
    ...(o.expiringBefore ? { expiringBefore: o.expiringBefore } : {}),
    ...(o.device?.length ? { deviceIds: o.device } : {}),
  };
  if (Object.keys(selection).length === 0) {
    throw new CliError(
      'select devices: --product, --cohort, --class, --tag, --ca, --expiring-before or --device',
    );
  }
  const options = {
    ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
    ...(o.rate !== undefined ? { ratePerMinute: o.rate } : {}),
    ...(o.deadline !== undefined ? { deadlineSeconds: o.deadline } : {}),
    ...(o.abortAfter !== undefined ? { abortAfterFailures: o.abortAfter } : {}),
    ...(o.issuingCa ? { issuingCaId: o.issuingCa } : {}),
  };
  return { selection, options, ...(o.dryRun ? { dryRun: true } : {}) };
}

/** `certflow rotation start …`: a fleet rotation run over a selection (or a dry run). */
export function registerRotationStart(rotation: Command, deps: CliDeps): void {
  rotation
    .command('start')
    .description('start a rotation run over the selected devices (criteria combine with AND)')
    .option('--product <id>', 'devices of this product')
    .option('--cohort <id>', 'devices of this cohort')
    .option('--class <id>', 'devices of this device class')
    .option('--tag <tag>', 'devices with this tag (repeatable: all must be present)', collect)
    .option('--ca <id>', 'devices whose active certificate comes from this CA or issuing CA')
    .option('--expiring-before <iso>', 'devices whose certificate expires before this instant')
    .option('--device <id>', 'this device (repeatable)', collect)
    .option('--concurrency <n>', 'devices rotating at once (1-1000, default 50)', integer(1))
    .option('--rate <n>', 'devices started per minute (default: no limit)', positive)
    .option('--deadline <seconds>', 'per-device deadline (default 7 days)', integer(1))
    .option('--abort-after <n>', 'abort once this many devices failed or rolled back', integer(0))
    .option('--issuing-ca <id>', 'sign the new certificates with this issuing CA')
    .addOption(new Option('--dry-run', 'only count the devices and estimate the duration').conflicts('watch'))
    .option('--watch', 'follow the run with a live progress bar until it ends')
    .action(async (opts: StartOptions, cmd: Command) => {
      const api = apiClient(cmd, deps);
      const output = globalOptions(cmd).output;
      const answer = await api.request<RunProgress | DryRun>(
        'POST',
        '/api/rotation-runs',
        startRequest(opts),
      );
      if ('dryRun' in answer) {
        print(
          deps,
          render(output, answer, () =>
            [
              `${answer.devices} device(s) selected; estimated ${answer.estimatedSeconds} s (${answer.estimate})`,
              renderTable(
                [
                  { header: 'ID', value: (d: DryRun['sample'][number]) => d.deviceId },
                  { header: 'NAME', value: (d: DryRun['sample'][number]) => d.deviceName },
                  { header: 'NOT AFTER', value: (d: DryRun['sample'][number]) => d.notAfter },
                ],
                answer.sample,
              ),
            ].join('\n'),
          ),
        );
        return;
      }
      deps.io.err(`started run ${answer.runId}\n`);
      const run = opts.watch
        ? await watchRun(api, answer.runId, {
            isTTY: deps.io.errIsTTY,
            write: (s) => deps.io.err(s),
            intervalMs: watchInterval(deps.env),
          })
        : answer;
      print(
        deps,
        render(output, run, () => runTable([run])),
      );
    });
}
