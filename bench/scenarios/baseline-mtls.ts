import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChildServer } from '../lib/child-server';
import type { BenchContext } from '../lib/context';
import { measure, type ScenarioResult } from '../lib/measure';
import { connectDevice } from '../lib/mqtt-connect';
import { self } from '../lib/procs';

/**
 * Baseline for the MQTT/TLS scenarios: N mutual-TLS handshakes (same device certificates, same
 * chain, same mqtt.js client path up to CONNACK) against a trivial Node TLS server process.
 */
export async function baselineMtls(ctx: BenchContext): Promise<ScenarioResult> {
  const dir = mkdtempSync(join(tmpdir(), 'certflow-bench-tls-'));
  const rootFile = join(dir, 'factory-root.pem');
  writeFileSync(rootFile, ctx.pool.root.certPem);
  const server = await startChildServer('tls-baseline', [join(dir, 'tls'), rootFile]);
  const target = {
    port: server.port,
    ca: readFileSync(join(dir, 'tls', 'ca.pem'), 'utf8'),
    chainPem: ctx.pool.line.certPem,
  };
  try {
    return await measure(
      'baseline-mtls',
      'Baseline: bare mTLS handshake + CONNACK, trivial Node TLS server',
      {
        n: ctx.opts.n,
        concurrency: ctx.opts.concurrency,
        maxSeconds: ctx.opts.maxSeconds,
        warmup: 200,
        watched: [{ pid: server.pid, role: 'baseline server' }, self],
        task: (i) => connectDevice(target, ctx.pool.devices[i] as (typeof ctx.pool.devices)[number]),
      },
    );
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
