import type { Kysely, Transaction } from 'kysely';
import { ProvisionError, type ProvisionStrategy } from '../domain/provisioning';
import { appendAuditEvent, type AuditEventInput } from './audit';
import { isUniqueViolation } from './errors';
import { isoNow } from './ids';
import type { Database, DeviceRow } from './schema';

/** A credential as it is stored: never a secret in clear (tokens hashed, passwords scrypt-ed). */
export interface StoredCredentialInput {
  type: 'ACCESS_TOKEN' | 'MQTT_BASIC' | 'X509_CERTIFICATE';
  lookupKey: string;
  secretHash?: string | null;
  certificateId?: string | null;
}

export interface ClaimInput {
  tenantId: string;
  profile: {
    id: string;
    strategy: ProvisionStrategy;
    allowReprovision: boolean;
    deviceClassId: string | null;
  };
  /** Id for a device created by this claim (ignored when the device exists). */
  newDeviceId: string;
  deviceName: string;
  /** Absent for CSR claims: their credential is stored once the certificate is issued. */
  credential: StoredCredentialInput | null;
  /** The claiming workflow run: makes the claim idempotent under activity retries. */
  runId: string;
  createdByWorkflow: string;
}

export interface ClaimResult {
  deviceId: string;
  deviceName: string;
  created: boolean;
  /** Credentials revoked because the device was provisioned again (factory reset). */
  revokedCredentials: number;
}

/**
 * Claims a device for a profile in one transaction, by the profile's strategy: creates it
 * (allow-create), or finds it pre-provisioned under this profile (check-pre-provisioned);
 * re-provisioning a provisioned device revokes its old credentials and is allowed only when
 * the profile says so. The new credential's id is derived from the run, so a retried
 * activity finds its own work done instead of failing or doubling it.
 */
export async function claimDevice(
  db: Kysely<Database>,
  input: ClaimInput,
  /** The claim's audit event, appended in the same transaction (a retry finds it written). */
  audit?: (claim: ClaimResult) => AuditEventInput,
): Promise<ClaimResult> {
  try {
    return await db.transaction().execute(async (trx) => {
      const claim = await claimIn(trx, input);
      if (audit) await appendAuditEvent(trx, audit(claim));
      return claim;
    });
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw new ProvisionError(
        'PROVISION_CREDENTIAL_TAKEN',
        'these credentials are already used by another device',
      );
    }
    throw err;
  }
}

async function claimIn(trx: Transaction<Database>, input: ClaimInput): Promise<ClaimResult> {
  const now = isoNow();
  const existing = await trx
    .selectFrom('devices')
    .selectAll()
    .where('tenant_id', '=', input.tenantId)
    .where('name', '=', input.deviceName)
    .executeTakeFirst();
  let device: DeviceRow;
  let revoked = 0;
  if (!existing) {
    if (input.profile.strategy === 'CHECK_PRE_PROVISIONED_DEVICES') {
      throw new ProvisionError(
        'PROVISION_NOT_PRE_PROVISIONED',
        `device "${input.deviceName}" is not pre-provisioned`,
      );
    }
    device = newDevice(input, now);
    await trx.insertInto('devices').values(device).execute();
  } else {
    device = existing;
    if (await credentialExists(trx, existing.id, input.runId)) {
      // Done by an earlier attempt of this claim (whose transaction wrote the audit event).
      const createdByThis =
        existing.created_by_workflow === input.createdByWorkflow && existing.id === input.newDeviceId;
      return result(existing, createdByThis, 0);
    }
    // Created by an earlier attempt of this very claim (a CSR claim stores no credential here).
    if (existing.created_by_workflow === input.createdByWorkflow && existing.id === input.newDeviceId) {
      return result(existing, true, 0);
    }
    if (existing.profile_id !== input.profile.id) {
      throw input.profile.strategy === 'CHECK_PRE_PROVISIONED_DEVICES'
        ? new ProvisionError(
            'PROVISION_NOT_PRE_PROVISIONED',
            `device "${input.deviceName}" is not pre-provisioned for this profile`,
          )
        : new ProvisionError('PROVISION_DEVICE_EXISTS', `device "${input.deviceName}" already exists`);
    }
    if (existing.provision_state === 'provisioned') {
      if (!input.profile.allowReprovision) {
        throw new ProvisionError(
          'PROVISION_ALREADY_PROVISIONED',
          `device "${input.deviceName}" is already provisioned`,
        );
      }
      const res = await trx
        .updateTable('device_credentials')
        .set({ status: 'revoked', revoked_at: now, revocation_reason: 'reprovisioned' })
        .where('device_id', '=', existing.id)
        .where('status', '=', 'active')
        .executeTakeFirst();
      revoked = Number(res.numUpdatedRows);
    }
    await trx
      .updateTable('devices')
      .set({ provision_state: 'provisioned', provisioned_at: now, updated_at: now })
      .where('id', '=', existing.id)
      .execute();
  }
  if (input.credential)
    await insertCredential(trx, device, `${device.id}/${input.runId}`, input.credential, now);
  return result(device, !existing, revoked);
}

function newDevice(input: ClaimInput, now: string): DeviceRow {
  return {
    id: input.newDeviceId,
    tenant_id: input.tenantId,
    name: input.deviceName,
    label: null,
    product_id: null,
    cohort_id: null,
    device_class_id: input.profile.deviceClassId,
    profile_id: input.profile.id,
    tags: '[]',
    attributes: '{}',
    provision_state: 'provisioned',
    status: 'active',
    gateway_id: null,
    provisioned_at: now,
    created_by_workflow: input.createdByWorkflow,
    created_at: now,
    updated_at: now,
  };
}

async function credentialExists(
  trx: Transaction<Database>,
  deviceId: string,
  runId: string,
): Promise<boolean> {
  const row = await trx
    .selectFrom('device_credentials')
    .select('id')
    .where('id', '=', `${deviceId}/${runId}`)
    .executeTakeFirst();
  return row !== undefined;
}

export async function insertCredential(
  db: Kysely<Database> | Transaction<Database>,
  device: Pick<DeviceRow, 'id' | 'tenant_id'>,
  id: string,
  c: StoredCredentialInput,
  now: string,
): Promise<void> {
  await db
    .insertInto('device_credentials')
    .values({
      id,
      tenant_id: device.tenant_id,
      device_id: device.id,
      type: c.type,
      lookup_key: c.lookupKey,
      secret_hash: c.secretHash ?? null,
      certificate_id: c.certificateId ?? null,
      status: 'active',
      created_at: now,
      revoked_at: null,
      revocation_reason: null,
    })
    .execute();
}

function result(device: DeviceRow, created: boolean, revokedCredentials: number): ClaimResult {
  return { deviceId: device.id, deviceName: device.name, created, revokedCredentials };
}
