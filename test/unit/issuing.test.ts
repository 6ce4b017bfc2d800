import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateChain } from '../../pki/chain';
import { type CryptoKey, webcrypto, x509 } from '../../pki/crypto';
import {
  checkCsr,
  checkImportedCa,
  createIssuingCa,
  createSoftwareIssuer,
  decryptPrivateKey,
  encryptPrivateKey,
  type Issuer,
  parseKek,
} from '../../pki/issuing';
import { CLIENT_AUTH_OID, createIntermediateCa, createRootCa, type KeyAlg } from '../support/device-pki';

const NOW = new Date('2030-06-01T00:00:00Z');
const KEK_HEX = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const OTHER_KEK_HEX = 'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100';
const DEVICE_POLICY = { requiredEku: [CLIENT_AUTH_OID], endEntityOnly: true };

/** The error `fn` throws (sync or async), for asserting its stable `code`. */
async function thrown(fn: () => unknown): Promise<Error & { code?: string }> {
  try {
    await fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a failure');
}

type CsrKey = KeyAlg | 'P-192' | 'Ed25519';

async function keyPair(alg: CsrKey): Promise<{ publicKey: CryptoKey; privateKey: CryptoKey }> {
  if (alg === 'Ed25519') {
    return (await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as {
      publicKey: CryptoKey;
      privateKey: CryptoKey;
    };
  }
  if (alg.startsWith('RSA-')) {
    return webcrypto.subtle.generateKey(
      {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: Number(alg.slice(4)),
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      },
      true,
      ['sign', 'verify'],
    );
  }
  return webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: alg }, true, ['sign', 'verify']);
}

function signingAlgorithm(alg: CsrKey, hash = 'SHA-256') {
  if (alg === 'Ed25519') return { name: 'Ed25519' };
  return alg.startsWith('RSA-') ? { name: 'RSASSA-PKCS1-v1_5' } : { name: 'ECDSA', hash };
}

