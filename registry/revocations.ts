import type { Kysely } from 'kysely';
import { CertflowError } from '../domain/errors';
import type { RevokeInput, RevokeResult } from '../domain/rotation';
import { appendAuditEvent } from './audit';
import { appendEdgeEvent } from './edge-events';
import { isoNow } from './ids';
import type { CertificateRow, Database } from './schema';

/**
 * Revocation in the registry. A revoked credential or certificate never authenticates again
 * (findDeviceByCertificate / findCredentialHolders filter on status), and the edge event
 * written in the same transaction makes every edge drop its caches and live sessions within
 * seconds. Certificates stay in the registry with their reason, ready for a future CRL.
 */
export interface DeviceCertificateView {
  id: string;
  fingerprintSha256: string;
  serialHex: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  status: 'active' | 'revoked';
  revokedAt: string | null;
  revocationReason: string | null;
  issuingCaId: string | null;
  /** The certificate was issued by a rotation still waiting for its first use. */
  pendingRotation: boolean;
}

/** Every certificate the device has held, newest first. DEVICE_NOT_FOUND outside the tenant. */
export async function listDeviceCertificates(
  db: Kysely<Database>,
  tenantId: string,
  deviceId: string,
): Promise<DeviceCertificateView[]> {
  await requireDevice(db, tenantId, deviceId);
  const rows = await db
    .selectFrom('certificates as cert')
    .leftJoin('device_credentials as c', (j) =>
      j.onRef('c.certificate_id', '=', 'cert.id').on('c.pending_rotation', 'is not', null),
    )
    .select([
      'cert.id',
      'cert.fingerprint_sha256',
      'cert.serial_hex',
      'cert.subject',
      'cert.not_before',
      'cert.not_after',
      'cert.status',
      'cert.revoked_at',
      'cert.revocation_reason',
      'cert.issuing_ca_id',
      'cert.issuer_ca_id',
      'c.pending_rotation',
    ])
    .where('cert.tenant_id', '=', tenantId)
    .where('cert.device_id', '=', deviceId)
    .orderBy('cert.created_at', 'desc')
    .orderBy('cert.id', 'desc')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    fingerprintSha256: r.fingerprint_sha256,
    serialHex: r.serial_hex,
    subject: r.subject,
    notBefore: r.not_before,
    notAfter: r.not_after,
    status: r.status === 'active' ? 'active' : 'revoked',
    revokedAt: r.revoked_at,
    revocationReason: r.revocation_reason,
    issuingCaId: r.issuing_ca_id,
    pendingRotation: r.status === 'active' && r.pending_rotation !== null,
  }));
}

export async function requireDevice(db: Kysely<Database>, tenantId: string, deviceId: string) {
  const device = await db
    .selectFrom('devices')
    .select(['id', 'tenant_id', 'name', 'status', 'profile_id'])
    .where('tenant_id', '=', tenantId)
    .where('id', '=', deviceId)
    .executeTakeFirst();
  if (!device) throw new CertflowError('DEVICE_NOT_FOUND', 'no such device in this tenant');
  return device;
}

export async function findCertificate(
  db: Kysely<Database>,
  tenantId: string,
  deviceId: string,
  fingerprintSha256: string,
): Promise<CertificateRow | undefined> {
  return db
    .selectFrom('certificates')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('device_id', '=', deviceId)
    .where('fingerprint_sha256', '=', fingerprintSha256.toLowerCase())
    .executeTakeFirst();
}

/**
 * Revokes one certificate and the X.509 credential(s) it backs, and emits `credential.revoked`
 * for the edge. Call inside the caller's transaction. Returns what was still active.
 */
