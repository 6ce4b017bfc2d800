import { assignBehaviours, type BehaviourSpec, deviceName } from './behaviours';
import { issueCredentials, type ManufacturerCa, manufacturerIssuer } from './credentials';
import { type DeviceState, type DeviceTarget, SimulatedDevice } from './device';

/*
 * N simulated devices with factory certificates from one manufacturer CA (registered for JITP,
 * so each device is provisioned on its first connect), each following the rotation protocol.
 * Tests and the benchmark drive it; `npm run sim` runs it against a live platform.
 */

export interface FleetOptions extends DeviceTarget {
  manufacturer: ManufacturerCa;
  count: number;
  /** Device names are `<prefix>-0000`, `<prefix>-0001`, … (the certificate CN). */
  namePrefix: string;
  behaviours?: BehaviourSpec;
  /** Devices connecting at once in `connectAll` (JITP holds each first connect). Default 50. */
  connectConcurrency?: number;
  /** Validity of the factory certificates. Default 365 days. */
  validityDays?: number;
  now?: Date;
}

export interface FleetSummary {
  total: number;
  states: Record<DeviceState, number>;
  /** Rotations confirmed (connected with the new certificate), over all devices. */
  rotations: number;
  /** Devices holding a new certificate they will never use. */
  unconfirmed: number;
  /** FAILURE answers received, over all devices. */
  failures: number;
}

export interface SimulatedFleet {
  devices: SimulatedDevice[];
  byName(name: string): SimulatedDevice | undefined;
  /** Connects every online device (bounded concurrency); resolves when each attempt settled. */
  connectAll(): Promise<FleetSummary>;
  /** Resolves once `predicate` holds; rejects with the summary after `timeoutMs`. */
  waitUntil(predicate: (fleet: SimulatedFleet) => boolean, timeoutMs: number): Promise<void>;
  summary(): FleetSummary;
  stop(): Promise<void>;
}

/** Yield to the event loop every this many certificates, so sockets keep being served. */
const ISSUE_SLICE = 500;

export async function createSimulatedFleet(opts: FleetOptions): Promise<SimulatedFleet> {
  const behaviours = assignBehaviours(opts.count, opts.behaviours);
  const issuer = manufacturerIssuer(opts.manufacturer);
  const devices: SimulatedDevice[] = [];
  for (let i = 0; i < opts.count; i++) {
    const name = deviceName(opts.namePrefix, i, opts.count);
    const creds = await issueCredentials(issuer, name, { now: opts.now, validityDays: opts.validityDays });
    devices.push(new SimulatedDevice(name, creds, behaviours[i]!, opts));
    if (i % ISSUE_SLICE === ISSUE_SLICE - 1) await new Promise((r) => setImmediate(r));
  }
  const index = new Map(devices.map((d) => [d.name, d]));

  const fleet: SimulatedFleet = {
    devices,
    byName: (name) => index.get(name),
    async connectAll() {
      await runPool(
        devices.filter((d) => d.online),
        opts.connectConcurrency ?? 50,
        (d) => d.start(),
      );
      return fleet.summary();
    },
    async waitUntil(predicate, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(fleet)) {
        if (Date.now() > deadline) {
          throw new Error(`fleet condition not met in ${timeoutMs} ms: ${formatSummary(fleet.summary())}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    summary: () => summarize(devices),
    async stop() {
      await runPool(devices, 200, (d) => d.stop());
    },
  };
  return fleet;
}

export function summarize(devices: readonly SimulatedDevice[]): FleetSummary {
  const states: Record<DeviceState, number> = {
    offline: 0,
    connecting: 0,
    connected: 0,
    refused: 0,
    disconnected: 0,
  };
  let rotations = 0;
  let unconfirmed = 0;
  let failures = 0;
  for (const d of devices) {
    states[d.state]++;
    rotations += d.rotations;
    if (d.unconfirmed) unconfirmed++;
    failures += d.failures.length;
  }
  return { total: devices.length, states, rotations, unconfirmed, failures };
}

/** One status line, e.g. `50 devices: 45 connected, 5 offline | rotated 12, unconfirmed 2, failures 0`. */
export function formatSummary(s: FleetSummary): string {
  const states = Object.entries(s.states)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${state}`)
    .join(', ');
  return `${s.total} devices: ${states || 'none'} | rotated ${s.rotations}, unconfirmed ${s.unconfirmed}, failures ${s.failures}`;
}

async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}
