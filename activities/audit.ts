import { Context } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import type { AuditEventType } from '../domain/audit';
import { appendAuditEvent, type AuditEventInput } from '../registry/audit';
import type { Database } from '../registry/schema';

export interface AuditActivityDeps {
  db: Kysely<Database>;
}

export interface RecordAuditEventInput {
  tenantId: string;
  eventKey: string;
  type: AuditEventType;
  actor: string;
  deviceId?: string;
  caId?: string;
  runId?: string;
  data?: Record<string, unknown>;
}

/**
 * The registry's append-only audit log outlives Temporal's retention; each event records
 * the workflow execution that wrote it. Idempotent on `eventKey`.
 */
export function createAuditActivities({ db }: AuditActivityDeps) {
  return {
    async recordAuditEvent(input: RecordAuditEventInput): Promise<{ id: string; seq: number }> {
      return recordAudit(db, input);
    },
  };
}

/** Appends the event stamped with the calling activity's workflow execution. */
export async function recordAudit(
  db: Kysely<Database>,
  input: RecordAuditEventInput,
): Promise<{ id: string; seq: number }> {
  const row = await appendAuditEvent(db, stamped(input));
  return { id: row.id, seq: Number(row.seq) };
}

/** The event with the calling activity's workflow execution, for writing it in a transaction. */
export function stamped(input: RecordAuditEventInput): AuditEventInput {
  const { workflowExecution } = Context.current().info;
  // Always set for workflow activities; standalone activities have none.
  return {
    ...input,
    workflowId: workflowExecution?.workflowId ?? null,
    workflowRunId: workflowExecution?.runId ?? null,
  };
}

export type AuditActivities = ReturnType<typeof createAuditActivities>;
