import type { Kysely } from 'kysely';
import { randomBytes } from 'node:crypto';
import { type CaStatus, defaultJitpSettings, type JitpSettings } from '../domain/ca';
import { CertflowError } from '../domain/errors';
import { isUniqueViolation } from './errors';
import { isoNow, newId } from './ids';
import type { CaRow, Database } from './schema';

/** A CA as shown by the API and used by provisioning: plain JSON. */
export interface CaView {
  id: string;
  tenantId: string;
  subject: string;
  serialHex: string;
  fingerprintSha256: string;
  status: CaStatus;
  notBefore: string;
  notAfter: string;
  certificatePem: string;
  jitp: JitpSettings;
  createdAt: string;
  updatedAt: string;
}

export function toCaView(row: CaRow): CaView {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    subject: row.subject,
    serialHex: row.serial_hex,
    fingerprintSha256: row.fingerprint_sha256,
    status: row.status as CaStatus,
    notBefore: row.not_before,
    notAfter: row.not_after,
    certificatePem: row.certificate_pem,
    jitp: {
      ...defaultJitpSettings,
      ...(JSON.parse(row.jitp_settings) as Partial<JitpSettings>),
      enabled: row.jitp_enabled === 1,
    },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Issues a fresh registration code for the tenant, replacing the previous one. */
export async function newRegistrationCode(db: Kysely<Database>, tenantId: string): Promise<string> {
  const code = randomBytes(24).toString('hex');
  await db
    .insertInto('ca_registration_codes')
    .values({ tenant_id: tenantId, code, created_at: isoNow() })
    .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ code, created_at: isoNow() }))
    .execute();
  return code;
}

export async function currentRegistrationCode(
  db: Kysely<Database>,
  tenantId: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('ca_registration_codes')
    .select('code')
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  return row?.code;
}

export interface NewCa {
  tenantId: string;
  subject: string;
  serialHex: string;
  fingerprintSha256: string;
  pem: string;
  notBefore: string;
  notAfter: string;
  status: CaStatus;
  jitp: JitpSettings;
}

/**
 * Registers a CA. One certificate belongs to one tenant: the CA a device chains to decides
 * which tenant the device joins, so the same CA in two tenants would be ambiguous.
 */
export async function insertCa(db: Kysely<Database>, ca: NewCa): Promise<CaView> {
  const elsewhere = await db
    .selectFrom('ca_certificates')
    .select(['tenant_id'])
    .where('fingerprint_sha256', '=', ca.fingerprintSha256)
    .executeTakeFirst();
  if (elsewhere) throw duplicate(elsewhere.tenant_id === ca.tenantId);
  const now = isoNow();
  const row: CaRow = {
    id: newId(),
    tenant_id: ca.tenantId,
    subject: ca.subject,
    serial_hex: ca.serialHex,
    fingerprint_sha256: ca.fingerprintSha256,
    certificate_pem: ca.pem,
    status: ca.status,
    not_before: ca.notBefore,
    not_after: ca.notAfter,
    jitp_enabled: ca.jitp.enabled ? 1 : 0,
    jitp_settings: JSON.stringify({ ...ca.jitp, enabled: undefined }),
    created_at: now,
    updated_at: now,
  };
  try {
    await db.insertInto('ca_certificates').values(row).execute();
  } catch (err) {
    if (isUniqueViolation(err)) throw duplicate(true);
    throw err;
  }
  return toCaView(row);
}

function duplicate(sameTenant: boolean): CertflowError {
  return sameTenant
    ? new CertflowError('CA_ALREADY_REGISTERED', 'this CA certificate is already registered in this tenant')
    : new CertflowError(
        'CA_REGISTERED_TO_ANOTHER_TENANT',
        'this CA certificate is registered to another tenant',
      );
}

export async function getCa(db: Kysely<Database>, tenantId: string, id: string): Promise<CaView | undefined> {
  const row = await db
    .selectFrom('ca_certificates')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toCaView(row);
}

export async function listCas(db: Kysely<Database>, tenantId: string): Promise<CaView[]> {
  const rows = await db
    .selectFrom('ca_certificates')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('id')
    .execute();
  return rows.map(toCaView);
}

/** Every CA of every tenant that could anchor a first connect (not revoked). */
export async function listTrustAnchors(db: Kysely<Database>): Promise<CaView[]> {
  const rows = await db.selectFrom('ca_certificates').selectAll().where('status', '!=', 'revoked').execute();
  return rows.map(toCaView);
}

/** Changes status and/or JITP settings. A revoked CA stays revoked. */
export async function updateCa(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
  change: { status?: CaStatus; jitp?: JitpSettings },
): Promise<CaView> {
  const current = await getCa(db, tenantId, id);
  if (!current) throw new CertflowError('CA_NOT_FOUND', 'no such CA in this tenant');
  if (current.status === 'revoked' && change.status && change.status !== 'revoked') {
    throw new CertflowError('CA_REVOKED', 'a revoked CA cannot be reactivated; register a new CA');
  }
  const jitp = change.jitp ?? current.jitp;
  await db
    .updateTable('ca_certificates')
    .set({
      status: change.status ?? current.status,
      jitp_enabled: jitp.enabled ? 1 : 0,
      jitp_settings: JSON.stringify({ ...jitp, enabled: undefined }),
      updated_at: isoNow(),
    })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute();
  return (await getCa(db, tenantId, id)) as CaView;
}
