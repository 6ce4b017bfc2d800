/**
 * How each simulated device behaves, assigned deterministically from counts so a test knows in
 * advance which devices will be offline, slow or never confirm. Pure: no keys, no sockets.
 */

export interface DeviceBehaviour {
  /** false: the device never connects until `setOnline(true)` (an offline device in the field). */
  online: boolean;
  /** Delay before answering a rotation request with a CSR (a slow device); 0: at once. */
  slowMs: number;
  /** Takes the new certificate but keeps connecting with the old one (the rotation never confirms). */
  neverConfirm: boolean;
  /** Sends an invalid CSR first, then a good one after the refusal (firmware bug, then retry). */
  badCsr: boolean;
  /** After a server disconnect or refusal, reconnect with exponential backoff. */
  autoReconnect: boolean;
}

export const NORMAL: DeviceBehaviour = {
  online: true,
  slowMs: 0,
  neverConfirm: false,
  badCsr: false,
  autoReconnect: true,
};

/**
 * Counts of special devices. They never overlap: they are taken from the end of the fleet in
 * this order — offline last, then never-confirm, slow, bad-CSR before them — so device 0 is
 * always a normal one. `perIndex` overrides single devices after that.
 */
export interface BehaviourSpec {
  offline?: number;
  neverConfirm?: number;
  slow?: { count: number; delayMs: number };
  badCsr?: number;
  /** Default true for every device. */
  autoReconnect?: boolean;
  perIndex?: Record<number, Partial<DeviceBehaviour>>;
}

export class BehaviourSpecError extends Error {
  override readonly name = 'BehaviourSpecError';
}

function count(value: number | undefined, what: string): number {
  const n = value ?? 0;
  if (!Number.isInteger(n) || n < 0) throw new BehaviourSpecError(`${what}: must be a non-negative integer`);
  return n;
}

export function assignBehaviours(total: number, spec: BehaviourSpec = {}): DeviceBehaviour[] {
  if (!Number.isInteger(total) || total < 0)
    throw new BehaviourSpecError('count: must be a non-negative integer');
  const slowMs = spec.slow?.delayMs ?? 0;
  if (!Number.isFinite(slowMs) || slowMs < 0) throw new BehaviourSpecError('slow.delayMs: must be >= 0');
  const groups: [number, Partial<DeviceBehaviour>][] = [
    [count(spec.offline, 'offline'), { online: false }],
    [count(spec.neverConfirm, 'neverConfirm'), { neverConfirm: true }],
    [count(spec.slow?.count, 'slow.count'), { slowMs }],
    [count(spec.badCsr, 'badCsr'), { badCsr: true }],
  ];
  const special = groups.reduce((n, [c]) => n + c, 0);
  if (special > total) {
    throw new BehaviourSpecError(`${special} special devices requested but the fleet has ${total}`);
  }
  const base: DeviceBehaviour = { ...NORMAL, autoReconnect: spec.autoReconnect ?? true };
  const out = Array.from({ length: total }, () => ({ ...base }));
  let end = total;
  for (const [n, patch] of groups) {
    for (let i = end - n; i < end; i++) Object.assign(out[i]!, patch);
    end -= n;
  }
  for (const [key, patch] of Object.entries(spec.perIndex ?? {})) {
    const i = Number(key);
    const target = out[i];
    if (!Number.isInteger(i) || !target) throw new BehaviourSpecError(`perIndex.${key}: no such device`);
    Object.assign(target, patch);
  }
  return out;
}

/** `prefix-0007`: zero-padded so names sort in index order (at least 4 digits). */
export function deviceName(prefix: string, index: number, total: number): string {
  const width = Math.max(4, String(Math.max(total - 1, 0)).length);
  return `${prefix}-${String(index).padStart(width, '0')}`;
}

/** Backoff before reconnect attempt `attempt` (0-based): doubling from minMs, capped, ±20 % jitter. */
export function backoffMs(attempt: number, minMs: number, maxMs: number, random: () => number): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(base * (0.8 + 0.4 * random()));
}
