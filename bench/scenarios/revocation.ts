import type { SimulatedDevice } from '../../sim/device';
import type { Certflow } from '../lib/certflow';
import type { BenchContext } from '../lib/context';
import { judge, type ScenarioResult } from '../lib/measure';
import { runPool } from '../lib/pool';
import { cpuSeconds, peakRssMb, resetPeaks, self } from '../lib/procs';
import { api } from '../lib/setup';
import type { ConnectedFleet } from '../lib/sim-devices';
import { summarize } from '../lib/stats';

/** Devices revoked: enough for a p99, few enough to leave the fleet's figures alone. */
const MAX_DEVICES = 200;
const MAX_DEVICES_QUICK = 100;
/** Revocations in flight at once (an operator's script, not a storm). */
const CONCURRENCY = 20;
/** A session still open this long after its revocation was asked for counts as an error. */
const CLOSE_TIMEOUT_MS = 30_000;
/**
 * How long to wait for each device's refused reconnect after its session closed: the simulated
 * devices reconnect after 0.4–0.6 s, then back off up to 5 s (bench/lib/sim-devices.ts).
 */
const REFUSAL_WAIT_MS = 15_000;
const WATCH_MS = 50;
const GOAL_P99_MS = 2_000;
/** MQTT 3.1.1 CONNACK "not authorized": what the edge answers a revoked certificate. */
const NOT_AUTHORIZED = '5';

