import { runPool } from './pool';
import { cpuSeconds, peakRssMb, resetPeaks, type Watched } from './procs';
import { type LatencySummary, summarize } from './stats';

export interface ScenarioResult {
  id: string;
  title: string;
  measured: boolean;
  /** Operations asked for; `attempted` is lower when the time limit cut the run short. */
  n?: number;
  attempted?: number;
  concurrency?: number;
  ok?: number;
  errors?: number;
  errorKinds?: Record<string, number>;
  durationS?: number;
  /** Successful operations per second over the whole scenario. */
  throughput?: number;
  latencyMs?: LatencySummary;
  /** Peak RSS during this scenario, MB, by process role. */
  peakRssMb?: Record<string, number>;
  /** CPU seconds each process role used during this scenario (where the time went). */
  cpuS?: Record<string, number>;
  /** Id of the baseline scenario of the same run, and throughput / baseline throughput. */
  baseline?: string;
  ratio?: number;
  goal?: string;
  goalMet?: boolean;
  /** Post-run verification (registry counts etc.). */
  checks?: Record<string, number | string | boolean>;
  notes?: string[];
}

export interface Load {
  n: number;
  concurrency: number;
  /** No operation starts after this many seconds. */
  maxSeconds: number;
  /** Processes whose peak RSS is reported (the bench driver is always added). */
  watched: Watched[];
  task: (i: number) => Promise<void>;
  /** Untimed operations first (task(0..warmup-1)), so JIT and TLS contexts are warm. */
  warmup?: number;
}

/** Runs the load with bounded concurrency and turns it into a scenario result (no goal yet). */
export async function measure(id: string, title: string, load: Load): Promise<ScenarioResult> {
  if (load.warmup) await runPool(Math.min(load.warmup, load.n), load.concurrency, load.task);
  resetPeaks(load.watched);
  const cpuBefore = cpuSeconds(load.watched);
  const run = await runPool(load.n, load.concurrency, load.task, load.maxSeconds * 1000);
  const cpuAfter = cpuSeconds(load.watched);
  const durationS = run.durationMs / 1000;
  return {
    id,
    title,
    measured: true,
    n: load.n,
    attempted: run.attempted,
    concurrency: load.concurrency,
    ok: run.ok,
    errors: run.errors,
    errorKinds: run.errorKinds,
    durationS: Math.round(durationS * 100) / 100,
    throughput: Math.round((run.ok / durationS) * 10) / 10,
    latencyMs: summarize(run.latencies),
    peakRssMb: peakRssMb(load.watched),
    cpuS: Object.fromEntries(
      Object.entries(cpuAfter).map(([role, s]) => [role, Math.round((s - (cpuBefore[role] ?? 0)) * 10) / 10]),
    ),
  };
}

/** Adds the baseline ratio; `goal` decides whether the figures meet the goal. */
export function judge(
  r: ScenarioResult,
  baseline: ScenarioResult | undefined,
  goal: string,
  met: (r: ScenarioResult, ratio: number | undefined) => boolean,
): ScenarioResult {
  const ratio =
    baseline?.throughput && r.throughput !== undefined
      ? Math.round((r.throughput / baseline.throughput) * 1000) / 1000
      : undefined;
  return { ...r, baseline: baseline?.id, ratio, goal, goalMet: met(r, ratio) };
}
