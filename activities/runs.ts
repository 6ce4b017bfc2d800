import type { Kysely } from 'kysely';
import { CertflowError } from '../domain/errors';
import type { ItemCounts, RotationSelection } from '../domain/rotation';
import { appendAuditEvent } from '../registry/audit';
import { isoNow, newId } from '../registry/ids';
import {
  cancelPending,
  insertPendingItems,
  ITEM_PAGE,
  lastRunItem,
  markMaterialized,
  pendingItemsAfter,
  setItemState,
  settledItems,
} from '../registry/run-items';
import { countRunItems, getRunRow, selectDevicesForRotation } from '../registry/runs';
import type { Database } from '../registry/schema';
import { activityKey, currentWorkflow, heartbeat } from './context';
import { permanentOnDomainError } from './failures';
import type { RunActivities } from './rotation-contract';

export interface RunActivityDeps {
  db: Kysely<Database>;
}

/**
 * A fleet run's bookkeeping in the registry. The run workflow keeps only cursors in its
 * history; devices, states and counts live in rotation_items, so a run of 100,000 devices
 * costs the workflow a few ids and the registry one row per device.
 */
export function createRunActivities({ db }: RunActivityDeps): RunActivities {
  async function requireRun(tenantId: string, runId: string) {
    const run = await getRunRow(db, tenantId, runId);
    if (!run) throw new CertflowError('ROTATION_NOT_FOUND', `no rotation run ${runId} in this tenant`);
    return run;
  }

  return {
    async materializeRun({ tenantId, runId }) {
      return permanentOnDomainError(async () => {
        const run = await requireRun(tenantId, runId);
        if (run.materialized === 1) return { total: run.total };
        const selection = JSON.parse(run.selection) as RotationSelection;
        // Resume after the last item written: items go in by device id, seq ascending.
        let last = await lastRunItem(db, runId);
        for (;;) {
          const page = await selectDevicesForRotation(db, tenantId, selection, {
            limit: ITEM_PAGE,
            afterDeviceId: last?.deviceId,
          });
          if (page.length === 0) break;
          const ids = page.map((d) => d.deviceId);
          await insertPendingItems(db, { tenantId, runId }, ids, last?.seq ?? 0);
          last = { deviceId: ids.at(-1) ?? '', seq: (last?.seq ?? 0) + ids.length };
          heartbeat(last.deviceId);
          if (page.length < ITEM_PAGE) break;
        }
        return { total: await markMaterialized(db, runId) };
      });
    },

    async failLostItems({ runId, deviceIds, reason }) {
      let changed = 0;
      for (const deviceId of deviceIds) {
        const set = await setItemState(db, { runId, deviceId }, { state: 'failed', reason }, [
          'pending',
          'in_progress',
        ]);
        if (set) changed++;
      }
      return changed;
    },

    async nextRunItems({ runId, afterSeq, limit }) {
      return pendingItemsAfter(db, runId, afterSeq, limit);
    },

    async settledRunItems({ runId, deviceIds }) {
      return settledItems(db, runId, deviceIds);
    },

    async setRunStatus({ tenantId, runId, status, reason }) {
      return permanentOnDomainError(async () => {
        const run = await requireRun(tenantId, runId);
        const now = isoNow();
        await db.transaction().execute(async (trx) => {
          await trx
            .updateTable('rotation_runs')
            .set({ status, status_reason: reason, updated_at: now })
            .where('id', '=', runId)
            .where('finished_at', 'is', null)
            .execute();
          const wf = currentWorkflow();
          await appendAuditEvent(trx, {
            tenantId,
            // Each pause/resume is its own event; a retry of the same activity writes it once.
            eventKey: `rotation-run.status:${runId}:${activityKey(newId)}`,
            type: 'rotation-run.status',
            actor: `rotation-run:${runId}`,
            runId,
            workflowId: wf.workflowId ?? run.workflow_id,
            workflowRunId: wf.workflowRunId,
            data: { from: run.status, status, reason },
            at: now,
          });
        });
      });
    },

    async cancelPendingItems({ runId, reason, exceptDeviceIds }) {
      return cancelPending(db, runId, reason, exceptDeviceIds ?? []);
    },

    async finishRun({ tenantId, runId, status, reason }): Promise<ItemCounts> {
      return permanentOnDomainError(async () => {
        const run = await requireRun(tenantId, runId);
        if (run.finished_at !== null && run.report !== null) {
          return (JSON.parse(run.report) as { counts: ItemCounts }).counts;
        }
        const counts = (await countRunItems(db, [runId])).get(runId)!;
        const now = isoNow();
        const wf = currentWorkflow();
        await db.transaction().execute(async (trx) => {
          await trx
            .updateTable('rotation_runs')
            .set({
              status,
              status_reason: reason,
              finished_at: now,
              updated_at: now,
              report: JSON.stringify({ counts, finishedAt: now }),
            })
            .where('id', '=', runId)
            .execute();
          await appendAuditEvent(trx, {
            tenantId,
            eventKey: `rotation-run.finished:${runId}`,
            type: 'rotation-run.finished',
            actor: `rotation-run:${runId}`,
            runId,
            workflowId: wf.workflowId ?? run.workflow_id,
            workflowRunId: wf.workflowRunId,
            data: { status, reason, counts },
            at: now,
          });
        });
        return counts;
      });
    },
  };
}
