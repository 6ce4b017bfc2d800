import { startChildServer } from '../lib/child-server';
import type { BenchContext } from '../lib/context';
import { postProvision, provisionBody } from '../lib/http-client';
import { measure, type ScenarioResult } from '../lib/measure';
import { self } from '../lib/procs';

/** Baseline for HTTP provisioning: the same request loop against an empty Hono handler. */
export async function baselineHono(ctx: BenchContext): Promise<ScenarioResult> {
  const server = await startChildServer('hono-baseline');
  const url = `http://127.0.0.1:${server.port}/api/v1/provision`;
  try {
    return await measure('baseline-hono', 'Baseline: empty Hono handler, @hono/node-server', {
      n: ctx.opts.n,
      concurrency: ctx.opts.concurrency,
      maxSeconds: ctx.opts.maxSeconds,
      warmup: 200,
      watched: [{ pid: server.pid, role: 'baseline server' }, self],
      task: (i) => postProvision(url, provisionBody(`baseline-${i}`, 'key', 'secret')),
    });
  } finally {
    await server.stop();
  }
}
