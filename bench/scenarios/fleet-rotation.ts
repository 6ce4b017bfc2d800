import { performance } from 'node:perf_hooks';
import { MAX_SELECTED_DEVICE_IDS } from '../../api/http/rotation-runs/contract';
import type { ItemCounts, RunProgress } from '../../domain/rotation';
import { createIssuingCa, httpOperatorApi } from '../../sim/operator-api';
import type { Certflow } from '../lib/certflow';
import type { BenchContext } from '../lib/context';
import type { EmptyWorker } from '../lib/empty-worker';
import { judge, type ScenarioResult } from '../lib/measure';
import { cpuSeconds, peakRssMb, resetPeaks, self } from '../lib/procs';
import { checkRotation } from '../lib/rotation-check';
import { api } from '../lib/setup';
import { type ConnectedFleet, rotationLatencies } from '../lib/sim-devices';
import { summarize } from '../lib/stats';

const FLEET = 100_000;
const GOAL_MINUTES = 15;
const POLL_MS = 250;
/** After a cancel, how long the run may take to settle its in-flight devices. */
const SETTLE_MS = 60_000;

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const ended = (p: RunProgress) => p.status !== 'running' && p.status !== 'paused';

interface DrivenRun {
  runId: string;
  progress: RunProgress;
  durationS: number;
  /** The time cap was reached and the run cancelled: the figures are partial. */
  cancelled: boolean;
}

/** Starts the run and polls it to its end; at --max-seconds cancels it and waits for it to settle. */
async function driveRun(ctx: BenchContext, cf: Certflow, body: unknown): Promise<DrivenRun> {
  const t0 = performance.now();
  const elapsedMs = () => performance.now() - t0;
  let progress = await api<RunProgress>(cf, 'POST', '/api/rotation-runs', body);
  const runId = progress.runId;
  let cancelled = false;
  while (!ended(progress)) {
    if (!cancelled && elapsedMs() > ctx.opts.maxSeconds * 1000) {
      cancelled = true;
      ctx.say(`  time cap (${ctx.opts.maxSeconds} s): cancelling at ${progress.counts.succeeded} succeeded`);
      await api(cf, 'POST', `/api/rotation-runs/${runId}/cancel`, { reason: 'bench time cap' });
    }
    if (cancelled && elapsedMs() > ctx.opts.maxSeconds * 1000 + SETTLE_MS) break;
    await new Promise((r) => setTimeout(r, POLL_MS));
    progress = await api<RunProgress>(cf, 'GET', `/api/rotation-runs/${runId}`);
  }
  return { runId, progress, durationS: elapsedMs() / 1000, cancelled };
}

/** Devices that did not succeed, by state and reason (from the run's report). */
async function problemKinds(cf: Certflow, runId: string): Promise<Record<string, number>> {
  const report = await api<{ problems: { reason: string | null; state: string }[] }>(
    cf,
    'GET',
    `/api/rotation-runs/${runId}/report`,
  );
  const kinds: Record<string, number> = {};
  for (const p of report.problems) {
    const kind = `${p.state}: ${p.reason ?? ''}`.slice(0, 80);
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

/**
 * Fleet rotation run: the storm's devices (JITP-tagged `bench`), connected persistently as
 * simulated devices following the rotation protocol (`fleet`, opened and stopped by the caller so
 * the next scenario finds them still connected); one run through the operator API rotates them all
 * to a new issuing CA. Timed from the POST to the run's end; per-device latency is the device's own
 * view (request received → connected with the new certificate).
 */
export async function fleetRotation(
  ctx: BenchContext,
  cf: Certflow,
  worker: EmptyWorker,
  baseline: ScenarioResult | undefined,
  fleet: ConnectedFleet,
): Promise<ScenarioResult> {
  const { registered, devices, connected, connectS } = fleet;
  const byName = new Map(devices.map((d) => [d.name, d]));
  const call = httpOperatorApi(cf.api, cf.adminKey);
  const issuingCaId = (await createIssuingCa(call, 'bench rotation CA')).id;
  const selection: { tags: string[]; deviceIds?: string[] } = { tags: ['bench'] };
  // Only devices that are on line can confirm: leave out any that failed to connect (an explicit
  // list holds at most MAX_SELECTED_DEVICE_IDS; beyond that they stay in and roll back).
  if (connected < devices.length && connected <= MAX_SELECTED_DEVICE_IDS) {
    selection.deviceIds = registered
      .filter((d) => byName.get(d.name)?.state === 'connected')
      .map((d) => d.id);
  }

  const watched = [...cf.processes(), worker.watched, self];
  resetPeaks(watched);
  const cpuBefore = cpuSeconds(watched);
  const { runId, progress, durationS, cancelled } = await driveRun(ctx, cf, {
    selection,
    options: { concurrency: ctx.opts.rotationConcurrency, deadlineSeconds: 3600, issuingCaId },
  });
  const cpuAfter = cpuSeconds(watched);
  const peaks = peakRssMb(watched);
  const errorKinds = await problemKinds(cf, runId);
  const counts: ItemCounts = progress.counts;
  const check = checkRotation(cf.dataDir, runId, issuingCaId, (name) => byName.get(name)?.fingerprint);
  const throughput = round(counts.succeeded / durationS);
  const minutes = throughput > 0 ? round(FLEET / throughput / 60) : Infinity;
  const r: ScenarioResult = {
    id: 'fleet-rotation',
    title: `Fleet rotation run (${devices.length} devices; 100,000 extrapolated)`,
    measured: true,
    n: devices.length,
    attempted: progress.total - counts.pending - counts.cancelled,
    concurrency: ctx.opts.rotationConcurrency,
    ok: counts.succeeded,
    errors: counts.failed + counts.rolled_back,
    errorKinds,
    durationS: round(durationS, 2),
    throughput,
    latencyMs: summarize(rotationLatencies(devices)),
    peakRssMb: peaks,
    cpuS: Object.fromEntries(
      Object.entries(cpuAfter).map(([role, s]) => [role, round(s - (cpuBefore[role] ?? 0))]),
    ),
    checks: {
      runStatus: progress.status,
      ...counts,
      ...check,
      connectedBeforeRun: connected,
      extrapolated100kMinutes: minutes,
    },
    notes: [
      `devices rotated/s = succeeded / wall time from POST /api/rotation-runs to the run's end (polled every ${POLL_MS} ms)`,
      `100,000 devices: ${minutes} min, EXTRAPOLATED linearly from ${devices.length} devices, not measured`,
      `run options: concurrency ${ctx.opts.rotationConcurrency}, deadline 3600 s, new issuing CA; ${connected} devices connected persistently in ${connectS} s before the run`,
      'latency per device: rotation request received → CONNACK with the new certificate (simulator events)',
      'the simulated devices (key generation, CSR signing, TLS) run in the bench driver process',
      ...(cancelled ? [`time cap ${ctx.opts.maxSeconds} s reached: run cancelled, partial figures`] : []),
    ],
  };
  const checksPass =
    check.itemsWithOneActiveCert === check.runItems &&
    check.succeededActiveFromIssuingCa === check.succeeded &&
    check.devicesIssuedTwice === 0;
  return judge(
    r,
    baseline,
    `100,000 devices in ≤ ${GOAL_MINUTES} min (extrapolated), none failed, one active certificate each`,
    (x) => minutes <= GOAL_MINUTES && x.errors === 0 && !cancelled && checksPass,
  );
}
