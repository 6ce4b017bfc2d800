import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  X509Certificate,
} from 'node:crypto';
import { createIssuingCa, createSoftwareIssuer, type Issuer } from '../pki/issuing';
import { bitString, oid, sequence, set, smallInteger, utf8String } from '../pki/issuing/der-writer';
import { derToPem } from '../pki/issuing/pem';

/*
 * The simulated devices' key material. Initial certificates come from a manufacturer CA through
 * the platform's own DER-level issuer (thousands per second, so a 100,000-device fleet is
 * minted in seconds); rotation keys and CSRs are made the way firmware would, one at a time.
 * Private keys stay in memory: the simulator never writes or prints them.
 */

/** What a device presents on TLS: its key, its certificate and the intermediates above it. */
export interface Credentials {
  /** PKCS#8 PEM. */
  keyPem: string;
  certPem: string;
  /** Intermediate CA certificates sent after the device certificate ('' when issued by a root). */
  chainPem: string;
  /** Lowercase hex SHA-256 of the certificate DER, as the edge and the registry compute it. */
  fingerprintSha256: string;
}

export interface ManufacturerCa {
  certPem: string;
  /** PKCS#8 PEM. */
  keyPem: string;
}

const DAY_MS = 86_400_000;

/** A self-signed EC P-256 CA (pathLen 0) that signs the fleet's factory certificates. */
export async function createManufacturerCa(name: string, now = new Date()): Promise<ManufacturerCa> {
  const ca = await createIssuingCa({ name, validityDays: 3650, now });
  return { certPem: ca.certificatePem, keyPem: ca.privateKeyPem };
}

export function manufacturerIssuer(ca: ManufacturerCa): Issuer {
  return createSoftwareIssuer({ certificatePem: ca.certPem, privateKeyPem: ca.keyPem });
}

/**
 * A fresh P-256 key and a certificate for it with CN = `cn` (JITP takes the device name from the
 * CN), valid from an hour ago for `validityDays`.
 */
export async function issueCredentials(
  issuer: Issuer,
  cn: string,
  opts: { now?: Date; validityDays?: number } = {},
): Promise<Credentials> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const now = (opts.now ?? new Date()).getTime();
  const issued = await issuer.signDeviceCertificate({
    publicKeySpkiDer: publicKey.export({ type: 'spki', format: 'der' }),
    subjectCn: cn,
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + (opts.validityDays ?? 365) * DAY_MS),
  });
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certPem: issued.certificatePem,
    chainPem: issuer.chainPem,
    fingerprintSha256: issued.fingerprintSha256,
  };
}

/**
 * A fresh P-256 key and a PKCS#10 CSR signed with it (the proof of possession), assembled with
 * the platform's DER writer and signed by node:crypto: ~20x faster than a generic generator,
 * which matters when a 100,000-device benchmark rotates. The subject carries the device name
 * for readability only: the platform ignores it.
 */
export function generateKeyAndCsr(cn: string): { keyPem: string; csrPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const info = sequence(
    smallInteger(0),
    sequence(set(sequence(oid(COMMON_NAME), utf8String(cn)))),
    publicKey.export({ type: 'spki', format: 'der' }),
    Uint8Array.of(0xa0, 0x00), // attributes [0]: none
  );
  const signature = sign('sha256', info, { key: privateKey, dsaEncoding: 'der' });
  const csr = sequence(info, sequence(oid(ECDSA_WITH_SHA256)), bitString(signature));
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    csrPem: derToPem(csr, 'CERTIFICATE REQUEST'),
  };
}

const COMMON_NAME = '2.5.4.3';
const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

export function fingerprintOf(certPem: string): string {
  return createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex');
}

/** True when `certPem` certifies the public half of `keyPem`. */
export function certificateMatchesKey(certPem: string, keyPem: string): boolean {
  const spki = (pem: string | X509Certificate) =>
    (typeof pem === 'string' ? createPublicKey(createPrivateKey(pem)) : pem.publicKey).export({
      type: 'spki',
      format: 'der',
    });
  try {
    return spki(new X509Certificate(certPem)).equals(spki(keyPem));
  } catch {
    return false;
  }
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * Credentials from a rotation answer: the leaf, then the intermediates a TLS client sends after
 * it. Self-issued certificates (the root, or a self-signed issuing CA) are left out: the server
 * already trusts them, and TLS clients conventionally do not send the anchor.
 */
export function credentialsFromChain(keyPem: string, certificatePem: string, chainPem: string): Credentials {
  const leaf = new X509Certificate(certificatePem);
  const intermediates = (chainPem.match(PEM_BLOCK) ?? [])
    .map((pem) => new X509Certificate(pem))
    .filter((c) => !c.raw.equals(leaf.raw) && !c.checkIssued(c))
    .map((c) => c.toString());
  return {
    keyPem,
    certPem: leaf.toString(),
    chainPem: intermediates.join(''),
    fingerprintSha256: fingerprintOf(certificatePem),
  };
}

/** Proof of possession for CA registration: a certificate from `ca` whose CN is the registration code. */
export async function verificationCertificate(ca: ManufacturerCa, registrationCode: string): Promise<string> {
  const issued = await issueCredentials(manufacturerIssuer(ca), registrationCode, { validityDays: 1 });
  return issued.certPem;
}
