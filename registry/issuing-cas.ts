import type { Kysely } from 'kysely';
import type { CaStatus } from '../domain/ca';
import { CertflowError } from '../domain/errors';
import { checkImportedCa } from '../pki/issuing/create-ca';
import { IssuingError } from '../pki/issuing/errors';
import type { Issuer } from '../pki/issuing/issuer';
import { decryptPrivateKey, encryptPrivateKey, type Kek } from '../pki/issuing/key-envelope';
import { createSoftwareIssuer } from '../pki/issuing/software-issuer';
import { isForeignKeyViolation, isUniqueViolation } from './errors';
import { isoNow, newId } from './ids';
import type { Database, IssuingCaRow } from './schema';

/**
 * Issuing CAs: CAs whose private key certflow holds (encrypted at rest under the configured
 * KEK) to sign device CSRs. Views never carry the key, encrypted or not; only loadIssuer reads
 * it, and only to hand back an Issuer.
 */
export interface IssuingCaView {
  id: string;
  tenantId: string;
  name: string;
  subject: string;
  fingerprintSha256: string;
  certificatePem: string;
  chainPem: string;
  notBefore: string;
  notAfter: string;
  status: CaStatus;
  createdAt: string;
}

export interface IssuingCaInput {
  tenantId: string;
  /** Unique per tenant; how profiles and operators refer to the CA. */
  name: string;
  certificatePem: string;
  /** Certificates above the CA (PEM, may be empty). */
  chainPem?: string;
  /** Checked against the certificate, then stored only as an envelope. */
  privateKeyPem: string;
  kek: Kek;
  /** Default 'active'. */
  status?: CaStatus;
  /** For the validity check; default the current time. */
  now?: Date;
}

const VIEW_COLUMNS = [
  'id',
  'tenant_id',
  'name',
  'subject',
  'fingerprint_sha256',
  'certificate_pem',
  'chain_pem',
  'not_before',
  'not_after',
  'status',
  'created_at',
] as const;

const MAX_NAME = 100;

function toView(row: Omit<IssuingCaRow, 'encrypted_private_key'>): IssuingCaView {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    subject: row.subject,
    fingerprintSha256: row.fingerprint_sha256,
    certificatePem: row.certificate_pem,
    chainPem: row.chain_pem,
    notBefore: row.not_before,
    notAfter: row.not_after,
    status: row.status as CaStatus,
    createdAt: row.created_at,
  };
}

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed === '' || trimmed.length > MAX_NAME || /\p{Cc}/u.test(trimmed)) {
    const message = `must be 1 to ${MAX_NAME} characters without control characters`;
    throw new CertflowError('VALIDATION_FAILED', `name: ${message}`, [{ field: 'name', message }]);
  }
  return trimmed;
}

/**
 * Stores an issuing CA after checkImportedCa (CA_* / ISSUING_CA_INVALID): the key must match
 * the certificate and the certificate must be able to sign chains pki/chain accepts.
 */
export async function insertIssuingCa(db: Kysely<Database>, input: IssuingCaInput): Promise<IssuingCaView> {
  const name = checkName(input.name);
  const ca = checkImportedCa({
    certificatePem: input.certificatePem,
    privateKeyPem: input.privateKeyPem,
    chainPem: input.chainPem,
    now: input.now ?? new Date(),
  });
  const row: IssuingCaRow = {
    id: newId(),
    tenant_id: input.tenantId,
    name,
    subject: ca.subject,
    fingerprint_sha256: ca.fingerprintSha256,
    certificate_pem: ca.certificatePem,
    chain_pem: ca.chainPem,
    encrypted_private_key: encryptPrivateKey(ca.privateKeyPem, input.kek),
    not_before: ca.notBefore,
    not_after: ca.notAfter,
    status: input.status ?? 'active',
    created_at: isoNow(),
  };
  try {
    await db.insertInto('issuing_cas').values(row).execute();
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw new IssuingError(
        'ISSUING_CA_NAME_TAKEN',
        `an issuing CA named "${name}" already exists in this tenant`,
      );
    }
    if (isForeignKeyViolation(err)) throw new CertflowError('REFERENCE_NOT_FOUND', 'no such tenant');
    throw err;
  }
  return toView(row);
}

export async function getIssuingCa(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
): Promise<IssuingCaView | undefined> {
  const row = await db
    .selectFrom('issuing_cas')
    .select(VIEW_COLUMNS)
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toView(row);
}

export async function listIssuingCas(db: Kysely<Database>, tenantId: string): Promise<IssuingCaView[]> {
  const rows = await db
    .selectFrom('issuing_cas')
    .select(VIEW_COLUMNS)
    .where('tenant_id', '=', tenantId)
    .orderBy('id')
    .execute();
  return rows.map(toView);
}

/** Activates or deactivates an issuing CA; a revoked one stays revoked. */
export async function setIssuingCaStatus(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
  status: CaStatus,
): Promise<IssuingCaView> {
  const current = await getIssuingCa(db, tenantId, id);
  if (!current) throw new IssuingError('ISSUING_CA_NOT_FOUND', 'no such issuing CA in this tenant');
  if (current.status === 'revoked' && status !== 'revoked') {
    throw new CertflowError('CA_REVOKED', 'a revoked issuing CA cannot be reactivated; import a new one');
  }
  await db
    .updateTable('issuing_cas')
    .set({ status })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute();
  return { ...current, status };
}

/**
 * The Issuer of an active issuing CA, its key decrypted with whichever of `kek` sealed it (pass
 * old and new KEKs during a KEK rotation). ISSUING_CA_NOT_FOUND, ISSUING_CA_INACTIVE, or
 * ISSUING_KEY_UNAVAILABLE when the key cannot be decrypted. The Issuer holds the key in memory:
 * a long-lived caller may cache it per (tenant, id) rather than decrypt per certificate.
 */
export async function loadIssuer(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
  kek: Kek | readonly Kek[],
): Promise<Issuer> {
  const row = await db
    .selectFrom('issuing_cas')
    .select(['status', 'certificate_pem', 'chain_pem', 'encrypted_private_key'])
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw new IssuingError('ISSUING_CA_NOT_FOUND', 'no such issuing CA in this tenant');
  if (row.status !== 'active') {
    throw new IssuingError('ISSUING_CA_INACTIVE', `the issuing CA is ${row.status}, not active`);
  }
  return createSoftwareIssuer({
    certificatePem: row.certificate_pem,
    chainPem: row.chain_pem,
    privateKeyPem: decryptPrivateKey(row.encrypted_private_key, kek),
  });
}
