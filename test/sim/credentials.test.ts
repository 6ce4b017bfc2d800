import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { x509 } from '../../pki/crypto';
import { checkCsr } from '../../pki/issuing';
import {
  certificateMatchesKey,
  createManufacturerCa,
  credentialsFromChain,
  fingerprintOf,
  generateKeyAndCsr,
  issueCredentials,
  manufacturerIssuer,
  verificationCertificate,
} from '../../sim/credentials';

const spkiOfKey = (keyPem: string) =>
  createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });

describe('simulator credentials', () => {
  it('makes a CSR that verifies, for the key it stores, accepted by the platform CSR checks', async () => {
    const { keyPem, csrPem } = generateKeyAndCsr('sim-0001');
    const csr = new x509.Pkcs10CertificateRequest(csrPem);
    expect(await csr.verify()).toBe(true);
    expect(Buffer.from(csr.publicKey.rawData).equals(spkiOfKey(keyPem))).toBe(true);
    const checked = checkCsr(csrPem);
    expect(checked.keyType).toBe('EC P-256');
    expect(Buffer.from(checked.publicKeySpkiDer).equals(spkiOfKey(keyPem))).toBe(true);
    expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(csr.subject).toBe('CN=sim-0001');
  });

  it('makes a fresh key for every CSR', () => {
    const a = generateKeyAndCsr('sim-0001');
    const b = generateKeyAndCsr('sim-0001');
    expect(a.keyPem).not.toBe(b.keyPem);
  });

  it('issues factory certificates with CN = device name, chained to the manufacturer CA', async () => {
    const ca = await createManufacturerCa('sim test manufacturer CA', new Date());
    const creds = await issueCredentials(manufacturerIssuer(ca), 'sim-0042', { validityDays: 30 });
    const cert = new X509Certificate(creds.certPem);
    expect(cert.subject).toBe('CN=sim-0042');
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(certificateMatchesKey(creds.certPem, creds.keyPem)).toBe(true);
    expect(creds.fingerprintSha256).toBe(fingerprintOf(creds.certPem));
    expect(creds.fingerprintSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(creds.chainPem).toBe('');
    const other = await issueCredentials(manufacturerIssuer(ca), 'sim-0043');
    expect(certificateMatchesKey(creds.certPem, other.keyPem)).toBe(false);
  });

  it('signs the CA-registration proof with the registration code as CN', async () => {
    const ca = await createManufacturerCa('sim test manufacturer CA');
    const proof = new X509Certificate(await verificationCertificate(ca, 'a1b2c3d4e5f6'));
    expect(proof.subject).toBe('CN=a1b2c3d4e5f6');
    expect(proof.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
  });

  it('keeps the leaf and intermediates of a rotation answer, dropping the self-signed anchor', async () => {
    const root = await createManufacturerCa('sim test issuing CA');
    const creds = await issueCredentials(manufacturerIssuer(root), 'sim-0001');
    const fromAnswer = credentialsFromChain(creds.keyPem, creds.certPem, creds.certPem + root.certPem);
    expect(fromAnswer.fingerprintSha256).toBe(creds.fingerprintSha256);
    expect(fromAnswer.chainPem).toBe('');
    expect(new X509Certificate(fromAnswer.certPem).raw.equals(new X509Certificate(creds.certPem).raw)).toBe(
      true,
    );
  });
});
