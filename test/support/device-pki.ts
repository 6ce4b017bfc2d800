import { createHash } from 'node:crypto';
import { type CryptoKey, webcrypto, x509 } from '../../pki/crypto';

/*
 * Device PKI for tests: CAs, device certificates, CA-registration proofs and cross-signed CAs,
 * as PEM strings (write them to files for mosquitto_pub, hand them to mqtt.js or node:tls).
 *
 * Validity is always explicit (default 2020-01-01 → 2040-01-01), never derived from the clock,
 * so a test decides what "now" means. Keys and serials are random; nothing else is.
 *
 * Every certificate meets the strict RFC 5280 profile of pki/chain: AKI on every certificate
 * that is not self-issued, SKI on every certificate, critical basicConstraints, critical
 * keyUsage, positive 16-byte serials. Only the options that ask for a defect (isCa: false,
 * RSA-1024, SHA-1, past dates) produce one.
 */

export type KeyAlg = 'P-256' | 'P-384' | 'RSA-2048' | 'RSA-1024';
export type SignatureHash = 'SHA-256' | 'SHA-1';

export const DEFAULT_NOT_BEFORE = new Date('2020-01-01T00:00:00Z');
export const DEFAULT_NOT_AFTER = new Date('2040-01-01T00:00:00Z');
export const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';
export const SERVER_AUTH_OID = '1.3.6.1.5.5.7.3.1';

interface KeyPair {
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}

export interface TestCa {
  certPem: string;
  /** PKCS#8 PEM. */
  keyPem: string;
  /** Subject DN as given to the generator, e.g. `CN=Acme Root CA,O=Acme`. */
  name: string;
  keyAlg: KeyAlg;
  /** The CA's own keys, to sign what it issues without re-importing keyPem. */
  keys: KeyPair;
}

export interface CaOptions {
  /** Subject DN string (`CN=…,O=…`). Give CAs that share a trust store distinct names. */
  name?: string;
  notBefore?: Date;
  notAfter?: Date;
  keyAlg?: KeyAlg;
  /** Hash of this certificate's signature (by its issuer, or itself for a root). Default SHA-256. */
  signatureHash?: SignatureHash;
  /** false: basicConstraints cA=false and no keyCertSign — an end-entity posing as a CA. Default true. */
  isCa?: boolean;
  /** basicConstraints pathLenConstraint; absent means unlimited. Ignored when isCa is false. */
  pathLen?: number;
}

export interface DeviceCertOptions {
  cn: string;
  o?: string;
  ou?: string;
  /** DNS names for subjectAltName; none → no SAN extension. */
  sans?: string[];
  notBefore?: Date;
  notAfter?: Date;
  /** Default clientAuth; 'none' omits the extension (which RFC 5280 reads as "any purpose"). */
  eku?: 'clientAuth' | 'serverAuth' | 'none';
  keyAlg?: KeyAlg;
}

export interface DeviceCert {
  certPem: string;
  /** PKCS#8 PEM, usable as node:tls `key` and mosquitto_pub `--key`. */
  keyPem: string;
  /** Lowercase hex SHA-256 of the DER, as pki/chain and the registry report it. */
  fingerprintSha256: string;
}

export async function createRootCa(opts: CaOptions = {}): Promise<TestCa> {
  const name = opts.name ?? 'CN=certflow test root CA';
  const keyAlg = opts.keyAlg ?? 'P-256';
  const keys = await generateKeys(keyAlg);
  const self = { keys, keyAlg };
  const cert = await sign(self, opts.signatureHash ?? 'SHA-256', {
    subject: name,
    issuer: name,
    publicKey: keys.publicKey,
    notBefore: opts.notBefore,
    notAfter: opts.notAfter,
    // Self-issued: RFC 5280 lets a root omit AKI, and the validator does not require it.
    extensions: [...caExtensions(opts), await ski(keys.publicKey)],
  });
  return { certPem: pem(cert), keyPem: await exportKeyPem(keys.privateKey), name, keyAlg, keys };
}

export async function createIntermediateCa(issuer: TestCa, opts: CaOptions = {}): Promise<TestCa> {
  const name = opts.name ?? 'CN=certflow test intermediate CA';
  const keyAlg = opts.keyAlg ?? 'P-256';
  const keys = await generateKeys(keyAlg);
  const cert = await sign(issuer, opts.signatureHash ?? 'SHA-256', {
    subject: name,
    issuer: subjectOf(issuer),
    publicKey: keys.publicKey,
    notBefore: opts.notBefore,
    notAfter: opts.notAfter,
    extensions: [...caExtensions(opts), await ski(keys.publicKey), await aki(issuer)],
  });
  return { certPem: pem(cert), keyPem: await exportKeyPem(keys.privateKey), name, keyAlg, keys };
}

export async function createDeviceCert(issuer: TestCa, opts: DeviceCertOptions): Promise<DeviceCert> {
  const keys = await generateKeys(opts.keyAlg ?? 'P-256');
  // ASN.1 order, most significant first: node prints it as O=…\nOU=…\nCN=….
  const subject: x509.JsonName = [];
  if (opts.o !== undefined) subject.push({ O: [opts.o] });
  if (opts.ou !== undefined) subject.push({ OU: [opts.ou] });
  subject.push({ CN: [opts.cn] });
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    await ski(keys.publicKey),
    await aki(issuer),
  ];
  const eku = opts.eku ?? 'clientAuth';
  if (eku !== 'none') extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage[eku]]));
  if (opts.sans?.length) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(opts.sans.map((value) => ({ type: 'dns', value }))),
    );
  }
  const cert = await sign(issuer, 'SHA-256', {
    subject,
    issuer: subjectOf(issuer),
    publicKey: keys.publicKey,
    notBefore: opts.notBefore,
    notAfter: opts.notAfter,
    extensions,
  });
  return {
    certPem: pem(cert),
    keyPem: await exportKeyPem(keys.privateKey),
    fingerprintSha256: createHash('sha256').update(Buffer.from(cert.rawData)).digest('hex'),
  };
}

