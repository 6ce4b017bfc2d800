import type { Kysely } from 'kysely';
import type { AuditEventType } from '../domain/audit';
import { isoNow, newId } from './ids';
import type { AuditEventRow, Database } from './schema';

export interface AuditEventInput {
  tenantId: string;
  /** Business idempotency key: the same key is written once, however often it is retried. */
  eventKey: string;
  type: AuditEventType;
  actor: string;
  deviceId?: string | null;
  caId?: string | null;
  runId?: string | null;
  workflowId?: string | null;
  workflowRunId?: string | null;
  data?: Record<string, unknown>;
  at?: string;
}

/** Appends an event unless one with the same key exists; returns the stored event either way. */
export async function appendAuditEvent(db: Kysely<Database>, e: AuditEventInput): Promise<AuditEventRow> {
  await db
    .insertInto('audit_events')
    .values({
      id: newId(),
      tenant_id: e.tenantId,
      event_key: e.eventKey,
      type: e.type,
      actor: e.actor,
      device_id: e.deviceId ?? null,
      ca_id: e.caId ?? null,
      run_id: e.runId ?? null,
      workflow_id: e.workflowId ?? null,
      workflow_run_id: e.workflowRunId ?? null,
      data: JSON.stringify(e.data ?? {}),
      created_at: e.at ?? isoNow(),
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'event_key']).doNothing())
    .execute();
  return db
    .selectFrom('audit_events')
    .selectAll()
    .where('tenant_id', '=', e.tenantId)
    .where('event_key', '=', e.eventKey)
    .executeTakeFirstOrThrow();
}

/** A device's audit trail in the order it was written. */
export async function listDeviceAuditEvents(
  db: Kysely<Database>,
  tenantId: string,
  deviceId: string,
): Promise<AuditEventRow[]> {
  return db
    .selectFrom('audit_events')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('device_id', '=', deviceId)
    .orderBy('seq')
    .execute();
}
