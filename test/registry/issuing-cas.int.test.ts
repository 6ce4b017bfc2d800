import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateChain } from '../../pki/chain';
import { webcrypto } from '../../pki/crypto';
import { createIssuingCa, parseKek } from '../../pki/issuing';
import type { Registry } from '../../registry/connect';
import {
  getIssuingCa,
  insertIssuingCa,
  listIssuingCas,
  loadIssuer,
  setIssuingCaStatus,
} from '../../registry/issuing-cas';
import { createTenantWithAdminKey } from '../../registry/tenants';
import { CLIENT_AUTH_OID, createIntermediateCa, createRootCa } from '../support/device-pki';
import { dialects, freshRegistry } from '../support/registry';

const NOW = new Date('2030-06-01T00:00:00Z');
const KEK = parseKek('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff');
const OTHER_KEK = parseKek('ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100');

async function thrown(fn: () => Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a failure');
}

async function deviceSpki(): Promise<Uint8Array> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  return new Uint8Array(await webcrypto.subtle.exportKey('spki', keys.publicKey));
}

describe.each(dialects)('issuing CAs on %s', (dialect) => {
  let r: Registry & { dispose(): Promise<void> };
  let tenantId: string;
  let otherTenantId: string;
  let ca: { certificatePem: string; privateKeyPem: string };
  beforeAll(async () => {
    r = await freshRegistry(dialect);
    tenantId = (await createTenantWithAdminKey(r.db, 'acme', 'test')).tenant.id;
    otherTenantId = (await createTenantWithAdminKey(r.db, 'globex', 'test')).tenant.id;
    ca = await createIssuingCa({ name: 'Acme Devices CA', validityDays: 3650, now: NOW });
  });
  afterAll(async () => {
    await r?.dispose();
  });

  it('stores the key only as an envelope and never shows it in views', async () => {
    const view = await insertIssuingCa(r.db, { tenantId, name: 'devices', ...ca, kek: KEK, now: NOW });
    expect(view).toMatchObject({
      tenantId,
      name: 'devices',
      subject: 'CN=Acme Devices CA',
      status: 'active',
      chainPem: '',
      notAfter: '2040-05-29T00:00:00.000Z',
    });
    expect(view.fingerprintSha256).toMatch(/^[0-9a-f]{64}$/);
    for (const shown of [
      view,
      await getIssuingCa(r.db, tenantId, view.id),
      await listIssuingCas(r.db, tenantId),
    ]) {
      const json = JSON.stringify(shown);
      expect(json).not.toMatch(/PRIVATE KEY|encrypted|v1:/i);
      expect(json).toContain(view.id);
    }
    const stored = await r.db
      .selectFrom('issuing_cas')
      .select('encrypted_private_key')
      .where('id', '=', view.id)
      .executeTakeFirstOrThrow();
    expect(stored.encrypted_private_key).toMatch(new RegExp(`^v1:${KEK.id}:`));
    expect(stored.encrypted_private_key).not.toContain('PRIVATE KEY');
    expect(await getIssuingCa(r.db, otherTenantId, view.id)).toBeUndefined();
    expect(await listIssuingCas(r.db, otherTenantId)).toEqual([]);
  });

  it('loads an issuer with the right KEK that signs certificates chaining to the CA', async () => {
    const [view] = await listIssuingCas(r.db, tenantId);
    const issuer = await loadIssuer(r.db, tenantId, view!.id, KEK);
    expect(issuer.certificatePem).toBe(view!.certificatePem);
    const issued = await issuer.signDeviceCertificate({
      publicKeySpkiDer: await deviceSpki(),
      subjectCn: 'device-1',
      notBefore: NOW,
      notAfter: new Date('2031-06-01T00:00:00Z'),
    });
    const result = validateChain({
      leaf: issued.certificatePem,
      trustAnchors: [view!.certificatePem],
      now: NOW,
      policy: { requiredEku: [CLIENT_AUTH_OID] },
    });
    expect(result).toMatchObject({ ok: true });
  });

  it('fails clearly with a wrong KEK, and accepts it alongside the right one', async () => {
    const [view] = await listIssuingCas(r.db, tenantId);
    const err = await thrown(() => loadIssuer(r.db, tenantId, view!.id, OTHER_KEK));
    expect(err.code).toBe('ISSUING_KEY_UNAVAILABLE');
    expect(err.message).toContain(KEK.id);
    await expect(loadIssuer(r.db, tenantId, view!.id, [OTHER_KEK, KEK])).resolves.toBeDefined();
  });

  it('refuses a duplicate name in the tenant but allows it in another tenant', async () => {
    const again = await createIssuingCa({ name: 'Second CA', validityDays: 365, now: NOW });
    const err = await thrown(() =>
      insertIssuingCa(r.db, { tenantId, name: ' devices ', ...again, kek: KEK, now: NOW }),
    );
    expect(err.code).toBe('ISSUING_CA_NAME_TAKEN');
    const elsewhere = await insertIssuingCa(r.db, {
      tenantId: otherTenantId,
      name: 'devices',
      ...again,
      kek: KEK,
      now: NOW,
    });
    expect(elsewhere.tenantId).toBe(otherTenantId);
    expect(await listIssuingCas(r.db, tenantId)).toHaveLength(1);
  });

  it('refuses a key that is not the certificate’s, storing nothing', async () => {
    const other = await createIssuingCa({ name: 'Other', validityDays: 365, now: NOW });
    const err = await thrown(() =>
      insertIssuingCa(r.db, {
        tenantId,
        name: 'mismatch',
        certificatePem: ca.certificatePem,
        privateKeyPem: other.privateKeyPem,
        kek: KEK,
        now: NOW,
      }),
    );
    expect(err.code).toBe('ISSUING_CA_INVALID');
    expect((await listIssuingCas(r.db, tenantId)).map((c) => c.name)).toEqual(['devices']);
  });

  it('imports an intermediate with its chain', async () => {
    const root = await createRootCa({ name: 'CN=Acme Root' });
    const intermediate = await createIntermediateCa(root, { name: 'CN=Acme Issuing', pathLen: 0 });
    const view = await insertIssuingCa(r.db, {
      tenantId,
      name: 'intermediate',
      certificatePem: intermediate.certPem,
      privateKeyPem: intermediate.keyPem,
      chainPem: root.certPem,
      kek: KEK,
      now: NOW,
    });
    const issuer = await loadIssuer(r.db, tenantId, view.id, KEK);
    expect(issuer.chainPem).toBe(root.certPem);
    const issued = await issuer.signDeviceCertificate({
      publicKeySpkiDer: await deviceSpki(),
      subjectCn: 'device-2',
      notBefore: NOW,
      notAfter: new Date('2031-06-01T00:00:00Z'),
    });
    const result = validateChain({
      leaf: issued.certificatePem,
      intermediates: [issuer.certificatePem],
      trustAnchors: [issuer.chainPem],
      now: NOW,
      policy: { requiredEku: [CLIENT_AUTH_OID] },
    });
    expect(result).toMatchObject({ ok: true, chain: [{}, {}, {}] });
  });

  it('refuses to load an unknown, inactive or revoked issuing CA', async () => {
    const [view] = await listIssuingCas(r.db, tenantId);
    const id = view!.id;
    expect((await thrown(() => loadIssuer(r.db, tenantId, 'no-such-id', KEK))).code).toBe(
      'ISSUING_CA_NOT_FOUND',
    );
    expect((await thrown(() => loadIssuer(r.db, otherTenantId, id, KEK))).code).toBe('ISSUING_CA_NOT_FOUND');
    expect((await setIssuingCaStatus(r.db, tenantId, id, 'inactive')).status).toBe('inactive');
    expect((await thrown(() => loadIssuer(r.db, tenantId, id, KEK))).code).toBe('ISSUING_CA_INACTIVE');
    await setIssuingCaStatus(r.db, tenantId, id, 'revoked');
    expect((await thrown(() => setIssuingCaStatus(r.db, tenantId, id, 'active'))).code).toBe('CA_REVOKED');
    expect((await getIssuingCa(r.db, tenantId, id))?.status).toBe('revoked');
  });
});