/** Proof of possession for CA registration: an end-entity certificate from `ca` with subject CN=<code>. */
export async function createVerificationCert(ca: TestCa, registrationCode: string): Promise<string> {
  const keys = await generateKeys('P-256');
  const cert = await sign(ca, 'SHA-256', {
    subject: [{ CN: [registrationCode] }],
    issuer: subjectOf(ca),
    publicKey: keys.publicKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      await ski(keys.publicKey),
      await aki(ca),
    ],
  });
  return pem(cert);
}

/**
 * `subject`'s name and key (so everything it issued chains through either certificate) signed by
 * `issuer`: the bridge of a CA migration. Validity and pathLen are copied from subject's own certificate.
 */
export async function crossSignCa(subject: TestCa, issuer: TestCa): Promise<string> {
  const own = new x509.X509Certificate(subject.certPem);
  const pathLen = own.getExtension(x509.BasicConstraintsExtension)?.pathLength;
  const cert = await sign(issuer, 'SHA-256', {
    subject: own.subjectName,
    issuer: subjectOf(issuer),
    publicKey: subject.keys.publicKey,
    notBefore: own.notBefore,
    notAfter: own.notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(true, pathLen, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await ski(subject.keys.publicKey),
      await aki(issuer),
    ],
  });
  return pem(cert);
}

function caExtensions(opts: CaOptions): x509.Extension[] {
  if (opts.isCa === false) {
    // keyCertSign without cA would be rejected earlier as CHAIN_INVALID_EXTENSION; a plain
    // end-entity usage is what the non-CA-intermediate attack really looks like.
    return [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    ];
  }
  return [
    new x509.BasicConstraintsExtension(true, opts.pathLen, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ];
}

interface Tbs {
  subject: x509.X509CertificateCreateParamsName;
  issuer: x509.X509CertificateCreateParamsName;
  publicKey: CryptoKey;
  notBefore?: Date | undefined;
  notAfter?: Date | undefined;
  extensions: x509.Extension[];
}

async function sign(
  signer: Pick<TestCa, 'keys' | 'keyAlg'>,
  hash: SignatureHash,
  tbs: Tbs,
): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    ...tbs,
    serialNumber: randomSerial(),
    notBefore: tbs.notBefore ?? DEFAULT_NOT_BEFORE,
    notAfter: tbs.notAfter ?? DEFAULT_NOT_AFTER,
    signingAlgorithm: isRsa(signer.keyAlg) ? { name: RSA } : { name: 'ECDSA', hash },
    signingKey: await signingKey(signer, hash),
  });
}

const RSA = 'RSASSA-PKCS1-v1_5';

function isRsa(alg: KeyAlg): alg is 'RSA-2048' | 'RSA-1024' {
  return alg.startsWith('RSA-');
}

/**
 * WebCrypto binds an RSA key to one hash at import, and @peculiar/x509 lets the key's algorithm
 * override the requested one, so an RSA signer re-imports its key for any hash but SHA-256.
 */
async function signingKey(signer: Pick<TestCa, 'keys' | 'keyAlg'>, hash: SignatureHash): Promise<CryptoKey> {
  if (!isRsa(signer.keyAlg) || hash === 'SHA-256') return signer.keys.privateKey;
  const der = await webcrypto.subtle.exportKey('pkcs8', signer.keys.privateKey);
  return webcrypto.subtle.importKey('pkcs8', der, { name: RSA, hash }, false, ['sign']);
}

async function generateKeys(alg: KeyAlg): Promise<KeyPair> {
  const params = isRsa(alg)
    ? {
        name: RSA,
        modulusLength: alg === 'RSA-2048' ? 2048 : 1024,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      }
    : { name: 'ECDSA', namedCurve: alg };
  return webcrypto.subtle.generateKey(params, true, ['sign', 'verify']);
}

function subjectOf(ca: TestCa): x509.Name {
  // The issuer field must repeat the issuer's subject byte for byte; re-encoding ca.name might not.
  return new x509.X509Certificate(ca.certPem).subjectName;
}

function ski(publicKey: CryptoKey): Promise<x509.SubjectKeyIdentifierExtension> {
  return x509.SubjectKeyIdentifierExtension.create(publicKey);
}

function aki(issuer: TestCa): Promise<x509.AuthorityKeyIdentifierExtension> {
  // Same key-id derivation as ski(), so the child's AKI equals the issuer's SKI.
  return x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey);
}

/** PEM with a trailing newline, so PEMs concatenate into a valid bundle. */
function pem(cert: x509.X509Certificate): string {
  return `${cert.toString('pem').trimEnd()}\n`;
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return `${x509.PemConverter.encode(der, 'PRIVATE KEY').trimEnd()}\n`;
}

/** 16 random bytes, first byte in 0x40..0x7f: positive, and minimal DER (no leading zero byte). */
function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x3f) | 0x40;
  return Buffer.from(bytes).toString('hex');
}