interface Target {
  id: string;
  device: SimulatedDevice;
  /** Date.now() when the revoke request was sent (the simulator's clock). */
  sentAt?: number;
  /** The API answered 200 with the device revoked. */
  answered?: boolean;
  /** Session closed by the server, ms after `sentAt`. */
  closedMs?: number;
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const after = (d: SimulatedDevice, type: 'disconnected_by_server' | 'refused' | 'connected', at: number) =>
  d.events.find((e) => e.type === type && e.at >= at);

/** Waits until `done` holds for every target or `deadline(target)` (Date.now()) passed for all open ones. */
async function waitFor(
  targets: readonly Target[],
  done: (t: Target) => boolean,
  deadline: (t: Target) => number,
): Promise<void> {
  while (targets.some((t) => !done(t) && Date.now() < deadline(t))) await sleep(WATCH_MS);
}

interface Effects {
  /** Devices whose session the server closed within CLOSE_TIMEOUT_MS (their `closedMs` set). */
  closed: Target[];
  refusedOnReconnect: number;
  refusedOtherCode: number;
  reconnectAccepted: number;
}

/** Watches the simulated devices after their revoke was sent: sessions closed, then reconnects refused. */
async function watchEffects(sent: Target[]): Promise<Effects> {
  const closedAt = (t: Target) => after(t.device, 'disconnected_by_server', t.sentAt ?? 0)?.at;
  await waitFor(
    sent,
    (t) => closedAt(t) !== undefined,
    (t) => (t.sentAt ?? 0) + CLOSE_TIMEOUT_MS,
  );
  for (const t of sent) {
    const at = closedAt(t);
    if (at !== undefined && t.sentAt !== undefined && at - t.sentAt <= CLOSE_TIMEOUT_MS)
      t.closedMs = at - t.sentAt;
  }
  const closed = sent.filter((t) => t.closedMs !== undefined);
  const refusal = (t: Target) => after(t.device, 'refused', (t.sentAt ?? 0) + (t.closedMs ?? 0));
  const waitFrom = Date.now();
  await waitFor(
    closed,
    (t) => refusal(t) !== undefined,
    () => waitFrom + REFUSAL_WAIT_MS,
  );
  const refusedOnReconnect = closed.filter((t) => refusal(t)?.detail === NOT_AUTHORIZED).length;
  const refusedOtherCode = closed.filter((t) => {
    const r = refusal(t);
    return r !== undefined && r.detail !== NOT_AUTHORIZED;
  }).length;
  // A revoked certificate let in again is the failure this scenario exists to catch.
  const reconnectAccepted = sent.filter((t) => after(t.device, 'connected', t.sentAt ?? 0)).length;
  return { closed, refusedOnReconnect, refusedOtherCode, reconnectAccepted };
}

/**
 * Revocation takes effect: K of the fleet's connected devices (still connected after the rotation
 * run) are revoked through `POST /api/devices/{id}/revoke`, CONCURRENCY at once. Per device: the
 * API's answer time, and request sent → the simulator sees the server close its session (the edge
 * polls `edge_events`, evicts its caches and disconnects). Then every revoked device's own
 * reconnect (same certificate, automatic with backoff) must be refused with CONNACK 5.
 */
export async function revocation(
  ctx: BenchContext,
  cf: Certflow,
  fleet: ConnectedFleet,
): Promise<ScenarioResult> {
  const k = Math.min(ctx.opts.quick ? MAX_DEVICES_QUICK : MAX_DEVICES, fleet.devices.length);
  const targets: Target[] = fleet.registered
    .map((r, i) => ({ id: r.id, device: fleet.devices[i] as SimulatedDevice }))
    .filter((t) => t.device.state === 'connected')
    .slice(0, k);
  if (targets.length === 0) {
    return {
      id: 'revocation',
      title: 'Revocation takes effect',
      measured: false,
      notes: ['no device connected'],
    };
  }

  const connectedBefore = fleet.devices.filter((d) => d.state === 'connected').length;
  const watched = [...cf.processes(), self];
  resetPeaks(watched);
  const cpuBefore = cpuSeconds(watched);
  const run = await runPool(targets.length, CONCURRENCY, async (i) => {
    const t = targets[i] as Target;
    t.sentAt = Date.now();
    const res = await api<{ deviceRevoked: boolean }>(cf, 'POST', `/api/devices/${t.id}/revoke`, {
      reason: 'bench: revocation takes effect',
    });
    if (!res.deviceRevoked) throw new Error('answered deviceRevoked=false');
    t.answered = true;
  });
  const cpuAfter = cpuSeconds(watched);
  const peaks = peakRssMb(watched);

  const sent = targets.filter((t) => t.sentAt !== undefined);
  const { closed, refusedOnReconnect, refusedOtherCode, reconnectAccepted } = await watchEffects(sent);
  const notClosed = sent.length - closed.length;
  const failed = targets.filter((t) => !t.answered || t.closedMs === undefined).length;
  const errorKinds = { ...run.errorKinds };
  if (notClosed > 0) errorKinds['session not closed within 30 s'] = notClosed;
  const durationS = run.durationMs / 1000;
  const apiMs = summarize(run.latencies);
  const r: ScenarioResult = {
    id: 'revocation',
    title: `Revocation takes effect (${targets.length} connected devices)`,
    measured: true,
    n: targets.length,
    attempted: run.attempted,
    concurrency: CONCURRENCY,
    ok: targets.length - failed,
    errors: failed,
    errorKinds,
    durationS: round(durationS, 2),
    throughput: round(run.ok / durationS),
    latencyMs: summarize(closed.map((t) => t.closedMs ?? 0)),
    peakRssMb: peaks,
    cpuS: Object.fromEntries(
      Object.entries(cpuAfter).map(([role, s]) => [role, round(s - (cpuBefore[role] ?? 0))]),
    ),
    checks: {
      connectedBefore,
      revokedByApi: run.ok,
      sessionsClosed: closed.length,
      notClosedWithin30s: notClosed,
      refusedOnReconnect,
      refusedOtherCode,
      reconnectAccepted,
      apiP50Ms: apiMs.p50,
      apiP95Ms: apiMs.p95,
      apiP99Ms: apiMs.p99,
    },
    notes: [
      `revocations/s = HTTP 200 answers / wall time of the ${targets.length} POST /api/devices/{id}/revoke at concurrency ${CONCURRENCY}`,
      'latency per device: revoke request sent → the simulated device sees the server close its session; the API answer time (request → 200) is in the checks (apiP*Ms)',
      `then each revoked device's own reconnect (same certificate, after 0.4–0.6 s) must be refused with CONNACK ${NOT_AUTHORIZED}; waited up to ${REFUSAL_WAIT_MS / 1000} s`,
      'the goal also needs every session closed within 30 s and every reconnect refused',
    ],
  };
  return judge(
    r,
    undefined,
    `live session closed within seconds (p99 ≤ ${GOAL_P99_MS / 1000} s)`,
    (x) =>
      (x.latencyMs?.p99 ?? Infinity) <= GOAL_P99_MS &&
      x.errors === 0 &&
      refusedOnReconnect === targets.length &&
      reconnectAccepted === 0,
  );
}
