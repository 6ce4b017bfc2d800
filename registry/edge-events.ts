import type { Kysely, Selectable } from 'kysely';
import type { EdgeEvent, EdgeEventType } from '../domain/rotation';
import { isoNow } from './ids';
import type { Database, EdgeEventTable } from './schema';

/**
 * The feed of events every edge polls (by ascending `seq`) to act within seconds on what
 * happened elsewhere: revocations evict caches and close sessions, rotation requests reach a
 * device connected to this edge. Writers append inside the transaction that made the change,
 * so an event is never seen without its change, nor a change without its event.
 */
export interface EdgeEventInput {
  tenantId: string;
  deviceId: string | null;
  type: EdgeEventType;
  fingerprint: string | null;
  data?: Record<string, unknown>;
}

export async function appendEdgeEvent(db: Kysely<Database>, e: EdgeEventInput): Promise<void> {
  await db
    .insertInto('edge_events')
    .values({
      tenant_id: e.tenantId,
      device_id: e.deviceId,
      type: e.type,
      fingerprint: e.fingerprint,
      data: JSON.stringify(e.data ?? {}),
      created_at: isoNow(),
    })
    .execute();
}

/**
 * Events after `afterSeq`, oldest first. A poller keeps the last seq it handled; it starts from
 * `latestEdgeEventSeq` (events before its start concern sessions it does not hold).
 */
export async function readEdgeEvents(
  db: Kysely<Database>,
  afterSeq: number,
  limit: number,
): Promise<EdgeEvent[]> {
  const rows = await db
    .selectFrom('edge_events')
    .selectAll()
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
  return rows.map(toEvent);
}

/**
 * The events with these seqs that exist by now. A PostgreSQL sequence hands out numbers at
 * insert and transactions commit in any order, so a poller can see seq 11 before seq 10
 * commits; it remembers such gaps for a while and asks for them again.
 */
export async function readEdgeEventsBySeq(db: Kysely<Database>, seqs: number[]): Promise<EdgeEvent[]> {
  if (seqs.length === 0) return [];
  const rows = await db
    .selectFrom('edge_events')
    .selectAll()
    .where('seq', 'in', seqs)
    .orderBy('seq')
    .execute();
  return rows.map(toEvent);
}

function toEvent(row: Selectable<EdgeEventTable>): EdgeEvent {
  return {
    seq: Number(row.seq),
    tenantId: row.tenant_id,
    deviceId: row.device_id,
    type: row.type as EdgeEventType,
    fingerprint: row.fingerprint,
    data: JSON.parse(row.data) as Record<string, unknown>,
    createdAt: row.created_at,
  };
}

/** The highest seq written so far (0 when the feed is empty). */
export async function latestEdgeEventSeq(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('edge_events')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .executeTakeFirst();
  return Number(row?.seq ?? 0);
}

/** Deletes events older than the instant (edges only need the last few seconds); returns how many. */
export async function pruneEdgeEvents(db: Kysely<Database>, olderThanIso: string): Promise<number> {
  const res = await db.deleteFrom('edge_events').where('created_at', '<', olderThanIso).executeTakeFirst();
  return Number(res.numDeletedRows);
}
