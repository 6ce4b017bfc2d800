import type { Kysely } from 'kysely';
import { rotationRunWorkflowId } from '../domain/ids';
import { isRenewalDue, type RotationOptions } from '../domain/rotation';
import {
  listRenewalClasses,
  type RenewalClass,
  renewalCandidates,
  renewalRunId,
  runItemDeviceIds,
} from '../registry/renewal';
import { insertPendingItems, ITEM_PAGE, lastRunItem, markMaterialized } from '../registry/run-items';
import { createRotationRun, getRunRow } from '../registry/runs';
import type { Database } from '../registry/schema';
import { heartbeat } from './context';
import type { RenewalActivities } from './rotation-contract';

export interface RenewalActivityDeps {
  db: Kysely<Database>;
}

/** Explicit device lists up to this size are kept in the run's selection, for operators to read. */
const LISTED_IN_SELECTION = 1000;

/**
 * Scheduled renewal: one run per (tenant, device class) over the devices whose certificate
 * entered its renewal window. Idempotent on the sweep id (run ids derive from it): a retried
 * sweep finishes writing the items of its runs and returns the same runs.
 */
export function createRenewalActivities({ db }: RenewalActivityDeps): RenewalActivities {
  async function dueDevices(c: RenewalClass, runId: string, now: Date): Promise<string[]> {
    const due: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await renewalCandidates(db, c, runId, { limit: ITEM_PAGE, afterDeviceId: after });
      for (const d of page) {
        if (isRenewalDue(now, new Date(d.notBefore), new Date(d.notAfter), d.deviceId, c.settings)) {
          if (due.at(-1) !== d.deviceId) due.push(d.deviceId);
        }
      }
      heartbeat(after);
      if (page.length < ITEM_PAGE) return due;
      after = page.at(-1)?.deviceId;
    }
  }

  return {
    async planRenewalRuns({ sweepId, now }) {
      const at = new Date(now);
      const runs: { tenantId: string; runId: string; options: RotationOptions }[] = [];
      for (const c of await listRenewalClasses(db)) {
        const runId = renewalRunId(sweepId, c.classId);
        const options: RotationOptions = {
          concurrency: c.settings.concurrency,
          ratePerMinute: c.settings.ratePerMinute,
          deadlineSeconds: c.settings.deadlineSeconds,
          abortAfterFailures: null,
          issuingCaId: c.settings.issuingCaId,
        };
        const existing = await getRunRow(db, c.tenantId, runId);
        if (existing?.materialized === 1) {
          const stored = JSON.parse(existing.options) as RotationOptions;
          if (existing.finished_at === null) runs.push({ tenantId: c.tenantId, runId, options: stored });
          continue;
        }
        const due = await dueDevices(c, runId, at);
        if (due.length === 0 && !existing) continue;
        await createRotationRun(db, {
          id: runId,
          tenantId: c.tenantId,
          source: 'schedule',
          selection: {
            deviceClassId: c.classId,
            ...(due.length <= LISTED_IN_SELECTION ? { deviceIds: due } : {}),
          },
          options,
          createdBy: `schedule:${sweepId}`,
          workflowId: rotationRunWorkflowId(c.tenantId, runId),
        });
        const written = existing ? await runItemDeviceIds(db, runId) : new Set<string>();
        const todo = due.filter((id) => !written.has(id));
        let seq = (await lastRunItem(db, runId))?.seq ?? 0;
        for (let i = 0; i < todo.length; i += ITEM_PAGE) {
          const ids = todo.slice(i, i + ITEM_PAGE);
          await insertPendingItems(db, { tenantId: c.tenantId, runId }, ids, seq);
          seq += ids.length;
          heartbeat(i);
        }
        await markMaterialized(db, runId);
        runs.push({ tenantId: c.tenantId, runId, options });
      }
      return runs;
    },
  };
}