export async function revokeCertificateIn(
  trx: Kysely<Database>,
  cert: Pick<CertificateRow, 'id' | 'tenant_id' | 'device_id' | 'fingerprint_sha256'>,
  reason: string,
  now: string = isoNow(),
): Promise<{ changed: boolean; credentials: number }> {
  const certs = await trx
    .updateTable('certificates')
    .set({ status: 'revoked', revoked_at: now, revocation_reason: reason })
    .where('id', '=', cert.id)
    .where('status', '=', 'active')
    .executeTakeFirst();
  const creds = await trx
    .updateTable('device_credentials')
    .set({ status: 'revoked', revoked_at: now, revocation_reason: reason, pending_rotation: null })
    .where('type', '=', 'X509_CERTIFICATE')
    .where('lookup_key', '=', cert.fingerprint_sha256)
    .where('status', '=', 'active')
    .executeTakeFirst();
  const changed = Number(certs.numUpdatedRows) + Number(creds.numUpdatedRows) > 0;
  if (changed) {
    await appendEdgeEvent(trx, {
      tenantId: cert.tenant_id,
      deviceId: cert.device_id,
      type: 'credential.revoked',
      fingerprint: cert.fingerprint_sha256,
      data: { reason },
    });
  }
  return { changed, credentials: Number(creds.numUpdatedRows) };
}

/**
 * Revokes a device or one of its certificates, with its audit event, in one transaction.
 * Idempotent on the request id: the audit event (keyed by it) stores the result, and a retry
 * answers from it. Already-revoked targets are not an error.
 */
export async function revokeTarget(
  db: Kysely<Database>,
  input: RevokeInput,
  workflow: { workflowId: string | null; workflowRunId: string | null },
): Promise<RevokeResult> {
  return db.transaction().execute(async (trx) => {
    const eventKey = `revoke:${input.requestId}`;
    const done = await trx
      .selectFrom('audit_events')
      .select('data')
      .where('tenant_id', '=', input.tenantId)
      .where('event_key', '=', eventKey)
      .executeTakeFirst();
    if (done) return (JSON.parse(done.data) as { result: RevokeResult }).result;
    const device = await requireDevice(trx, input.tenantId, input.target.deviceId);
    const now = isoNow();
    const result: RevokeResult = {
      deviceId: device.id,
      deviceRevoked: false,
      revokedCertificates: [],
      revokedCredentials: 0,
    };
    const target = input.target;
    let certs: CertificateRow[];
    if (target.kind === 'certificate') {
      const cert = await findCertificate(trx, input.tenantId, device.id, target.fingerprintSha256);
      if (!cert) throw new CertflowError('CERTIFICATE_NOT_FOUND', 'no such certificate for this device');
      certs = [cert];
    } else {
      certs = await trx
        .selectFrom('certificates')
        .selectAll()
        .where('device_id', '=', device.id)
        .where('status', '=', 'active')
        .execute();
    }
    for (const cert of certs) {
      const revoked = await revokeCertificateIn(trx, cert, input.reason, now);
      if (revoked.changed) result.revokedCertificates.push(cert.fingerprint_sha256);
      result.revokedCredentials += revoked.credentials;
    }
    if (target.kind === 'device') {
      const creds = await trx
        .updateTable('device_credentials')
        .set({ status: 'revoked', revoked_at: now, revocation_reason: input.reason, pending_rotation: null })
        .where('device_id', '=', device.id)
        .where('status', '=', 'active')
        .executeTakeFirst();
      result.revokedCredentials += Number(creds.numUpdatedRows);
      const dev = await trx
        .updateTable('devices')
        .set({ status: 'revoked', updated_at: now })
        .where('id', '=', device.id)
        .where('status', '!=', 'revoked')
        .executeTakeFirst();
      result.deviceRevoked = Number(dev.numUpdatedRows) > 0;
      if (result.deviceRevoked || result.revokedCredentials > 0) {
        await appendEdgeEvent(trx, {
          tenantId: input.tenantId,
          deviceId: device.id,
          type: 'device.revoked',
          fingerprint: null,
          data: { reason: input.reason },
        });
      }
    }
    await appendAuditEvent(trx, {
      tenantId: input.tenantId,
      eventKey,
      type: target.kind === 'device' ? 'device.revoked' : 'certificate.revoked',
      actor: input.actor,
      deviceId: device.id,
      workflowId: workflow.workflowId,
      workflowRunId: workflow.workflowRunId,
      data: { reason: input.reason, target, result },
      at: now,
    });
    return result;
  });
}
