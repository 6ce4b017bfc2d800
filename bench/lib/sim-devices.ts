import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NORMAL } from '../../sim/behaviours';
import type { Credentials } from '../../sim/credentials';
import { SimulatedDevice } from '../../sim/device';
import type { Certflow } from './certflow';
import type { BenchContext } from './context';
import type { DevicePool } from './device-pool';
import { runPool } from './pool';

export interface RegisteredDevice {
  id: string;
  name: string;
}

/**
 * The first `max` pool devices that are in certflow's registry with the JITP tag `bench` (the
 * storm's), read-only from its SQLite file, in pool order.
 */
export function provisionedPoolDevices(dataDir: string, max: number): RegisteredDevice[] {
  const db = new Database(join(dataDir, 'certflow.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(
        `SELECT id, name FROM devices WHERE name LIKE 'bench-dev-%' AND tags LIKE '%"bench"%' ORDER BY name LIMIT ?`,
      )
      .all(max) as RegisteredDevice[];
  } finally {
    db.close();
  }
}

/**
 * A simulated device (sim/device.ts, normal behaviour) for each registered pool device, with the
 * pool's factory key and certificate and the line intermediate as its chain.
 */
export function simulatedPoolDevices(
  cf: Certflow,
  pool: DevicePool,
  registered: readonly RegisteredDevice[],
): SimulatedDevice[] {
  const target = {
    mqttsUrl: `mqtts://localhost:${cf.mqttsPort}`,
    serverCaPem: readFileSync(join(cf.dataDir, 'tls', 'ca.pem'), 'utf8'),
    reconnect: { minMs: 500, maxMs: 5_000 },
  };
  return registered.map((d) => {
    const index = Number(d.name.slice('bench-dev-'.length));
    const cert = pool.devices[index];
    if (!cert || cert.cn !== d.name) throw new Error(`${d.name} is not in the device pool`);
    const credentials: Credentials = {
      keyPem: cert.keyPem,
      certPem: cert.certPem,
      chainPem: pool.line.certPem,
      fingerprintSha256: cert.fingerprintSha256,
    };
    return new SimulatedDevice(d.name, credentials, { ...NORMAL }, target);
  });
}

/** Connects every device (persistent sessions) with at most `concurrency` connects in flight. */
export async function connectAll(devices: readonly SimulatedDevice[], concurrency: number): Promise<number> {
  await runPool(devices.length, concurrency, (i) => (devices[i] as SimulatedDevice).start());
  return devices.filter((d) => d.state === 'connected').length;
}

/**
 * The storm's devices connected persistently as simulated devices. Opened once and shared by the
 * scenarios that need live sessions (the rotation run, then revocation); the caller stops it.
 */
export interface ConnectedFleet {
  registered: RegisteredDevice[];
  /** Same order as `registered`. */
  devices: SimulatedDevice[];
  /** Connected after the initial connects. */
  connected: number;
  connectS: number;
  stop(): Promise<void>;
}

/** Connects the first `max` of the storm's devices (`concurrency` connects at once). */
export async function connectFleet(ctx: BenchContext, cf: Certflow, max: number): Promise<ConnectedFleet> {
  const registered = provisionedPoolDevices(cf.dataDir, max);
  const devices = simulatedPoolDevices(cf, ctx.pool, registered);
  const stop = () => stopAll(devices);
  try {
    const t0 = performance.now();
    const connected = await connectAll(devices, ctx.opts.concurrency);
    const connectS = Math.round((performance.now() - t0) / 10) / 100;
    ctx.say(`  ${connected}/${devices.length} devices connected in ${connectS} s`);
    return { registered, devices, connected, connectS, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function stopAll(devices: readonly SimulatedDevice[]): Promise<void> {
  await runPool(devices.length, 200, (i) => (devices[i] as SimulatedDevice).stop());
}

/**
 * Per-device rotation latency, ms: the first rotation request the device received → its first
 * connect with the new certificate (CONNACK). Devices that did not rotate give no sample.
 */
export function rotationLatencies(devices: readonly SimulatedDevice[]): number[] {
  const out: number[] = [];
  for (const d of devices) {
    const request = d.events.find((e) => e.type === 'request');
    const done = request && d.events.find((e) => e.type === 'reconnected_with_new' && e.at >= request.at);
    if (request && done) out.push(done.at - request.at);
  }
  return out;
}
