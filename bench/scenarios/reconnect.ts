import type { Certflow } from '../lib/certflow';
import type { BenchContext } from '../lib/context';
import { judge, measure, type ScenarioResult } from '../lib/measure';
import { connectDevice } from '../lib/mqtt-connect';
import { self } from '../lib/procs';
import { certflowTarget } from './jitp-storm';

/** Known-device reconnect: the devices the storm provisioned (`known`) connect again over MQTT/TLS. */
export async function reconnect(
  ctx: BenchContext,
  cf: Certflow,
  baseline: ScenarioResult,
  known: number,
): Promise<ScenarioResult> {
  const target = certflowTarget(ctx, cf);
  const r = await measure('reconnect', 'Known-device reconnect (MQTT/TLS, already provisioned)', {
    n: known,
    concurrency: ctx.opts.concurrency,
    maxSeconds: ctx.opts.maxSeconds,
    warmup: 200,
    watched: [...cf.processes(), self],
    task: (i) => connectDevice(target, ctx.pool.devices[i] as (typeof ctx.pool.devices)[number]),
  });
  return judge(r, baseline, '≥ 0.8 × bare mTLS baseline', (_, ratio) => (ratio ?? 0) >= 0.8);
}
