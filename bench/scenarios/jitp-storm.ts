import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Certflow } from '../lib/certflow';
import type { BenchContext } from '../lib/context';
import { judge, measure, type ScenarioResult } from '../lib/measure';
import { connectDevice, type TlsTarget } from '../lib/mqtt-connect';
import { self } from '../lib/procs';
import { settledCount } from '../lib/registry-check';

export function certflowTarget(ctx: BenchContext, cf: Certflow): TlsTarget {
  return {
    port: cf.mqttsPort,
    ca: readFileSync(join(cf.dataDir, 'tls', 'ca.pem'), 'utf8'),
    chainPem: ctx.pool.line.certPem,
  };
}

/**
 * X.509 first-connect storm: N devices never seen before connect over MQTT/TLS with their
 * factory certificate (+ line intermediate); each CONNECT is held until JITP provisioned the
 * device. Afterwards the registry must hold exactly N devices, one per name.
 */
export async function jitpStorm(
  ctx: BenchContext,
  cf: Certflow,
  baseline: ScenarioResult,
): Promise<ScenarioResult> {
  const target = certflowTarget(ctx, cf);
  const r = await measure('jitp-storm', 'X.509 first-connect storm (JITP over MQTT/TLS)', {
    n: ctx.opts.n,
    concurrency: ctx.opts.concurrency,
    maxSeconds: ctx.opts.maxSeconds,
    watched: [...cf.processes(), self],
    task: (i) => connectDevice(target, ctx.pool.devices[i] as (typeof ctx.pool.devices)[number]),
  });
  const tried = r.attempted ?? 0;
  const count = await settledCount(cf.dataDir, 'bench-dev-', tried);
  r.checks = {
    devicesInRegistry: count.rows,
    distinctNames: count.distinctNames,
    duplicatedNames: count.duplicated,
    lost: tried - count.distinctNames,
  };
  return judge(
    r,
    baseline,
    '≥ 200 devices/s, p99 ≤ 2 s, none lost or duplicated',
    (x) =>
      (x.throughput ?? 0) >= 200 &&
      (x.latencyMs?.p99 ?? Infinity) <= 2000 &&
      count.distinctNames === tried &&
      count.duplicated === 0 &&
      count.rows === tried,
  );
}
