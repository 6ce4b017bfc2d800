import type { Kysely } from 'kysely';
import {
  emptyCounts,
  ITEM_STATES,
  type ItemCounts,
  type ItemState,
  type RotationOptions,
  type RotationSelection,
  type RunProgress,
  type RunStatus,
} from '../domain/rotation';
import { isoNow } from './ids';
import type { Database, RotationRunRow } from './schema';

export { countDevicesForRotation, selectDevicesForRotation, type SelectedDevice } from './selection';

/**
 * Fleet rotation runs and their per-device items. Progress is always counted from the items
 * (GROUP BY state), never from counters a crash could leave behind.
 */
export interface NewRotationRun {
  id: string;
  tenantId: string;
  source: 'api' | 'schedule';
  selection: RotationSelection;
  options: RotationOptions;
  createdBy: string;
  workflowId: string;
}

/** Creates the run (status `running`); a retried create of the same id is a no-op. */
export async function createRotationRun(db: Kysely<Database>, run: NewRotationRun): Promise<void> {
  const now = isoNow();
  await db
    .insertInto('rotation_runs')
    .values({
      id: run.id,
      tenant_id: run.tenantId,
      status: 'running',
      status_reason: null,
      source: run.source,
      selection: JSON.stringify(run.selection),
      options: JSON.stringify(run.options),
      total: 0,
      materialized: 0,
      workflow_id: run.workflowId,
      created_by: run.createdBy,
      created_at: now,
      updated_at: now,
      finished_at: null,
      report: null,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

/** Exact per-state counts of the runs' items. */
export async function countRunItems(
  db: Kysely<Database>,
  runIds: string[],
): Promise<Map<string, ItemCounts>> {
  const counts = new Map<string, ItemCounts>(runIds.map((id) => [id, emptyCounts()]));
  if (runIds.length === 0) return counts;
  const rows = await db
    .selectFrom('rotation_items')
    .select(['run_id', 'state', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('run_id', 'in', runIds)
    .groupBy(['run_id', 'state'])
    .execute();
  for (const row of rows) {
    const c = counts.get(row.run_id);
    if (c && (ITEM_STATES as readonly string[]).includes(row.state))
      c[row.state as ItemState] = Number(row.n);
  }
  return counts;
}

function toProgress(row: RotationRunRow, counts: ItemCounts): RunProgress {
  return {
    runId: row.id,
    tenantId: row.tenant_id,
    status: row.status as RunStatus,
    total: row.total,
    counts,
    options: JSON.parse(row.options) as RotationOptions,
    selection: JSON.parse(row.selection) as RotationSelection,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    statusReason: row.status_reason,
  };
}

export async function getRunRow(
  db: Kysely<Database>,
  tenantId: string,
  runId: string,
): Promise<RotationRunRow | undefined> {
  return db
    .selectFrom('rotation_runs')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', runId)
    .executeTakeFirst();
}

/** The run with exact counts; `total` is 0 until the items are materialized. */
export async function getRotationRun(
  db: Kysely<Database>,
  tenantId: string,
  runId: string,
): Promise<RunProgress | undefined> {
  const row = await getRunRow(db, tenantId, runId);
  if (!row) return undefined;
  const counts = await countRunItems(db, [row.id]);
  return toProgress(row, counts.get(row.id) ?? emptyCounts());
}

/** Newest first; `after` is the id of the last run of the previous page. */
export async function listRotationRuns(
  db: Kysely<Database>,
  tenantId: string,
  page: { limit: number; after?: string },
): Promise<RunProgress[]> {
  let q = db.selectFrom('rotation_runs').selectAll().where('tenant_id', '=', tenantId);
  if (page.after) {
    const cursor = await getRunRow(db, tenantId, page.after);
    if (!cursor) return [];
    q = q.where((eb) =>
      eb.or([
        eb('created_at', '<', cursor.created_at),
        eb.and([eb('created_at', '=', cursor.created_at), eb('id', '<', cursor.id)]),
      ]),
    );
  }
  const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).execute();
  const counts = await countRunItems(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => toProgress(r, counts.get(r.id) ?? emptyCounts()));
}

export interface RunItemView {
  deviceId: string;
  deviceName: string;
  seq: number;
  state: ItemState;
  reason: string | null;
  oldFingerprint: string | null;
  newFingerprint: string | null;
  updatedAt: string;
}

/** The run's items by ascending seq, optionally in one state; keyset-paged by seq. */
export async function listRunItems(
  db: Kysely<Database>,
  tenantId: string,
  runId: string,
  q: { state?: ItemState; limit: number; afterSeq?: number },
): Promise<RunItemView[]> {
  let query = db
    .selectFrom('rotation_items as i')
    .innerJoin('devices as d', 'd.id', 'i.device_id')
    .select([
      'i.device_id as deviceId',
      'd.name as deviceName',
      'i.seq as seq',
      'i.state as state',
      'i.reason as reason',
      'i.old_fingerprint as oldFingerprint',
      'i.new_fingerprint as newFingerprint',
      'i.updated_at as updatedAt',
    ])
    .where('i.tenant_id', '=', tenantId)
    .where('i.run_id', '=', runId);
  if (q.state) query = query.where('i.state', '=', q.state);
  if (q.afterSeq !== undefined) query = query.where('i.seq', '>', q.afterSeq);
  const rows = await query.orderBy('i.seq').limit(q.limit).execute();
  return rows.map((r) => ({ ...r, seq: Number(r.seq), state: r.state as ItemState }));
}

/** The run's workflow could not be started: the run ends `aborted` with the reason. */
export async function markRunStartFailed(
  db: Kysely<Database>,
  tenantId: string,
  runId: string,
  reason: string,
): Promise<void> {
  const now = isoNow();
  await db
    .updateTable('rotation_runs')
    .set({ status: 'aborted', status_reason: reason, finished_at: now, updated_at: now })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', runId)
    .where('finished_at', 'is', null)
    .execute();
}
