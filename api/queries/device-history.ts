import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { Kysely } from 'kysely';
import { deviceWorkflowsQuery } from '../../domain/ids';
import { listDeviceAuditEvents } from '../../registry/audit';
import type { Database } from '../../registry/schema';

export interface WorkflowSummary {
  workflowId: string;
  runId: string;
  type: string;
  status: string;
  startTime: string;
  closeTime: string | null;
  historyLength: number;
  history?: unknown;
}

/**
 * Every workflow that touched the device, from Temporal visibility (by search attribute),
 * oldest first; with `full`, each one's complete event history as Temporal's JSON. Temporal
 * keeps closed workflows only for the namespace's retention: the audit log is the record
 * beyond it.
 */
export async function listDeviceWorkflows(
  client: Client,
  tenantId: string,
  deviceId: string,
  full: boolean,
): Promise<WorkflowSummary[]> {
  const out: WorkflowSummary[] = [];
  for await (const wf of client.workflow.list({ query: deviceWorkflowsQuery(tenantId, deviceId) })) {
    const summary: WorkflowSummary = {
      workflowId: wf.workflowId,
      runId: wf.runId,
      type: wf.type,
      status: wf.status.name,
      startTime: wf.startTime.toISOString(),
      closeTime: wf.closeTime?.toISOString() ?? null,
      historyLength: wf.historyLength,
    };
    if (full) {
      const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      summary.history = JSON.parse(historyToJSON(history)) as unknown;
    }
    out.push(summary);
  }
  return out.sort((a, b) => a.startTime.localeCompare(b.startTime));
}

export async function listDeviceAudit(db: Kysely<Database>, tenantId: string, deviceId: string) {
  const rows = await listDeviceAuditEvents(db, tenantId, deviceId);
  return rows.map((r) => ({
    id: r.id,
    seq: Number(r.seq),
    type: r.type,
    actor: r.actor,
    workflowId: r.workflow_id,
    workflowRunId: r.workflow_run_id,
    data: JSON.parse(r.data) as unknown,
    createdAt: r.created_at,
  }));
}
