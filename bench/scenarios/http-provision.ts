import type { Certflow } from '../lib/certflow';
import type { BenchContext } from '../lib/context';
import { postProvision, provisionBody } from '../lib/http-client';
import { judge, measure, type ScenarioResult } from '../lib/measure';
import { self } from '../lib/procs';
import { settledCount } from '../lib/registry-check';
import { createProfile } from '../lib/setup';

/**
 * Key/secret provisioning over HTTP (ThingsBoard wire format): N new devices, each
 * `POST /api/v1/provision` with a server-generated access token.
 */
export async function httpProvision(
  ctx: BenchContext,
  cf: Certflow,
  baseline: ScenarioResult,
): Promise<ScenarioResult> {
  const profile = await createProfile(cf, 'bench-http');
  const url = `${cf.api}/api/v1/provision`;
  const name = (i: number) => `bench-http-${String(i).padStart(6, '0')}`;
  const r = await measure('http-provision', 'Key/secret provisioning over HTTP', {
    n: ctx.opts.n,
    concurrency: ctx.opts.concurrency,
    maxSeconds: ctx.opts.maxSeconds,
    watched: [...cf.processes(), self],
    task: (i) => postProvision(url, provisionBody(name(i), profile.key, profile.secret)),
  });
  const tried = r.attempted ?? 0;
  const count = await settledCount(cf.dataDir, 'bench-http-', tried);
  r.checks = {
    devicesInRegistry: count.rows,
    duplicatedNames: count.duplicated,
    lost: tried - count.distinctNames,
  };
  return judge(r, baseline, '≥ 300 devices/s', (x) => (x.throughput ?? 0) >= 300);
}
