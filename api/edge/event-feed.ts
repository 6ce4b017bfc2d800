import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { EdgeEvent } from '../../domain/rotation';
import {
  latestEdgeEventSeq,
  pruneEdgeEvents,
  readEdgeEvents,
  readEdgeEventsBySeq,
} from '../../registry/edge-events';
import type { Database } from '../../registry/schema';
import type { EmbeddedBroker } from '../mqtt/broker';
import { type EdgeRotation, requestMessage } from './rotation';

/** Events read per poll; a burst larger than this is drained over consecutive polls at once. */
const PAGE = 500;
/**
 * How long a skipped seq is looked for again. A gap is a transaction that took a seq and had
 * not committed yet (PostgreSQL), or one that rolled back (never fills).
 */
const GAP_TTL_MS = 60_000;
/** At most this many open gaps are remembered (a burst of rollbacks must not grow the set). */
const MAX_GAPS = 10_000;
/** Events are kept this long, then pruned by the edges (they only need the last few seconds). */
const RETENTION_MS = 24 * 3_600_000;
const PRUNE_EVERY_MS = 10 * 60_000;

export interface EdgeEventFeedOptions {
  db: Kysely<Database>;
  intervalMs: number;
  logger: Logger;
  /**
   * Called once per event, in seq order. A throw is logged and the event is skipped: one bad
   * handler must not stall every later revocation behind it.
   */
  onEvent(event: EdgeEvent): Promise<void> | void;
}

export interface EdgeEventFeed {
  /** Stops polling; resolves after the poll in flight (and its handlers) has finished. */
  stop(): Promise<void>;
}

/**
 * Follows the registry's `edge_events` table so revocations and rotation requests reach every
 * edge process within about one interval. Polling rather than LISTEN/NOTIFY: it works the
 * same on SQLite and PostgreSQL, and an edge that was down simply starts from the newest
 * event (its caches are empty then, so nothing older concerns it).
 *
 * Polls never overlap (the next one is scheduled after the previous finished), and a failing
 * poll (database restarting) is logged and retried on the next tick from the same seq.
 */
export async function startEdgeEventFeed(opts: EdgeEventFeedOptions): Promise<EdgeEventFeed> {
  let lastSeq = await latestEdgeEventSeq(opts.db);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  // Skipped seqs (not committed yet when a later one was read), with when they were first missed.
  const gaps = new Map<number, number>();
  let prunedAt = Date.now();

  async function handle(event: EdgeEvent): Promise<void> {
    try {
      await opts.onEvent(event);
    } catch (err) {
      opts.logger.error({ err, seq: event.seq, type: event.type }, 'edge event handler failed');
    }
  }

  async function poll(): Promise<void> {
    const now = Date.now();
    for (const [seq, since] of gaps) if (now - since > GAP_TTL_MS) gaps.delete(seq);
    for (const event of await readEdgeEventsBySeq(opts.db, [...gaps.keys()])) {
      if (stopped) return;
      gaps.delete(event.seq);
      await handle(event);
    }
    for (;;) {
      const events = await readEdgeEvents(opts.db, lastSeq, PAGE);
      for (const event of events) {
        if (stopped) return;
        for (let seq = lastSeq + 1; seq < event.seq && gaps.size < MAX_GAPS; seq++) gaps.set(seq, now);
        await handle(event);
        lastSeq = Math.max(lastSeq, event.seq);
      }
      if (events.length < PAGE || stopped) break;
    }
    if (now - prunedAt > PRUNE_EVERY_MS) {
      prunedAt = now;
      await pruneEdgeEvents(opts.db, new Date(now - RETENTION_MS).toISOString());
    }
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = poll()
        .catch((err: unknown) => {
          opts.logger.warn({ err, afterSeq: lastSeq }, 'edge event poll failed; retrying');
        })
        .finally(schedule);
    }, opts.intervalMs);
  }

  opts.logger.info({ afterSeq: lastSeq, intervalMs: opts.intervalMs }, 'edge event feed started');
  schedule();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
  };
}

/** What the edge acts on: its caches, its broker's sessions, its rotation service. */
export interface EdgeEventTargets {
  /** Caches keyed by device (certificate authenticator, broker credentials and policies). */
  forgetDevice: ((deviceId: string) => void)[];
  broker: Pick<EmbeddedBroker, 'disconnectDevice' | 'requestRotation' | 'isConnected'>;
  rotation: Pick<EdgeRotation, 'pendingRequest'>;
  logger: Logger;
}

/**
 * Revocation takes effect at once: every cache forgets the device first, then its sessions
 * close (the broker refuses a connect of it still in flight), so no connect authenticated
 * from a cache just before the event survives it. `credential.revoked` with a fingerprint
 * closes only the sessions that authenticated with that certificate (the rotation revoking a
 * device's old certificate must not drop the session on its new one).
 */
export function createEdgeEventHandler(targets: EdgeEventTargets): (event: EdgeEvent) => Promise<void> {
  return async (event) => {
    const deviceId = event.deviceId;
    if (deviceId === null) return;
    switch (event.type) {
      case 'device.revoked':
      case 'credential.revoked': {
        for (const forget of targets.forgetDevice) forget(deviceId);
        const fingerprint = event.type === 'credential.revoked' ? event.fingerprint : null;
        const closed = targets.broker.disconnectDevice(deviceId, fingerprint);
        targets.logger.info({ deviceId, type: event.type, fingerprint, closed }, 'revocation applied');
        return;
      }
      case 'rotation.requested': {
        // Only devices connected here get it now; the others get it when they subscribe.
        if (!targets.broker.isConnected(deviceId)) return;
        const data = event.data as { rotationId?: unknown; deadline?: unknown };
        const request =
          typeof data.rotationId === 'string' && typeof data.deadline === 'string'
            ? requestMessage({ rotationId: data.rotationId, deadline: data.deadline })
            : await targets.rotation.pendingRequest(deviceId, null);
        if (request) targets.broker.requestRotation(deviceId, request);
        return;
      }
      default:
        return;
    }
  };
}
