import type { Kysely } from 'kysely';
import type { ItemState } from '../domain/rotation';
import { isoNow } from './ids';
import type { Database } from './schema';

/**
 * Writes to a run's items. Items are inserted by ascending seq in device-id order, so the
 * item with the highest seq is also the materialization cursor: a retried materialization
 * resumes after it instead of starting over.
 */
export const ITEM_PAGE = 1000;

/** The last materialized item (highest seq), if any. */
export async function lastRunItem(
  db: Kysely<Database>,
  runId: string,
): Promise<{ deviceId: string; seq: number } | undefined> {
  const row = await db
    .selectFrom('rotation_items')
    .select(['device_id', 'seq'])
    .where('run_id', '=', runId)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row && { deviceId: row.device_id, seq: Number(row.seq) };
}

/** Appends `pending` items after `lastSeq`; rows already present (a retried page) are skipped. */
export async function insertPendingItems(
  db: Kysely<Database>,
  run: { tenantId: string; runId: string },
  deviceIds: string[],
  lastSeq: number,
): Promise<void> {
  if (deviceIds.length === 0) return;
  const now = isoNow();
  await db
    .insertInto('rotation_items')
    .values(
      deviceIds.map((deviceId, i) => ({
        run_id: run.runId,
        device_id: deviceId,
        tenant_id: run.tenantId,
        seq: lastSeq + i + 1,
        state: 'pending',
        reason: null,
        old_fingerprint: null,
        new_fingerprint: null,
        updated_at: now,
      })),
    )
    .onConflict((oc) => oc.doNothing())
    .execute();
}

/** Counts the items and marks the run materialized with that total. */
export async function markMaterialized(db: Kysely<Database>, runId: string): Promise<number> {
  const row = await db
    .selectFrom('rotation_items')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('run_id', '=', runId)
    .executeTakeFirst();
  const total = Number(row?.n ?? 0);
  await db
    .updateTable('rotation_runs')
    .set({ total, materialized: 1, updated_at: isoNow() })
    .where('id', '=', runId)
    .execute();
  return total;
}

/**
 * Moves a run's item to `state` if it is still in one of `from` (so a retried or late write
 * never overwrites a terminal state); returns whether it changed.
 */
export async function setItemState(
  db: Kysely<Database>,
  item: { runId: string; deviceId: string },
  to: {
    state: ItemState;
    reason?: string | null;
    oldFingerprint?: string | null;
    newFingerprint?: string | null;
  },
  from: readonly ItemState[],
): Promise<boolean> {
  const res = await db
    .updateTable('rotation_items')
    .set({
      state: to.state,
      updated_at: isoNow(),
      ...(to.reason !== undefined ? { reason: to.reason } : {}),
      ...(to.oldFingerprint !== undefined ? { old_fingerprint: to.oldFingerprint } : {}),
      ...(to.newFingerprint !== undefined ? { new_fingerprint: to.newFingerprint } : {}),
    })
    .where('run_id', '=', item.runId)
    .where('device_id', '=', item.deviceId)
    .where('state', 'in', from)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Pending items with seq > afterSeq, ascending. */
export async function pendingItemsAfter(
  db: Kysely<Database>,
  runId: string,
  afterSeq: number,
  limit: number,
): Promise<{ deviceId: string; seq: number }[]> {
  const rows = await db
    .selectFrom('rotation_items')
    .select(['device_id', 'seq'])
    .where('run_id', '=', runId)
    .where('state', '=', 'pending')
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ deviceId: r.device_id, seq: Number(r.seq) }));
}

/**
 * Every still-pending item becomes `cancelled` with the reason, except those of `except` (devices
 * whose rotation was started and will end itself); returns how many.
 */
export async function cancelPending(
  db: Kysely<Database>,
  runId: string,
  reason: string,
  except: string[] = [],
): Promise<number> {
  let update = db
    .updateTable('rotation_items')
    .set({ state: 'cancelled', reason, updated_at: isoNow() })
    .where('run_id', '=', runId)
    .where('state', '=', 'pending');
  // At most the run's concurrency (≤ 1,000) ids: within every driver's parameter limit.
  if (except.length > 0) update = update.where('device_id', 'not in', except);
  const res = await update.executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** Of these devices' items, the ones with an outcome (neither pending nor in progress). */
export async function settledItems(
  db: Kysely<Database>,
  runId: string,
  deviceIds: string[],
): Promise<{ deviceId: string; state: ItemState }[]> {
  const settled: { deviceId: string; state: ItemState }[] = [];
  // Chunks keep the IN list well under every driver's bound parameter limit.
  for (let i = 0; i < deviceIds.length; i += 500) {
    const rows = await db
      .selectFrom('rotation_items')
      .select(['device_id', 'state'])
      .where('run_id', '=', runId)
      .where('device_id', 'in', deviceIds.slice(i, i + 500))
      .where('state', 'not in', ['pending', 'in_progress'])
      .execute();
    for (const r of rows) settled.push({ deviceId: r.device_id, state: r.state as ItemState });
  }
  return settled;
}
