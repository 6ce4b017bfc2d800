import { performance } from 'node:perf_hooks';

export interface PoolRun {
  /** Tasks started (n, unless the time limit stopped the run early). */
  attempted: number;
  /** Latency of each successful task, ms. */
  latencies: number[];
  ok: number;
  errors: number;
  /** Error message (first 80 characters) → count. */
  errorKinds: Record<string, number>;
  durationMs: number;
}

/**
 * Runs task(0..n-1) with at most `concurrency` in flight and times each one; no task starts
 * after `maxMs`, so a slow target bounds the run's length. A task fails by throwing; its message
 * is tallied. Throughput = ok / duration of the whole run.
 */
export async function runPool(
  n: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
  maxMs = Infinity,
): Promise<PoolRun> {
  const run: PoolRun = { attempted: 0, latencies: [], ok: 0, errors: 0, errorKinds: {}, durationMs: 0 };
  let next = 0;
  const started = performance.now();
  async function lane(): Promise<void> {
    while (next < n && performance.now() - started < maxMs) {
      const i = next++;
      const t0 = performance.now();
      try {
        await task(i);
        run.latencies.push(performance.now() - t0);
        run.ok++;
      } catch (err) {
        run.errors++;
        const kind = (err instanceof Error ? err.message : String(err)).slice(0, 80);
        run.errorKinds[kind] = (run.errorKinds[kind] ?? 0) + 1;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
  run.durationMs = performance.now() - started;
  run.attempted = next;
  return run;
}