async function makeCsr(
  alg: CsrKey = 'P-256',
  opts: { cn?: string; hash?: string; extensions?: x509.Extension[] } = {},
) {
  const keys = await keyPair(alg);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${opts.cn ?? 'from-csr'}`,
    keys,
    signingAlgorithm: signingAlgorithm(alg, opts.hash),
    extensions: opts.extensions ?? [],
  });
  const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', keys.publicKey));
  return { pem: csr.toString('pem'), der: new Uint8Array(csr.rawData), spki };
}

function validity(days: number) {
  return { notBefore: NOW, notAfter: new Date(NOW.getTime() + days * 86_400_000) };
}

describe('key envelope', () => {
  const pem =
    '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';

  it('round-trips a private key and never stores it in clear', () => {
    const kek = parseKek(KEK_HEX);
    const envelope = encryptPrivateKey(pem, kek);
    expect(envelope).toMatch(new RegExp(`^v1:${kek.id}:[^:]+:[^:]+:[^:]+$`));
    expect(envelope).not.toContain('PRIVATE KEY');
    expect(encryptPrivateKey(pem, kek)).not.toBe(envelope); // fresh IV each time
    expect(decryptPrivateKey(envelope, kek)).toBe(pem);
  });

  it('reads the same KEK from hex, base64 and base64url', () => {
    const bytes = Buffer.from(KEK_HEX, 'hex');
    const ids = [KEK_HEX, bytes.toString('base64'), bytes.toString('base64url'), ` ${KEK_HEX}\n`].map(
      (text) => parseKek(text).id,
    );
    expect(new Set(ids).size).toBe(1);
    expect(ids[0]).toMatch(/^[0-9a-f]{16}$/);
  });

  it('names a wrong KEK by id before decrypting, and accepts old and new KEKs during a rotation', async () => {
    const [kek, other] = [parseKek(KEK_HEX), parseKek(OTHER_KEK_HEX)];
    const envelope = encryptPrivateKey(pem, kek);
    const err = await thrown(() => decryptPrivateKey(envelope, other));
    expect(err.code).toBe('ISSUING_KEY_UNAVAILABLE');
    expect(err.message).toContain(kek.id);
    expect(err.message).toContain(other.id);
    expect(decryptPrivateKey(envelope, [other, kek])).toBe(pem);
  });

  it('detects a tampered ciphertext, tag or header', async () => {
    const kek = parseKek(KEK_HEX);
    const [version, id, iv, tag, ciphertext] = encryptPrivateKey(pem, kek).split(':') as [
      string,
      string,
      string,
      string,
      string,
    ];
    const flip = (b64: string) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[0] = bytes[0]! ^ 1;
      return bytes.toString('base64');
    };
    const tampered = [
      [version, id, iv, tag, flip(ciphertext)],
      [version, id, iv, flip(tag), ciphertext],
      [version, id, flip(iv), tag, ciphertext],
      ['v2', id, iv, tag, ciphertext],
    ];
    for (const parts of tampered) {
      const err = await thrown(() => decryptPrivateKey(parts.join(':'), kek));
      expect(err.code).toBe('ISSUING_KEY_UNAVAILABLE');
      expect(err.message).not.toContain('PRIVATE KEY');
    }
    expect(
      (await thrown(() => decryptPrivateKey(`v1:${id}:${iv}:${tag}:${flip(ciphertext)}`, kek))).message,
    ).toMatch(/altered or corrupted/);
  });

  it('refuses malformed KEKs with a reason and without echoing them', async () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['   ', /empty/],
      ['not a key, clearly!', /neither/],
      [KEK_HEX.slice(0, 32), /decodes to 24 bytes/],
      [Buffer.alloc(16, 7).toString('base64'), /decodes to 16 bytes/],
      [Buffer.alloc(48, 7).toString('base64'), /decodes to 48 bytes/],
    ];
    for (const [text, reason] of cases) {
      const err = await thrown(() => parseKek(text));
      expect(err.code).toBe('KEK_INVALID');
      expect(err.message).toMatch(reason);
      if (text.trim()) expect(err.message).not.toContain(text);
    }
  });

  it('prints a KEK as its id only', () => {
    const kek = parseKek(KEK_HEX);
    for (const shown of [JSON.stringify({ kek }), inspect({ kek }), String(kek)]) {
      expect(shown).toContain(kek.id);
      expect(shown).not.toContain(KEK_HEX.slice(0, 12));
      expect(shown).not.toContain(Buffer.from(KEK_HEX, 'hex').toString('base64').slice(0, 12));
    }
  });
});

describe('checkCsr', () => {
  it.each([
    ['P-256', 'EC P-256', 256],
    ['P-384', 'EC P-384', 384],
    ['RSA-2048', 'RSA', 2048],
  ] as const)('accepts a %s CSR and returns its key', async (alg, keyType, keyBits) => {
    const csr = await makeCsr(alg, { cn: 'sensor-7' });
    const checked = checkCsr(csr.pem);
    expect(checked).toMatchObject({ keyType, keyBits, subject: 'CN=sensor-7', requestedExtensions: [] });
    expect(Buffer.from(checked.publicKeySpkiDer).equals(csr.spki)).toBe(true);
    expect(checked.fingerprintSha256).toBe(createHash('sha256').update(csr.der).digest('hex'));
  });

  it('accepts bare base64 DER, with or without line breaks, as some firmware sends it', async () => {
    const csr = await makeCsr();
    const b64 = Buffer.from(csr.der).toString('base64');
    expect(checkCsr(b64).keyType).toBe('EC P-256');
    expect(checkCsr(b64.replace(/(.{64})/g, '$1\r\n')).keyType).toBe('EC P-256');
  });

  it('notes requested extensions (even cA) and otherwise ignores them', async () => {
    const csr = await makeCsr('P-256', {
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
      ],
    });
    expect(checkCsr(csr.pem).requestedExtensions).toEqual(['2.5.29.19', '2.5.29.15']);
  });

  it('refuses a CSR whose signature does not verify (no proof of possession) as CSR_INVALID', async () => {
    const csr = await makeCsr();
    const badSignature = Buffer.from(csr.der);
    badSignature[badSignature.length - 2] = badSignature[badSignature.length - 2]! ^ 0x01;
    const otherSubject = Buffer.from(csr.der);
    const at = otherSubject.indexOf(Buffer.from('from-csr'));
    otherSubject[at] = 'F'.charCodeAt(0);
    for (const der of [badSignature, otherSubject]) {
      const err = await thrown(() => checkCsr(der.toString('base64')));
      expect(err.code).toBe('CSR_INVALID');
    }
    expect((await thrown(() => checkCsr(otherSubject.toString('base64')))).message).toMatch(
      /proof of possession/,
    );
  });

  it.each([
    ['RSA-1024', {}, /RSA key of 1024 bits/],
    ['P-256', { hash: 'SHA-1' }, /signature algorithm/],
    ['Ed25519', {}, /Ed25519 keys are not accepted/],
  ] as const)('refuses a well-formed %s CSR by policy as CSR_REJECTED', async (alg, opts, reason) => {
    const err = await thrown(async () => checkCsr((await makeCsr(alg, opts)).pem));
    expect(err.code).toBe('CSR_REJECTED');
    expect(err.message).toMatch(reason);
  });

  it('lets a policy opt in to Ed25519 or narrow the allowed keys', async () => {
    expect(checkCsr((await makeCsr('Ed25519')).pem, { allowedKeys: ['Ed25519'] }).keyType).toBe('Ed25519');
    const err = await thrown(async () =>
      checkCsr((await makeCsr('RSA-2048')).pem, { allowedKeys: ['EC P-256'] }),
    );
    expect(err.code).toBe('CSR_REJECTED');
  });

  it('refuses garbage, certificates and oversized input as CSR_INVALID', async () => {
    const root = await createRootCa();
    const inputs = [
      '',
      'hello world',
      'aGVsbG8gd29ybGQ=',
      root.certPem,
      '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----',
      'A'.repeat(70_000),
    ];
    for (const input of inputs) expect((await thrown(() => checkCsr(input))).code).toBe('CSR_INVALID');
  });
});

describe('software issuer', () => {
  let ca: { certificatePem: string; privateKeyPem: string };
  let issuer: Issuer;
  beforeAll(async () => {
    ca = await createIssuingCa({ name: 'Acme Devices CA', validityDays: 365, now: NOW });
    issuer = createSoftwareIssuer({ ...ca, chainPem: '' });
  });

  it('issues a certificate that validates up to the issuing CA as a clientAuth leaf', async () => {
    const csr = checkCsr((await makeCsr('P-256', { cn: 'from-csr' })).pem);
    const issued = await issuer.signDeviceCertificate({
      publicKeySpkiDer: csr.publicKeySpkiDer,
      subjectCn: 'device-42',
      sans: ['Device-42.acme.example', 'spiffe://acme.example/device/42'],
      ...validity(90),
    });
    const result = validateChain({
      leaf: issued.certificatePem,
      trustAnchors: [issuer.certificatePem],
      now: NOW,
      policy: DEVICE_POLICY,
    });
    expect(result).toMatchObject({ ok: true, chain: [{ subject: 'CN=device-42' }, {}] });

    const cert = new x509.X509Certificate(issued.certificatePem);
    const caCert = new x509.X509Certificate(issuer.certificatePem);
    expect(cert.subject).toBe('CN=device-42');
    expect(cert.getExtension(x509.BasicConstraintsExtension)).toMatchObject({ ca: false, critical: true });
    expect(cert.getExtension(x509.KeyUsagesExtension)).toMatchObject({
      usages: x509.KeyUsageFlags.digitalSignature,
      critical: true,
    });
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([CLIENT_AUTH_OID]);
    expect(cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(
      caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
    );
    const ski = await x509.SubjectKeyIdentifierExtension.create(cert.publicKey);
    expect(cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId).toBe(ski.keyId);
    expect(cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON()).toEqual([
      { type: 'dns', value: 'device-42.acme.example' },
      { type: 'url', value: 'spiffe://acme.example/device/42' },
    ]);
    expect(issued.serialHex).toMatch(/^[4-7][0-9a-f]{31}$/);
    expect(cert.serialNumber).toBe(issued.serialHex);
    expect(issued).toMatchObject({
      notBefore: '2030-06-01T00:00:00.000Z',
      notAfter: '2030-08-30T00:00:00.000Z',
    });

    const node = new X509Certificate(issued.certificatePem);
    expect(node.verify(new X509Certificate(issuer.certificatePem).publicKey)).toBe(true);
    expect(node.fingerprint256.replace(/:/g, '').toLowerCase()).toBe(issued.fingerprintSha256);
  });

  it('clamps notAfter (and notBefore) to the issuing CA', async () => {
    const caCert = new x509.X509Certificate(ca.certificatePem);
    const csr = checkCsr((await makeCsr()).pem);
    const issued = await issuer.signDeviceCertificate({
      publicKeySpkiDer: csr.publicKeySpkiDer,
      subjectCn: 'long-lived',
      notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2040-01-01T00:00:00Z'),
    });
    expect(issued.notAfter).toBe(caCert.notAfter.toISOString());
    expect(issued.notBefore).toBe(caCert.notBefore.toISOString());
    expect(
      validateChain({
        leaf: issued.certificatePem,
        trustAnchors: [ca.certificatePem],
        now: NOW,
        policy: DEVICE_POLICY,
      }).ok,
    ).toBe(true);
  });

  it('writes GeneralizedTime from 2050 on (RFC 5280 4.1.2.5)', async () => {
    const longCa = await createIssuingCa({ name: 'Long CA', validityDays: 36_500, now: NOW });
    const { publicKeySpkiDer } = checkCsr((await makeCsr()).pem);
    const issued = await createSoftwareIssuer(longCa).signDeviceCertificate({
      publicKeySpkiDer,
      subjectCn: 'far-future',
      notBefore: NOW,
      notAfter: new Date('2055-01-01T00:00:00Z'),
    });
    expect(new x509.X509Certificate(issued.certificatePem).notAfter.toISOString()).toBe(
      '2055-01-01T00:00:00.000Z',
    );
    const later = new Date('2054-01-01T00:00:00Z');
    expect(
      validateChain({
        leaf: issued.certificatePem,
        trustAnchors: [longCa.certificatePem],
        now: later,
        policy: DEVICE_POLICY,
      }).ok,
    ).toBe(true);
  });

  it('uses a given serial and refuses malformed requests', async () => {
    const { publicKeySpkiDer } = checkCsr((await makeCsr()).pem);
    const base = { publicKeySpkiDer, subjectCn: 'd', ...validity(30) };
    expect((await issuer.signDeviceCertificate({ ...base, serialHex: '00ff01' })).serialHex).toBe('00ff01');
    const bad = [
      { subjectCn: '' },
      { subjectCn: 'x'.repeat(65) },
      { subjectCn: 'tab\there' },
      { sans: ['*.acme.example'] },
      { sans: ['192.0.2.1'] },
      { sans: ['has space.example'] },
      { serialHex: '80' },
      { serialHex: '0001' },
      { serialHex: 'zz' },
      { notAfter: NOW },
      { publicKeySpkiDer: Uint8Array.of(1, 2, 3) },
    ];
    for (const change of bad) {
      const err = await thrown(() => issuer.signDeviceCertificate({ ...base, ...change }));
      expect(err.code, JSON.stringify(change)).toBe('VALIDATION_FAILED');
    }
  });

  it('refuses to issue once the CA has expired', async () => {
    const { publicKeySpkiDer } = checkCsr((await makeCsr()).pem);
    const later = new Date('2032-01-01T00:00:00Z');
    const err = await thrown(() =>
      issuer.signDeviceCertificate({
        publicKeySpkiDer,
        subjectCn: 'late',
        notBefore: later,
        notAfter: new Date('2033-01-01'),
      }),
    );
    expect(err.code).toBe('CA_EXPIRED');
  });

  it.each(['P-384', 'RSA-2048'] as const)(
    'signs with an imported %s intermediate whose chain leads to a root',
    async (keyAlg) => {
      const root = await createRootCa({ name: 'CN=Acme Root' });
      const intermediate = await createIntermediateCa(root, { name: 'CN=Acme Issuing', pathLen: 0, keyAlg });
      const imported = checkImportedCa({
        certificatePem: intermediate.certPem,
        privateKeyPem: intermediate.keyPem,
        chainPem: root.certPem,
        now: NOW,
      });
      const signer = createSoftwareIssuer(imported);
      const { publicKeySpkiDer } = checkCsr((await makeCsr('RSA-2048')).pem);
      const issued = await signer.signDeviceCertificate({
        publicKeySpkiDer,
        subjectCn: 'rsa-device',
        ...validity(30),
      });
      const result = validateChain({
        leaf: issued.certificatePem,
        intermediates: [signer.certificatePem],
        trustAnchors: [signer.chainPem],
        now: NOW,
        policy: DEVICE_POLICY,
      });
      expect(result).toMatchObject({
        ok: true,
        chain: [{}, { subject: 'CN=Acme Issuing' }, { subject: 'CN=Acme Root' }],
      });
    },
  );

  it('issues distinct serials and fingerprints at volume', async () => {
    const { publicKeySpkiDer } = checkCsr((await makeCsr()).pem);
    const issued = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        issuer.signDeviceCertificate({ publicKeySpkiDer, subjectCn: `device-${i}`, ...validity(30) }),
      ),
    );
    expect(new Set(issued.map((c) => c.serialHex)).size).toBe(200);
    expect(new Set(issued.map((c) => c.fingerprintSha256)).size).toBe(200);
  });
});

describe('issuing CAs', () => {
  it('creates a self-signed P-256 CA with pathLen 0 that passes the import checks', async () => {
    const ca = await createIssuingCa({ name: 'Acme Devices CA', validityDays: 3650, now: NOW });
    const cert = new x509.X509Certificate(ca.certificatePem);
    expect(cert.subject).toBe('CN=Acme Devices CA');
    expect(cert.getExtension(x509.BasicConstraintsExtension)).toMatchObject({
      ca: true,
      pathLength: 0,
      critical: true,
    });
    expect(cert.getExtension(x509.KeyUsagesExtension)?.usages).toBe(
      x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
    );
    expect(cert.notBefore.toISOString()).toBe('2030-05-31T23:00:00.000Z');
    expect(cert.notAfter.toISOString()).toBe('2040-05-29T00:00:00.000Z');
    expect(createPrivateKey(ca.privateKeyPem).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const imported = checkImportedCa({ ...ca, now: NOW });
    expect(imported).toMatchObject({
      subject: 'CN=Acme Devices CA',
      chainPem: '',
      privateKeyPem: ca.privateKeyPem,
    });
  });

  it('refuses bad names and validity', async () => {
    for (const opts of [
      { name: '', validityDays: 1 },
      { name: 'ok', validityDays: 0 },
      { name: 'ok', validityDays: 1.5 },
    ]) {
      expect((await thrown(() => createIssuingCa({ ...opts, now: NOW }))).code).toBe('VALIDATION_FAILED');
    }
  });

  it('refuses an import whose key is not the certificate’s', async () => {
    const [a, b] = await Promise.all([createRootCa({ name: 'CN=A' }), createRootCa({ name: 'CN=B' })]);
    const err = await thrown(() =>
      checkImportedCa({ certificatePem: a.certPem, privateKeyPem: b.keyPem, now: NOW }),
    );
    expect(err.code).toBe('ISSUING_CA_INVALID');
    expect(err.message).toMatch(/does not match/);
    expect(
      (await thrown(() => createSoftwareIssuer({ certificatePem: a.certPem, privateKeyPem: b.keyPem }))).code,
    ).toBe('ISSUING_CA_INVALID');
  });

  it('refuses an unreadable key without echoing it', async () => {
    const a = await createRootCa();
    const privateKeyPem = a.keyPem.replace(/[A-Za-z]{8}/, 'AAAAAAAA');
    const err = await thrown(() => checkImportedCa({ certificatePem: a.certPem, privateKeyPem, now: NOW }));
    expect(err.code).toBe('ISSUING_CA_INVALID');
    expect(err.message).not.toMatch(/MII|AAAAAAAA/);
  });

  it('accepts a SEC1 key and stores it as PKCS#8', async () => {
    const a = await createRootCa();
    const sec1 = createPrivateKey(a.keyPem).export({ type: 'sec1', format: 'pem' }).toString();
    const imported = checkImportedCa({ certificatePem: a.certPem, privateKeyPem: sec1, now: NOW });
    expect(imported.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('refuses non-CAs, expired CAs, weak keys and a chain the CA does not chain to', async () => {
    const notCa = await createRootCa({ isCa: false });
    const expired = await createRootCa({ notAfter: new Date('2029-01-01T00:00:00Z') });
    const weak = await createRootCa({ keyAlg: 'RSA-1024' });
    const [root, stranger] = await Promise.all([
      createRootCa({ name: 'CN=R' }),
      createRootCa({ name: 'CN=S' }),
    ]);
    const intermediate = await createIntermediateCa(root, { name: 'CN=I', pathLen: 0 });
    const cases: [Parameters<typeof checkImportedCa>[0], string][] = [
      [{ certificatePem: notCa.certPem, privateKeyPem: notCa.keyPem, now: NOW }, 'CA_NOT_A_CA'],
      [{ certificatePem: expired.certPem, privateKeyPem: expired.keyPem, now: NOW }, 'CA_EXPIRED'],
      [{ certificatePem: weak.certPem, privateKeyPem: weak.keyPem, now: NOW }, 'CA_WEAK_KEY'],
      [
        {
          certificatePem: intermediate.certPem,
          privateKeyPem: intermediate.keyPem,
          chainPem: stranger.certPem,
          now: NOW,
        },
        'ISSUING_CA_INVALID',
      ],
      [{ certificatePem: 'not a certificate', privateKeyPem: root.keyPem, now: NOW }, 'CA_MALFORMED'],
    ];
    for (const [input, code] of cases) expect((await thrown(() => checkImportedCa(input))).code).toBe(code);
  });
});
