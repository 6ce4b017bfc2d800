import type { Kysely } from 'kysely';
import { CertflowError } from '../domain/errors';
import type { IssuedCertificate } from '../pki/issuing/issuer';
import { appendAuditEvent } from './audit';
import { insertCredential } from './claims';
import { isUniqueViolation } from './errors';
import { isoNow } from './ids';
import { revokeCertificateIn } from './revocations';
import type { WorkflowRef } from './rotation-steps';
import { getRotationRow, lockRotationSlot } from './rotations';
import { setItemState } from './run-items';
import type { CertificateRow, Database } from './schema';

/**
 * Storing a certificate a rotation issued. Its id is derived from (device, rotation, CSR key)
 * by the caller, so a retried issuance finds the stored certificate instead of a second one.
 */
export interface StoreIssuedInput {
  tenantId: string;
  deviceId: string;
  deviceName: string;
  rotationId: string;
  workflowId: string;
  certificateId: string;
  issuingCaId: string;
  issued: IssuedCertificate;
}

export async function getCertificateById(
  db: Kysely<Database>,
  id: string,
): Promise<CertificateRow | undefined> {
  return db.selectFrom('certificates').selectAll().where('id', '=', id).executeTakeFirst();
}

/** ROTATION_WRONG_STATE unless this rotation holds the device's slot (locked when `lock`). */
export async function assertSlotHeld(
  db: Kysely<Database>,
  tenantId: string,
  deviceId: string,
  rotationId: string,
  lock = false,
) {
  const slot = lock ? await lockRotationSlot(db, deviceId, rotationId) : await getRotationRow(db, deviceId);
  if (!slot || slot.rotation_id !== rotationId || slot.tenant_id !== tenantId) {
    throw new CertflowError('ROTATION_WRONG_STATE', 'this rotation does not hold the device');
  }
  return slot;
}

/**
 * Stores the certificate and its credential (active, `pending_rotation` = the workflow) and
 * moves the slot to `issued`. A different certificate this rotation issued before (the device
 * sent a CSR for another key) is revoked in the same transaction: one pending certificate at most.
 */
export async function storeRotationCertificate(
  db: Kysely<Database>,
  input: StoreIssuedInput,
  wf: WorkflowRef,
): Promise<CertificateRow> {
  try {
    return await db.transaction().execute(async (trx) => {
      // Locked first: an ending rotation either sees this certificate or is seen to have ended.
      const slot = await assertSlotHeld(trx, input.tenantId, input.deviceId, input.rotationId, true);
      const existing = await getCertificateById(trx, input.certificateId);
      if (existing) return existing;
      const now = isoNow();
      const row: CertificateRow = {
        id: input.certificateId,
        tenant_id: input.tenantId,
        device_id: input.deviceId,
        issuer_ca_id: null,
        issuing_ca_id: input.issuingCaId,
        serial_hex: input.issued.serialHex,
        fingerprint_sha256: input.issued.fingerprintSha256,
        subject: `CN=${input.deviceName}`,
        not_before: input.issued.notBefore,
        not_after: input.issued.notAfter,
        certificate_pem: input.issued.certificatePem,
        status: 'active',
        created_at: now,
        revoked_at: null,
        revocation_reason: null,
      };
      await trx.insertInto('certificates').values(row).execute();
      const device = { id: input.deviceId, tenant_id: input.tenantId };
      const credential = {
        type: 'X509_CERTIFICATE' as const,
        lookupKey: row.fingerprint_sha256,
        certificateId: row.id,
      };
      await insertCredential(trx, device, row.id, credential, now);
      await trx
        .updateTable('device_credentials')
        .set({ pending_rotation: input.workflowId })
        .where('id', '=', row.id)
        .execute();
      if (slot.new_fingerprint && slot.new_fingerprint !== row.fingerprint_sha256) {
        const earlier = await trx
          .selectFrom('certificates')
          .select(['id', 'tenant_id', 'device_id', 'fingerprint_sha256'])
          .where('tenant_id', '=', input.tenantId)
          .where('fingerprint_sha256', '=', slot.new_fingerprint)
          .executeTakeFirst();
        if (earlier) await revokeCertificateIn(trx, earlier, 'superseded: the device sent a new CSR', now);
      }
      await trx
        .updateTable('device_rotations')
        .set({ state: 'issued', new_fingerprint: row.fingerprint_sha256, updated_at: now })
        .where('device_id', '=', input.deviceId)
        .execute();
      if (slot.run_id) {
        await setItemState(
          trx,
          { runId: slot.run_id, deviceId: input.deviceId },
          { state: 'in_progress', newFingerprint: row.fingerprint_sha256 },
          ['in_progress'],
        );
      }
      await appendAuditEvent(trx, {
        tenantId: input.tenantId,
        eventKey: `rotation.issued:${input.rotationId}:${row.fingerprint_sha256}`,
        type: 'rotation.issued',
        actor: `rotation:${input.rotationId}`,
        deviceId: input.deviceId,
        runId: slot.run_id,
        workflowId: wf.workflowId,
        workflowRunId: wf.workflowRunId,
        data: {
          rotationId: input.rotationId,
          fingerprintSha256: row.fingerprint_sha256,
          serialHex: row.serial_hex,
          notAfter: row.not_after,
          issuingCaId: input.issuingCaId,
        },
        at: now,
      });
      return row;
    });
  } catch (err) {
    // A concurrent attempt of the same issuance stored it first.
    const stored = isUniqueViolation(err) ? await getCertificateById(db, input.certificateId) : undefined;
    if (stored) return stored;
    throw err;
  }
}
