import type { Kysely } from 'kysely';
import { randomBytes } from 'node:crypto';
import { CertflowError } from '../domain/errors';
import type { CredentialType, ProvisionStrategy } from '../domain/provisioning';
import { isForeignKeyViolation, isUniqueViolation } from './errors';
import { isoNow, newId } from './ids';
import type { Database, DeviceProfileRow } from './schema';
import { digestsEqual, randomSecret, sha256Hex } from './secrets';

/** A device profile as shown by the API: the secret is never part of it. */
export interface ProfileView {
  id: string;
  tenantId: string;
  name: string;
  provisionKey: string | null;
  strategy: ProvisionStrategy;
  allowedCredentialTypes: CredentialType[];
  deviceClassId: string | null;
  issuingCaId: string | null;
  allowReprovision: boolean;
  ratePerMinute: number;
  createdAt: string;
  updatedAt: string;
}

export interface ProfileSettings {
  strategy: ProvisionStrategy;
  allowedCredentialTypes: CredentialType[];
  deviceClassId: string | null;
  issuingCaId: string | null;
  allowReprovision: boolean;
  ratePerMinute: number;
}

export function toProfileView(row: DeviceProfileRow): ProfileView {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    provisionKey: row.provision_key,
    strategy: row.strategy as ProvisionStrategy,
    allowedCredentialTypes: JSON.parse(row.allowed_credential_types) as CredentialType[],
    deviceClassId: row.device_class_id,
    issuingCaId: row.issuing_ca_ref,
    allowReprovision: row.allow_reprovision === 1,
    ratePerMinute: row.rate_per_minute,
    createdAt: row.created_at,
    updatedAt: row.updated_at || row.created_at,
  };
}

/** Provision keys are public identifiers (in firmware); secrets are shown once and stored hashed. */
function newProvisionKey(): string {
  return randomBytes(10).toString('hex');
}

export async function createProfile(
  db: Kysely<Database>,
  tenantId: string,
  name: string,
  settings: ProfileSettings,
): Promise<{ profile: ProfileView; provisionSecret: string }> {
  const secret = randomSecret(20);
  const now = isoNow();
  const row: DeviceProfileRow = {
    id: newId(),
    tenant_id: tenantId,
    name,
    provision_key: newProvisionKey(),
    provision_secret_hash: sha256Hex(secret),
    strategy: settings.strategy,
    allowed_credential_types: JSON.stringify(settings.allowedCredentialTypes),
    device_class_id: settings.deviceClassId,
    issuing_ca_id: null,
    issuing_ca_ref: settings.issuingCaId,
    allow_reprovision: settings.allowReprovision ? 1 : 0,
    rate_per_minute: settings.ratePerMinute,
    created_at: now,
    updated_at: now,
  };
  await assertProfileReferences(db, tenantId, settings);
  try {
    await db.insertInto('device_profiles').values(row).execute();
  } catch (err) {
    if (isUniqueViolation(err))
      throw new CertflowError('NAME_TAKEN', `a profile named "${name}" already exists`);
    if (isForeignKeyViolation(err))
      throw new CertflowError('REFERENCE_NOT_FOUND', 'a referenced resource does not exist');
    throw err;
  }
  return { profile: toProfileView(row), provisionSecret: secret };
}

async function assertProfileReferences(
  db: Kysely<Database>,
  tenantId: string,
  s: ProfileSettings,
): Promise<void> {
  if (s.deviceClassId) {
    const found = await db
      .selectFrom('device_classes')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', s.deviceClassId)
      .executeTakeFirst();
    if (!found) throw refMissing('deviceClassId');
  }
  if (s.issuingCaId) {
    const found = await db
      .selectFrom('issuing_cas')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', s.issuingCaId)
      .executeTakeFirst();
    if (!found) throw refMissing('issuingCaId');
  }
}

function refMissing(field: string): CertflowError {
  return new CertflowError('REFERENCE_NOT_FOUND', `${field} does not exist in this tenant`, [
    { field, message: 'does not exist in this tenant' },
  ]);
}

export async function getProfile(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
): Promise<ProfileView | undefined> {
  return findProfile(db, tenantId, 'id', id);
}

export async function findProfileByName(
  db: Kysely<Database>,
  tenantId: string,
  name: string,
): Promise<ProfileView | undefined> {
  return findProfile(db, tenantId, 'name', name);
}

async function findProfile(
  db: Kysely<Database>,
  tenantId: string,
  column: 'id' | 'name',
  value: string,
): Promise<ProfileView | undefined> {
  const row = await db
    .selectFrom('device_profiles')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where(column, '=', value)
    .executeTakeFirst();
  return row && toProfileView(row);
}

export async function listProfiles(db: Kysely<Database>, tenantId: string): Promise<ProfileView[]> {
  const rows = await db
    .selectFrom('device_profiles')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('id')
    .execute();
  return rows.map(toProfileView);
}

/**
 * The profile a device's provision key and secret open, or undefined when either is wrong.
 * The secret is hashed and compared in constant time even when the key is unknown.
 */
export async function authenticateProvisionKey(
  db: Kysely<Database>,
  key: string,
  secret: string,
): Promise<ProfileView | undefined> {
  const row = await db
    .selectFrom('device_profiles')
    .selectAll()
    .where('provision_key', '=', key)
    .executeTakeFirst();
  const ok = digestsEqual(sha256Hex(secret), row?.provision_secret_hash ?? '0'.repeat(64));
  return row && ok ? toProfileView(row) : undefined;
}

/** Replaces a profile's secret; the new one is returned once. Devices holding the old one are refused. */
export async function rotateProvisionSecret(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
): Promise<string> {
  const secret = randomSecret(20);
  const result = await db
    .updateTable('device_profiles')
    .set({ provision_secret_hash: sha256Hex(secret), updated_at: isoNow() })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0)
    throw new CertflowError('NOT_FOUND', 'no such profile in this tenant');
  return secret;
}

export async function updateProfile(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
  change: Partial<ProfileSettings>,
): Promise<ProfileView> {
  const current = await getProfile(db, tenantId, id);
  if (!current) throw new CertflowError('NOT_FOUND', 'no such profile in this tenant');
  const next: ProfileSettings = { ...current, ...change };
  await assertProfileReferences(db, tenantId, next);
  await db
    .updateTable('device_profiles')
    .set({
      strategy: next.strategy,
      allowed_credential_types: JSON.stringify(next.allowedCredentialTypes),
      device_class_id: next.deviceClassId,
      issuing_ca_ref: next.issuingCaId,
      allow_reprovision: next.allowReprovision ? 1 : 0,
      rate_per_minute: next.ratePerMinute,
      updated_at: isoNow(),
    })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute();
  return (await getProfile(db, tenantId, id)) as ProfileView;
}
