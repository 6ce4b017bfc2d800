import type { Kysely } from 'kysely';
import type { DeviceView, ProvisionState } from '../domain/device';
import { CertflowError } from '../domain/errors';
import { appendAuditEvent, type AuditEventInput } from './audit';
import { isForeignKeyViolation, isUniqueViolation } from './errors';
import { isoNow } from './ids';
import type { Database, DeviceRow } from './schema';

export interface NewDeviceInput {
  id: string;
  tenantId: string;
  name: string;
  label?: string | null;
  productId?: string | null;
  cohortId?: string | null;
  deviceClassId?: string | null;
  profileId?: string | null;
  tags?: string[];
  attributes?: Record<string, string | number | boolean>;
  createdByWorkflow: string;
  /** Access token credential, already hashed by the edge: secrets never enter workflow history. */
  accessTokenHash?: string | null;
  /** The device's certificate, stored and made its X.509 credential (looked up by SHA-256). */
  certificate?: DeviceCertificateInput | null;
  provisionState?: ProvisionState;
  /** The gateway device this device sits behind (gateway provisioning). */
  gatewayId?: string | null;
  /** Its audit event, appended in the same transaction: a device never exists without it. */
  audit?: AuditEventInput;
}

export interface DeviceCertificateInput {
  issuerCaId: string;
  serialHex: string;
  fingerprintSha256: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  pem: string;
}

/**
 * Creates a device and its initial credential in one transaction. Idempotent on the device
 * id for the creating workflow: a retried activity gets the row it wrote before. A name taken
 * by another device, a token used elsewhere, or a reference outside the tenant are
 * permanent failures with their own codes.
 */
export async function insertDevice(db: Kysely<Database>, input: NewDeviceInput): Promise<DeviceRow> {
  const existing = await getDeviceById(db, input.tenantId, input.id);
  if (existing) return ownedBy(existing, input);
  await assertReferencesInTenant(db, input);
  const now = isoNow();
  const row: DeviceRow = {
    id: input.id,
    tenant_id: input.tenantId,
    name: input.name,
    label: input.label ?? null,
    product_id: input.productId ?? null,
    cohort_id: input.cohortId ?? null,
    device_class_id: input.deviceClassId ?? null,
    profile_id: input.profileId ?? null,
    tags: JSON.stringify(input.tags ?? []),
    attributes: JSON.stringify(input.attributes ?? {}),
    provision_state: input.provisionState ?? 'pre-provisioned',
    status: 'active',
    gateway_id: input.gatewayId ?? null,
    provisioned_at: input.provisionState === 'provisioned' ? now : null,
    created_by_workflow: input.createdByWorkflow,
    created_at: now,
    updated_at: now,
  };
  try {
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('devices').values(row).execute();
      if (input.accessTokenHash) {
        await trx
          .insertInto('device_credentials')
          .values(credential(input, 'ACCESS_TOKEN', input.accessTokenHash, null, now))
          .execute();
      }
      if (input.certificate) {
        const cert = input.certificate;
        const certificateId = `${input.id}/${cert.fingerprintSha256.slice(0, 32)}`;
        await trx
          .insertInto('certificates')
          .values({
            id: certificateId,
            tenant_id: input.tenantId,
            device_id: input.id,
            issuer_ca_id: cert.issuerCaId,
            serial_hex: cert.serialHex,
            fingerprint_sha256: cert.fingerprintSha256,
            subject: cert.subject,
            not_before: cert.notBefore,
            not_after: cert.notAfter,
            certificate_pem: cert.pem,
            status: 'active',
            created_at: now,
            revoked_at: null,
            revocation_reason: null,
          })
          .execute();
        await trx
          .insertInto('device_credentials')
          .values(credential(input, 'X509_CERTIFICATE', cert.fingerprintSha256, certificateId, now))
          .execute();
      }
      if (input.audit) await appendAuditEvent(trx, input.audit);
    });
  } catch (err) {
    if (isUniqueViolation(err)) return explainConflict(db, input);
    if (isForeignKeyViolation(err))
      throw new CertflowError('REFERENCE_NOT_FOUND', 'a referenced resource does not exist');
    throw err;
  }
  return row;
}

