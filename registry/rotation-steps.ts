import type { Kysely } from 'kysely';
import type { AuditEventType } from '../domain/audit';
import { CertflowError } from '../domain/errors';
import type { RotationOutcome } from '../domain/rotation';
import { appendAuditEvent } from './audit';
import { appendEdgeEvent } from './edge-events';
import { isoNow } from './ids';
import { revokeCertificateIn } from './revocations';
import { lockRotationSlot } from './rotations';
import { setItemState } from './run-items';
import type { Database } from './schema';

/**
 * The registry side of one device's rotation, each step one transaction that is safe to run
 * again (Temporal retries activities; a killed worker re-runs them). The device_rotations row
 * is the slot: only the rotation holding it may issue, complete or free it. Make-before-break:
 * the old certificate is revoked in the same transaction that confirms the new one, and an
 * ending rotation revokes only what it issued, so a device never ends with zero or two.
 */
export interface WorkflowRef {
  workflowId: string | null;
  workflowRunId: string | null;
}

/** The rotation's audit event, written in the caller's transaction (idempotent on its key). */
export async function rotationAudit(
  trx: Kysely<Database>,
  r: { tenantId: string; deviceId: string; runId: string | null; rotationId: string },
  wf: WorkflowRef,
  type: AuditEventType,
  eventKey: string,
  data: Record<string, unknown>,
): Promise<void> {
  await appendAuditEvent(trx, {
    tenantId: r.tenantId,
    eventKey,
    type,
    actor: `rotation:${r.rotationId}`,
    deviceId: r.deviceId,
    runId: r.runId,
    workflowId: wf.workflowId,
    workflowRunId: wf.workflowRunId,
    data: { rotationId: r.rotationId, ...data },
  });
}

export interface CompleteInput {
  tenantId: string;
  deviceId: string;
  rotationId: string;
  workflowId: string;
  runId: string | null;
  oldFingerprint: string;
  newFingerprint: string;
}

/**
 * Confirms the new certificate and revokes the old one. Run again after success it is a no-op.
 * Throws DEVICE_REVOKED when the device was revoked meanwhile (nothing is re-activated: the
 * workflow then ends the rotation as failed), CERTIFICATE_REVOKED when the new certificate was,
 * and ROTATION_WRONG_STATE when this rotation does not hold the slot with that certificate.
 */
export async function completeRotation(
  db: Kysely<Database>,
  input: CompleteInput,
  wf: WorkflowRef,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const slot = await lockRotationSlot(trx, input.deviceId, input.rotationId);
    const held = slot !== undefined && slot.tenant_id === input.tenantId;
    const fresh = await trx
      .selectFrom('device_credentials')
      .select(['status', 'pending_rotation'])
      .where('type', '=', 'X509_CERTIFICATE')
      .where('lookup_key', '=', input.newFingerprint)
      .where('device_id', '=', input.deviceId)
      .executeTakeFirst();
    if (!held) {
      if (fresh?.status === 'active' && fresh.pending_rotation === null) return; // already completed
      throw new CertflowError('ROTATION_WRONG_STATE', 'this rotation does not hold the device');
    }
    if (slot.state !== 'issued' || slot.new_fingerprint !== input.newFingerprint) {
      throw new CertflowError('ROTATION_WRONG_STATE', 'the confirmed certificate is not the one issued');
    }
    const device = await trx
      .selectFrom('devices')
      .select('status')
      .where('id', '=', input.deviceId)
      .executeTakeFirst();
    if (device?.status !== 'active') throw new CertflowError('DEVICE_REVOKED', 'the device is revoked');
    if (fresh?.status !== 'active') {
      throw new CertflowError('CERTIFICATE_REVOKED', 'the new certificate was revoked');
    }
    const now = isoNow();
    const old = await trx
      .selectFrom('certificates')
      .select(['id', 'tenant_id', 'device_id', 'fingerprint_sha256'])
      .where('tenant_id', '=', input.tenantId)
      .where('fingerprint_sha256', '=', slot.old_fingerprint)
      .executeTakeFirst();
    if (old) await revokeCertificateIn(trx, old, `superseded by rotation ${input.rotationId}`, now);
    await trx
      .updateTable('device_credentials')
      .set({ pending_rotation: null })
      .where('type', '=', 'X509_CERTIFICATE')
      .where('lookup_key', '=', input.newFingerprint)
      .execute();
    await trx.deleteFrom('device_rotations').where('device_id', '=', input.deviceId).execute();
    if (input.runId) {
      await setItemState(
        trx,
        { runId: input.runId, deviceId: input.deviceId },
        {
          state: 'succeeded',
          reason: null,
          oldFingerprint: slot.old_fingerprint,
          newFingerprint: input.newFingerprint,
        },
        ['pending', 'in_progress'],
      );
    }
    await appendEdgeEvent(trx, {
      tenantId: input.tenantId,
      deviceId: input.deviceId,
      type: 'rotation.ended',
      fingerprint: input.newFingerprint,
      data: { rotationId: input.rotationId, state: 'succeeded' },
    });
    await rotationAudit(trx, input, wf, 'rotation.completed', `rotation.ended:${input.rotationId}`, {
      oldFingerprint: slot.old_fingerprint,
      newFingerprint: input.newFingerprint,
    });
  });
}

