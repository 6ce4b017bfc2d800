import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { webcrypto, x509 } from '../../pki/crypto';
import { createIssuingCa, parseKek } from '../../pki/issuing';
import { createActivities } from '../../activities';
import { isoNow, newId } from '../../registry/ids';
import { insertIssuingCa } from '../../registry/issuing-cas';
import type { Database } from '../../registry/schema';
import { createTenantWithAdminKey } from '../../registry/tenants';

/** Registry fixtures for rotation tests: a tenant with an issuing CA, catalog items, devices. */
export const KEK = parseKek('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff');

export interface World {
  tenantId: string;
  otherTenantId: string;
  issuingCaId: string;
  productId: string;
  cohortId: string;
  classId: string;
  activities: ReturnType<typeof createActivities>;
}

export async function createWorld(db: Kysely<Database>): Promise<World> {
  const tenantId = (await createTenantWithAdminKey(db, `acme-${newId()}`, 'test')).tenant.id;
  const otherTenantId = (await createTenantWithAdminKey(db, `globex-${newId()}`, 'test')).tenant.id;
  const ca = await createIssuingCa({ name: 'Acme Devices CA', validityDays: 3650, now: new Date() });
  const issuing = await insertIssuingCa(db, { tenantId, name: 'devices', ...ca, kek: KEK });
  const now = isoNow();
  const productId = newId();
  const cohortId = newId();
  const classId = newId();
  await db
    .insertInto('products')
    .values({ id: productId, tenant_id: tenantId, name: 'p', description: null, created_at: now })
    .execute();
  await db
    .insertInto('cohorts')
    .values({ id: cohortId, tenant_id: tenantId, product_id: productId, name: 'c', created_at: now })
    .execute();
  await db
    .insertInto('device_classes')
    .values({ id: classId, tenant_id: tenantId, name: 'k', policy: '{}', renewal: '{}', created_at: now })
    .execute();
  const activities = createActivities({ db, kek: KEK, deviceCertificateDays: 30 });
  return { tenantId, otherTenantId, issuingCaId: issuing.id, productId, cohortId, classId, activities };
}

export interface SeedOptions {
  tenantId: string;
  productId?: string | null;
  cohortId?: string | null;
  classId?: string | null;
  tags?: string[];
  issuingCaId?: string | null;
  notBefore?: string;
  notAfter?: string;
  status?: string;
}

export interface Seeded {
  deviceId: string;
  name: string;
  fingerprint: string;
}

/**
 * Devices with one active X.509 credential each, backed by a stored certificate row (its PEM is
 * a placeholder: rotation never parses the old certificate). Bulk inserts: thousands are cheap.
 */
export async function seedDevices(db: Kysely<Database>, n: number, o: SeedOptions): Promise<Seeded[]> {
  const now = isoNow();
  const out: Seeded[] = [];
  for (let start = 0; start < n; start += 200) {
    const batch = Array.from({ length: Math.min(200, n - start) }, () => {
      const deviceId = newId();
      return { deviceId, name: `dev-${deviceId}`, fingerprint: randomBytes(32).toString('hex') };
    });
    await db
      .insertInto('devices')
      .values(
        batch.map((d) => ({
          id: d.deviceId,
          tenant_id: o.tenantId,
          name: d.name,
          label: null,
          product_id: o.productId ?? null,
          cohort_id: o.cohortId ?? null,
          device_class_id: o.classId ?? null,
          profile_id: null,
          tags: JSON.stringify(o.tags ?? []),
          attributes: '{}',
          provision_state: 'provisioned',
          status: o.status ?? 'active',
          gateway_id: null,
          provisioned_at: now,
          created_by_workflow: 'test',
          created_at: now,
          updated_at: now,
        })),
      )
      .execute();
    await db
      .insertInto('certificates')
      .values(
        batch.map((d) => ({
          id: `${d.deviceId}/initial`,
          tenant_id: o.tenantId,
          device_id: d.deviceId,
          issuer_ca_id: null,
          issuing_ca_id: o.issuingCaId ?? null,
          serial_hex: d.fingerprint.slice(0, 16),
          fingerprint_sha256: d.fingerprint,
          subject: `CN=${d.name}`,
          not_before: o.notBefore ?? '2030-01-01T00:00:00.000Z',
          not_after: o.notAfter ?? '2031-01-01T00:00:00.000Z',
          certificate_pem: 'placeholder',
          status: 'active',
          created_at: now,
          revoked_at: null,
          revocation_reason: null,
        })),
      )
      .execute();
    await db
      .insertInto('device_credentials')
      .values(
        batch.map((d) => ({
          id: `${d.deviceId}/initial`,
          tenant_id: o.tenantId,
          device_id: d.deviceId,
          type: 'X509_CERTIFICATE',
          lookup_key: d.fingerprint,
          secret_hash: null,
          certificate_id: `${d.deviceId}/initial`,
          status: 'active',
          created_at: now,
          revoked_at: null,
          revocation_reason: null,
          pending_rotation: null,
        })),
      )
      .execute();
    out.push(...batch);
  }
  return out.sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1));
}

/** A PKCS#10 CSR (PEM) for a fresh P-256 key, and the SHA-256 of its public key. */
export async function makeCsr(cn = 'ignored-by-the-platform'): Promise<{ pem: string; keyHash: string }> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${cn}`,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey));
  return { pem: csr.toString('pem'), keyHash: createHash('sha256').update(spki).digest('hex') };
}

/** The active certificates (fingerprints) a device holds. */
export async function activeCertificates(db: Kysely<Database>, deviceId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('certificates as cert')
    .innerJoin('device_credentials as c', 'c.certificate_id', 'cert.id')
    .select('cert.fingerprint_sha256')
    .where('cert.device_id', '=', deviceId)
    .where('cert.status', '=', 'active')
    .where('c.status', '=', 'active')
    .execute();
  return rows.map((r) => r.fingerprint_sha256).sort();
}

export async function edgeEvents(db: Kysely<Database>, deviceId: string) {
  const rows = await db
    .selectFrom('edge_events')
    .selectAll()
    .where('device_id', '=', deviceId)
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({
    type: r.type,
    fingerprint: r.fingerprint,
    data: JSON.parse(r.data) as Record<string, unknown>,
  }));
}

/** The failure `fn` throws: a CertflowError's or an ApplicationFailure's code. */
export async function failureCode(fn: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await fn();
  } catch (err) {
    const e = err as { type?: string; code?: string };
    return e.type ?? e.code;
  }
  throw new Error('expected a failure');
}