function credential(
  input: NewDeviceInput,
  type: string,
  lookupKey: string,
  certificateId: string | null,
  now: string,
) {
  return {
    id: `${input.id}/${type.toLowerCase()}/${lookupKey.slice(0, 16)}`,
    tenant_id: input.tenantId,
    device_id: input.id,
    type,
    lookup_key: lookupKey,
    secret_hash: null,
    certificate_id: certificateId,
    status: 'active',
    created_at: now,
    revoked_at: null,
    revocation_reason: null,
  };
}

async function explainConflict(db: Kysely<Database>, input: NewDeviceInput): Promise<DeviceRow> {
  const byId = await getDeviceById(db, input.tenantId, input.id);
  if (byId) return ownedBy(byId, input);
  const byName = await findDeviceByName(db, input.tenantId, input.name);
  if (byName) throw new CertflowError('DEVICE_NAME_TAKEN', `a device named "${input.name}" already exists`);
  throw new CertflowError('CREDENTIAL_TAKEN', 'the credential is already used by another device');
}

function ownedBy(row: DeviceRow, input: NewDeviceInput): DeviceRow {
  if (row.created_by_workflow !== input.createdByWorkflow || row.name !== input.name) {
    throw new CertflowError('DEVICE_NAME_TAKEN', `device id ${input.id} already exists`);
  }
  return row;
}

/** Product, cohort, class and profile must belong to the device's tenant (isolation). */
async function assertReferencesInTenant(db: Kysely<Database>, input: NewDeviceInput): Promise<void> {
  const refs = [
    ['products', input.productId, 'productId'],
    ['cohorts', input.cohortId, 'cohortId'],
    ['device_classes', input.deviceClassId, 'deviceClassId'],
    ['device_profiles', input.profileId, 'profileId'],
  ] as const;
  for (const [table, id, field] of refs) {
    if (!id) continue;
    const found = await db
      .selectFrom(table)
      .select('id')
      .where('tenant_id', '=', input.tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!found) {
      throw new CertflowError('REFERENCE_NOT_FOUND', `${field} ${id} does not exist in this tenant`, [
        { field, message: 'does not exist in this tenant' },
      ]);
    }
  }
}

