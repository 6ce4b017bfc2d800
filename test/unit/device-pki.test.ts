import { X509Certificate, createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CertflowError } from '../../domain/errors';
import { checkCaCertificate, checkVerificationCertificate } from '../../pki/ca-registration';
import { type ValidateChainInput, validateChain } from '../../pki/chain';
import {
  CLIENT_AUTH_OID,
  createDeviceCert,
  createIntermediateCa,
  createRootCa,
  createVerificationCert,
  crossSignCa,
} from '../support/device-pki';

const NOW = new Date('2026-06-01T00:00:00Z');
const POLICY = { requiredEku: [CLIENT_AUTH_OID] };

function validate(leaf: string, intermediates: string[], trustAnchors: string[]) {
  const input: ValidateChainInput = { leaf, intermediates, trustAnchors, now: NOW, policy: POLICY };
  return validateChain(input);
}

function refusal(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof CertflowError) return err.code;
    throw err;
  }
  return undefined;
}

describe('device PKI fixtures', () => {
  it('builds a root → intermediate → device chain that pki/chain and node:crypto both accept', async () => {
    const root = await createRootCa({ name: 'CN=Acme Root,O=Acme' });
    const issuing = await createIntermediateCa(root, { name: 'CN=Acme Devices,O=Acme', pathLen: 0 });
    const device = await createDeviceCert(issuing, {
      cn: 'sensor-42',
      o: 'Acme',
      ou: 'line 1',
      sans: ['s42.acme'],
    });

    const result = validate(device.certPem, [issuing.certPem], [root.certPem]);
    expect(result).toMatchObject({ ok: true, chain: [{}, {}, {}] });
    if (result.ok) expect(result.chain[0]!.fingerprintSha256).toBe(device.fingerprintSha256);

    const [rootX, issuingX, deviceX] = [root, issuing, device].map((c) => new X509Certificate(c.certPem));
    expect(deviceX!.verify(issuingX!.publicKey)).toBe(true);
    expect(deviceX!.checkIssued(issuingX!)).toBe(true);
    expect(issuingX!.verify(rootX!.publicKey)).toBe(true);
    expect(rootX!.verify(rootX!.publicKey)).toBe(true);
    expect(deviceX!.subject.split('\n')).toEqual(['O=Acme', 'OU=line 1', 'CN=sensor-42']);
    expect(deviceX!.subjectAltName).toBe('DNS:s42.acme');
    expect(deviceX!.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(deviceX!.fingerprint256.replace(/:/g, '').toLowerCase()).toBe(device.fingerprintSha256);
    expect(new Date(deviceX!.validFrom).toISOString()).toBe('2020-01-01T00:00:00.000Z');
    expect(new Date(deviceX!.validTo).toISOString()).toBe('2040-01-01T00:00:00.000Z');
  });

  it('gives PKCS#8 keys that node loads and that match their certificates', async () => {
    const root = await createRootCa({ keyAlg: 'RSA-2048' });
    const device = await createDeviceCert(root, { cn: 'd1', keyAlg: 'P-384' });
    for (const { certPem, keyPem } of [root, device]) {
      expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
      expect(new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
    }
    expect(createPrivateKey(device.keyPem).asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
    expect(validate(device.certPem, [], [root.certPem]).ok).toBe(true);
  });

  it('makes an isCa:false "intermediate" that the validator refuses as CHAIN_NOT_CA', async () => {
    const root = await createRootCa();
    const fake = await createIntermediateCa(root, { isCa: false });
    const device = await createDeviceCert(fake, { cn: 'd1' });
    expect(validate(device.certPem, [fake.certPem], [root.certPem])).toMatchObject({
      ok: false,
      code: 'CHAIN_NOT_CA',
    });
  });

  it('honours pathLen: 0 allows a device below, not another CA', async () => {
    const root = await createRootCa();
    const capped = await createIntermediateCa(root, { name: 'CN=capped', pathLen: 0 });
    const below = await createIntermediateCa(capped, { name: 'CN=below' });
    const direct = await createDeviceCert(capped, { cn: 'd1' });
    const deep = await createDeviceCert(below, { cn: 'd2' });
    expect(validate(direct.certPem, [capped.certPem], [root.certPem]).ok).toBe(true);
    expect(validate(deep.certPem, [below.certPem, capped.certPem], [root.certPem])).toMatchObject({
      ok: false,
      code: 'CHAIN_PATHLEN_EXCEEDED',
    });
  });

  it('takes explicit dates: a device expired before now fails with CHAIN_EXPIRED', async () => {
    const root = await createRootCa();
    const expired = await createDeviceCert(root, { cn: 'old', notAfter: new Date('2025-01-01T00:00:00Z') });
    expect(validate(expired.certPem, [], [root.certPem])).toMatchObject({ ok: false, code: 'CHAIN_EXPIRED' });
  });

  it('honours eku: serverAuth fails the clientAuth policy, none passes it', async () => {
    const root = await createRootCa();
    const server = await createDeviceCert(root, { cn: 'srv', eku: 'serverAuth' });
    const any = await createDeviceCert(root, { cn: 'any', eku: 'none' });
    expect(validate(server.certPem, [], [root.certPem])).toMatchObject({ ok: false, code: 'CHAIN_EKU' });
    expect(validate(any.certPem, [], [root.certPem]).ok).toBe(true);
  });

  it('makes a verification certificate signed by the CA key with CN = registration code', async () => {
    const ca = await createRootCa();
    const other = await createRootCa();
    const pem = await createVerificationCert(ca, 'reg-7f3a9c');
    const cert = new X509Certificate(pem);
    expect(cert.subject).toBe('CN=reg-7f3a9c');
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.verify(new X509Certificate(other.certPem).publicKey)).toBe(false);
    const { cert: caCert } = checkCaCertificate(ca.certPem, NOW);
    expect(refusal(() => checkVerificationCertificate(caCert, pem, 'reg-7f3a9c'))).toBeUndefined();
  });

  it('makes the weak and non-CA variants that CA registration refuses, and strong ones it accepts', async () => {
    const check = (pem: string) => refusal(() => checkCaCertificate(pem, NOW));
    expect(check((await createRootCa({ keyAlg: 'RSA-1024' })).certPem)).toBe('CA_WEAK_KEY');
    expect(check((await createRootCa({ signatureHash: 'SHA-1' })).certPem)).toBe('CA_WEAK_SIGNATURE');
    const rsaSha1 = await createRootCa({ keyAlg: 'RSA-2048', signatureHash: 'SHA-1' });
    expect(check(rsaSha1.certPem)).toBe('CA_WEAK_SIGNATURE');
    expect(check((await createRootCa({ isCa: false })).certPem)).toBe('CA_NOT_A_CA');
    expect(check((await createRootCa()).certPem)).toBeUndefined();
    expect(check((await createRootCa({ keyAlg: 'RSA-2048' })).certPem)).toBeUndefined();
    // The SHA-1 signer's key is still usable with SHA-256 for what it issues.
    const device = await createDeviceCert(rsaSha1, { cn: 'd1' });
    expect(new X509Certificate(device.certPem).verify(new X509Certificate(rsaSha1.certPem).publicKey)).toBe(
      true,
    );
  });

  it('cross-signs a CA so devices of the new root chain to the old one too', async () => {
    const oldRoot = await createRootCa({ name: 'CN=Acme Root 2020' });
    const newRoot = await createRootCa({ name: 'CN=Acme Root 2026', pathLen: 1 });
    const issuing = await createIntermediateCa(newRoot, { name: 'CN=Acme Devices 2026' });
    const device = await createDeviceCert(issuing, { cn: 'd1' });
    const bridge = await crossSignCa(newRoot, oldRoot);

    const bridgeX = new X509Certificate(bridge);
    expect(bridgeX.subject).toBe('CN=Acme Root 2026');
    expect(bridgeX.issuer).toBe('CN=Acme Root 2020');
    expect(bridgeX.publicKey.equals(new X509Certificate(newRoot.certPem).publicKey)).toBe(true);
    expect(bridgeX.verify(new X509Certificate(oldRoot.certPem).publicKey)).toBe(true);

    expect(validate(device.certPem, [issuing.certPem], [newRoot.certPem])).toMatchObject({ ok: true });
    expect(validate(device.certPem, [issuing.certPem], [oldRoot.certPem])).toMatchObject({
      ok: false,
      code: 'CHAIN_NO_PATH',
    });
    const viaOld = validate(device.certPem, [issuing.certPem, bridge], [oldRoot.certPem]);
    expect(viaOld).toMatchObject({
      ok: true,
      chain: [
        { subject: 'CN=d1' },
        { subject: 'CN=Acme Devices 2026' },
        { subject: 'CN=Acme Root 2026', issuer: 'CN=Acme Root 2020' },
        { subject: 'CN=Acme Root 2020' },
      ],
    });
  });
});
