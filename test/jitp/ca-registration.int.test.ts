import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDeviceCert,
  createIntermediateCa,
  createRootCa,
  createVerificationCert,
  type TestCa,
} from '../support/device-pki';
import { webcrypto, x509 } from '../../pki/crypto';
import { createTenantWithAdminKey } from '../../registry/tenants';
import { type CaBody, registerCaViaApi } from '../support/jitp';
import { type TestPlatform, startTestPlatform } from '../support/platform';
import { countRows, dialects } from '../support/registry';

describe.each(dialects)('CA registration on %s', (dialect) => {
  let p: TestPlatform;
  let root: TestCa;
  beforeAll(async () => {
    p = await startTestPlatform(dialect);
    root = await createRootCa({ name: 'CN=Factory Root,O=Acme' });
  });
  afterAll(async () => {
    await p?.stop();
  });
  const op = () => p.tenantA.keys.operator;

  async function refused(res: Response, status: number, code: string) {
    expect(await res.json()).toMatchObject({ code });
    expect(res.status).toBe(status);
  }

  it('registers a CA with proof of possession and its JITP settings', async () => {
    const product = (await (await p.call(op(), 'POST', '/api/products', { name: 'thermo' })).json()) as {
      id: string;
    };
    const res = await registerCaViaApi(p, op(), root, {
      enabled: true,
      productId: product.id,
      tags: ['factory-1'],
      descriptionTemplate: '{{o}} {{cn}}',
    });
    expect(res.status).toBe(201);
    const ca = (await res.json()) as CaBody;
    expect(ca).toMatchObject({ status: 'active', subject: 'CN=Factory Root, O=Acme' });
    expect(ca.jitp).toMatchObject({ enabled: true, productId: product.id, tags: ['factory-1'] });
    expect(ca.expiry.warning).toBe(false);
    const listed = (await (await p.call(p.tenantA.keys.auditor, 'GET', '/api/cas')).json()) as {
      cas: CaBody[];
    };
    expect(listed.cas.map((c) => c.id)).toContain(ca.id);
  });

  it('refuses the same CA twice in a tenant, and in another tenant', async () => {
    await refused(await registerCaViaApi(p, op(), root), 409, 'CA_ALREADY_REGISTERED');
    await refused(
      await registerCaViaApi(p, p.tenantB.keys.operator, root),
      409,
      'CA_REGISTERED_TO_ANOTHER_TENANT',
    );
  });

  it('lets a re-keyed CA with the same subject coexist with the old one', async () => {
    const rekeyed = await createRootCa({ name: 'CN=Factory Root,O=Acme' });
    expect((await registerCaViaApi(p, op(), rekeyed)).status).toBe(201);
  });

  it('refuses each bad CA with its own code and writes nothing', async () => {
    const before = await countRows(p.registry, 'ca_certificates');
    const leafAsCa = await createDeviceCert(root, { cn: 'not-a-ca' });
    const cases: [TestCa | { certPem: string }, number, string][] = [
      [await createRootCa({ name: 'CN=Old', notAfter: new Date('2025-01-01T00:00:00Z') }), 422, 'CA_EXPIRED'],
      [
        await createRootCa({ name: 'CN=Future', notBefore: new Date('2030-01-01T00:00:00Z') }),
        422,
        'CA_NOT_YET_VALID',
      ],
      [await createRootCa({ name: 'CN=Weak', keyAlg: 'RSA-1024' }), 422, 'CA_WEAK_KEY'],
      [
        await createRootCa({ name: 'CN=Sha1', keyAlg: 'RSA-2048', signatureHash: 'SHA-1' }),
        422,
        'CA_WEAK_SIGNATURE',
      ],
      [await createRootCa({ name: 'CN=Not CA', isCa: false }), 422, 'CA_NOT_A_CA'],
    ];
    for (const [ca, status, code] of cases) {
      await refused(await registerCaViaApi(p, op(), ca as TestCa), status, code);
    }
    const { registrationCode } = (await (
      await p.call(op(), 'POST', '/api/cas/registration-code')
    ).json()) as {
      registrationCode: string;
    };
    const other = await createRootCa({ name: 'CN=Other' });
    const good = await createRootCa({ name: 'CN=Good' });
    const post = (body: Record<string, unknown>) => p.call(op(), 'POST', '/api/cas', body);
    await refused(
      await post({ caCertificate: leafAsCa.certPem, verificationCertificate: 'x' }),
      422,
      'CA_NOT_A_CA',
    );
    await refused(
      await post({ caCertificate: 'garbage', verificationCertificate: 'x' }),
      400,
      'CA_MALFORMED',
    );
    const truncated = good.certPem.slice(0, 200) + '\n-----END CERTIFICATE-----';
    await refused(
      await post({ caCertificate: truncated, verificationCertificate: 'x' }),
      400,
      'CA_MALFORMED',
    );
    await refused(
      await post({
        caCertificate: good.certPem,
        verificationCertificate: await createVerificationCert(other, registrationCode),
      }),
      422,
      'CA_VERIFICATION_NOT_SIGNED',
    );
    await refused(
      await post({
        caCertificate: good.certPem,
        verificationCertificate: await createVerificationCert(good, 'wrong-code'),
      }),
      422,
      'CA_VERIFICATION_CODE_MISMATCH',
    );
    await refused(
      await post({
        caCertificate: good.certPem,
        verificationCertificate: await createVerificationCert(good, registrationCode),
        jitp: { enabled: true, productId: 'no-such-product' },
      }),
      422,
      'REFERENCE_NOT_FOUND',
    );
    await refused(
      await post({
        caCertificate: good.certPem,
        verificationCertificate: await createVerificationCert(good, registrationCode),
        jitp: { enabled: true, deviceNamePattern: '^[a-z]+$' },
      }),
      400,
      'VALIDATION_FAILED',
    );
    expect(await countRows(p.registry, 'ca_certificates')).toBe(before);
  });

  it('refuses a CA its own devices could never chain to (no SKI, non-critical basicConstraints)', async () => {
    const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ]);
    const make = async (name: string, extensions: x509.Extension[]) => ({
      certPem: (
        await x509.X509CertificateGenerator.createSelfSigned({
          serialNumber: '01',
          name,
          notBefore: new Date('2020-01-01T00:00:00Z'),
          notAfter: new Date('2040-01-01T00:00:00Z'),
          signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
          keys,
          extensions,
        })
      ).toString('pem'),
      keyPem: '',
      name,
      keyAlg: 'P-256' as const,
      keys,
    });
    const noSki = await make('CN=No SKI', [new x509.BasicConstraintsExtension(true, undefined, true)]);
    const softBc = await make('CN=Soft BC', [
      new x509.BasicConstraintsExtension(true, undefined, false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ]);
    await refused(await registerCaViaApi(p, op(), noSki), 422, 'CA_PROFILE_VIOLATION');
    await refused(await registerCaViaApi(p, op(), softBc), 422, 'CA_PROFILE_VIOLATION');
  });

  it('changes only the JITP fields a PATCH names', async () => {
    const product = (await (
      await p.call(op(), 'POST', '/api/products', { name: 'patch-product' })
    ).json()) as {
      id: string;
    };
    const patchable = await createRootCa({ name: 'CN=Patchable' });
    const ca = (await (
      await registerCaViaApi(p, op(), patchable, { enabled: true, productId: product.id, tags: ['keep'] })
    ).json()) as CaBody;
    const res = await p.call(op(), 'PATCH', `/api/cas/${ca.id}`, { jitp: { enabled: false } });
    expect(((await res.json()) as CaBody).jitp).toMatchObject({
      enabled: false,
      productId: product.id,
      tags: ['keep'],
    });
  });

  it('needs a registration code first', async () => {
    const fresh = await createRootCa({ name: 'CN=Fresh' });
    const { adminKey } = await createTenantWithAdminKey(p.registry.db, 'tenant-c', 'test');
    const res = await p.call(adminKey, 'POST', '/api/cas', {
      caCertificate: fresh.certPem,
      verificationCertificate: await createVerificationCert(fresh, 'anything'),
    });
    await refused(res, 409, 'CA_REGISTRATION_CODE_MISSING');
  });

  it('warns about CAs expiring inside the window', async () => {
    const soon = await createRootCa({ name: 'CN=Soon', notAfter: new Date(Date.now() + 10 * 86_400_000) });
    const ca = (await (await registerCaViaApi(p, op(), soon)).json()) as CaBody;
    expect(ca.expiry.warning).toBe(true);
    expect(ca.expiry.daysLeft).toBeLessThanOrEqual(10);
  });

  it('deactivates and revokes a CA; a revoked CA stays revoked', async () => {
    const inter = await createIntermediateCa(root, { name: 'CN=Line 2' });
    const ca = (await (await registerCaViaApi(p, op(), inter)).json()) as CaBody;
    const off = await p.call(op(), 'PATCH', `/api/cas/${ca.id}`, { status: 'inactive' });
    expect(((await off.json()) as CaBody).status).toBe('inactive');
    expect((await p.call(op(), 'PATCH', `/api/cas/${ca.id}`, { status: 'revoked' })).status).toBe(200);
    await refused(await p.call(op(), 'PATCH', `/api/cas/${ca.id}`, { status: 'active' }), 409, 'CA_REVOKED');
    await refused(await p.call(p.tenantB.keys.operator, 'GET', `/api/cas/${ca.id}`), 404, 'CA_NOT_FOUND');
    expect(
      (await p.call(p.tenantA.keys.auditor, 'PATCH', `/api/cas/${ca.id}`, { status: 'active' })).status,
    ).toBe(403);
  });
});