export async function getDeviceById(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
): Promise<DeviceRow | undefined> {
  return db
    .selectFrom('devices')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function findDeviceByName(
  db: Kysely<Database>,
  tenantId: string,
  name: string,
): Promise<DeviceRow | undefined> {
  return db
    .selectFrom('devices')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('name', '=', name)
    .executeTakeFirst();
}

/** Keyset pagination by id (UUIDv7, so creation order). */
export async function listDevices(
  db: Kysely<Database>,
  tenantId: string,
  page: { limit: number; after?: string },
): Promise<DeviceRow[]> {
  let q = db.selectFrom('devices').selectAll().where('tenant_id', '=', tenantId);
  if (page.after) q = q.where('id', '>', page.after);
  return q.orderBy('id').limit(page.limit).execute();
}

export interface AuthenticatedDevice {
  tenantId: string;
  deviceId: string;
  deviceName: string;
}

/** Finds the device owning an active credential of an active device; the edge's hot path. */
export async function findDeviceByCredential(
  db: Kysely<Database>,
  type: string,
  lookupKey: string,
): Promise<AuthenticatedDevice | undefined> {
  const [row] = await findCredentialHolders(db, type, [lookupKey]);
  return row && { tenantId: row.tenantId, deviceId: row.deviceId, deviceName: row.deviceName };
}

/**
 * Active devices holding an active credential of `type` under any of `lookupKeys`, with the
 * credential's secret hash for the caller to verify (MQTT basic passwords).
 */
export async function findCredentialHolders(
  db: Kysely<Database>,
  type: string,
  lookupKeys: string[],
): Promise<(AuthenticatedDevice & { secretHash: string | null })[]> {
  return db
    .selectFrom('device_credentials as c')
    .innerJoin('devices as d', 'd.id', 'c.device_id')
    .select([
      'd.tenant_id as tenantId',
      'd.id as deviceId',
      'd.name as deviceName',
      'c.secret_hash as secretHash',
    ])
    .where('c.type', '=', type)
    .where('c.lookup_key', 'in', lookupKeys)
    .where('c.status', '=', 'active')
    .where('d.status', '=', 'active')
    .execute();
}

export function toDeviceView(row: DeviceRow): DeviceView {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    label: row.label,
    productId: row.product_id,
    cohortId: row.cohort_id,
    deviceClassId: row.device_class_id,
    profileId: row.profile_id,
    tags: JSON.parse(row.tags) as string[],
    attributes: JSON.parse(row.attributes) as DeviceView['attributes'],
    provisionState: row.provision_state as DeviceView['provisionState'],
    status: row.status as DeviceView['status'],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface CertificateDevice extends AuthenticatedDevice {
  /** Null for a credential provisioned by hash only (no certificate stored). */
  notAfter: string | null;
  caStatus: string | null;
  /** The rotation workflow waiting for this certificate's first use (signal it); null otherwise. */
  pendingRotation: string | null;
}

/**
 * The device whose active X.509 credential is this exact certificate (by SHA-256), with what
 * the edge must still check on every connect: certificate expiry and the issuing CA's status.
 * Credentials provisioned by hash have no stored certificate; the caller checks the presented one.
 * Revoked credentials, certificates and devices never match: revocation takes effect at connect.
 */
export async function findDeviceByCertificate(
  db: Kysely<Database>,
  fingerprintSha256: string,
): Promise<CertificateDevice | undefined> {
  return db
    .selectFrom('device_credentials as c')
    .innerJoin('devices as d', 'd.id', 'c.device_id')
    .leftJoin('certificates as cert', 'cert.id', 'c.certificate_id')
    .leftJoin('ca_certificates as ca', 'ca.id', 'cert.issuer_ca_id')
    .select([
      'd.tenant_id as tenantId',
      'd.id as deviceId',
      'd.name as deviceName',
      'cert.not_after as notAfter',
      'cert.status as certificateStatus',
      'ca.status as caStatus',
      'c.pending_rotation as pendingRotation',
    ])
    .where('c.type', '=', 'X509_CERTIFICATE')
    .where('c.lookup_key', '=', fingerprintSha256)
    .where('c.status', '=', 'active')
    .where('d.status', '=', 'active')
    .executeTakeFirst()
    .then((row) =>
      row && (row.certificateStatus === null || row.certificateStatus === 'active')
        ? {
            tenantId: row.tenantId,
            deviceId: row.deviceId,
            deviceName: row.deviceName,
            notAfter: row.notAfter,
            caStatus: row.caStatus,
            pendingRotation: row.pendingRotation,
          }
        : undefined,
    );
}

/**
 * Whether this certificate (SHA-256) was a device credential and is revoked now. Asked only when
 * no active credential matched, through the (type, lookup_key) unique index.
 */
export async function isRevokedCertificate(
  db: Kysely<Database>,
  fingerprintSha256: string,
): Promise<boolean> {
  const row = await db
    .selectFrom('device_credentials')
    .select('id')
    .where('type', '=', 'X509_CERTIFICATE')
    .where('lookup_key', '=', fingerprintSha256)
    .where('status', '=', 'revoked')
    .executeTakeFirst();
  return row !== undefined;
}

/** What a connection's topic policy is compiled from: the class policy and the device's attributes. */
export async function loadPolicyContext(
  db: Kysely<Database>,
  deviceId: string,
): Promise<{ policy: unknown; attributes: Record<string, string | number | boolean> } | undefined> {
  const row = await db
    .selectFrom('devices as d')
    .leftJoin('device_classes as k', 'k.id', 'd.device_class_id')
    .select(['d.attributes as attributes', 'k.policy as policy'])
    .where('d.id', '=', deviceId)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    policy: row.policy === null ? null : (JSON.parse(row.policy) as unknown),
    attributes: JSON.parse(row.attributes) as Record<string, string | number | boolean>,
  };
}