export interface EndInput {
  tenantId: string;
  deviceId: string;
  rotationId: string;
  workflowId: string;
  runId: string | null;
  state: Exclude<RotationOutcome, 'succeeded'>;
  reason: string;
  oldFingerprint: string | null;
}

/**
 * Ends a rotation without switching: revokes every certificate this rotation issued that was
 * never confirmed (its credential still names the workflow), frees the slot if this rotation
 * holds it, records the item's outcome. The old certificate is never touched.
 */
export async function endRotation(db: Kysely<Database>, input: EndInput, wf: WorkflowRef): Promise<void> {
  await db.transaction().execute((trx) => endRotationIn(trx, input, wf));
}

/** {@link endRotation} inside the caller's transaction. */
export async function endRotationIn(trx: Kysely<Database>, input: EndInput, wf: WorkflowRef): Promise<void> {
  const now = isoNow();
  // Free the slot first: on PostgreSQL this waits for an issuance holding it, so the query
  // below sees the certificate that issuance stored; a later issuance finds no slot and stops.
  const freed = await trx
    .deleteFrom('device_rotations')
    .where('device_id', '=', input.deviceId)
    .where('rotation_id', '=', input.rotationId)
    .executeTakeFirst();
  const issued = await trx
    .selectFrom('device_credentials as c')
    .innerJoin('certificates as cert', 'cert.id', 'c.certificate_id')
    .select(['cert.id', 'cert.tenant_id', 'cert.device_id', 'cert.fingerprint_sha256'])
    .where('c.device_id', '=', input.deviceId)
    .where('c.pending_rotation', '=', input.workflowId)
    .execute();
  let changed = Number(freed.numDeletedRows) > 0;
  for (const cert of issued) {
    const r = await revokeCertificateIn(trx, cert, `rotation ${input.state}: ${input.reason}`, now);
    changed ||= r.changed;
  }
  if (input.runId) {
    const set = await setItemState(
      trx,
      { runId: input.runId, deviceId: input.deviceId },
      {
        state: input.state,
        reason: input.reason,
        ...(input.oldFingerprint ? { oldFingerprint: input.oldFingerprint } : {}),
      },
      ['pending', 'in_progress'],
    );
    changed ||= set;
  }
  // Nothing changed: a retry of an ended rotation, or one refused before it wrote anything.
  if (changed) {
    await appendEdgeEvent(trx, {
      tenantId: input.tenantId,
      deviceId: input.deviceId,
      type: 'rotation.ended',
      fingerprint: null,
      data: { rotationId: input.rotationId, state: input.state, reason: input.reason },
    });
  }
  const type = input.state === 'rolled_back' ? 'rotation.rolled_back' : 'rotation.failed';
  await rotationAudit(trx, input, wf, type, `rotation.ended:${input.rotationId}`, {
    reason: input.reason,
    revokedCertificates: issued.map((c) => c.fingerprint_sha256),
  });
}
