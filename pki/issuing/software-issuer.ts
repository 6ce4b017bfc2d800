import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { parseCaCertificate } from './ca-certificate';
import { nullValue, oid, sequence } from './der-writer';
import { IssuingError } from './errors';
import { createIssuer, type Issuer, type Signer } from './issuer';

/*
 * The software signer: the CA key, decrypted, as a node:crypto KeyObject in this process.
 * Signing is synchronous OpenSSL (~30k ECDSA P-256 signatures/s per core); only the key's own
 * hash is used, so signatures are as strong as the key.
 */

const ECDSA: Record<string, { hash: string; oid: string }> = {
  prime256v1: { hash: 'sha256', oid: '1.2.840.10045.4.3.2' },
  secp384r1: { hash: 'sha384', oid: '1.2.840.10045.4.3.3' },
  secp521r1: { hash: 'sha512', oid: '1.2.840.10045.4.3.4' },
};
const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';

/** Imports a PEM private key (PKCS#8, or SEC1 / PKCS#1 for imports); never reveals the input in errors. */
export function importPrivateKey(privateKeyPem: string): KeyObject {
  try {
    return createPrivateKey({ key: privateKeyPem, format: 'pem' });
  } catch {
    throw new IssuingError(
      'ISSUING_CA_INVALID',
      'the private key is not an unencrypted PEM private key (PKCS#8, SEC1 or PKCS#1)',
    );
  }
}

/** PKCS#8 PEM, the one form we store. */
export function exportPrivateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** The hash and AlgorithmIdentifier a CA key signs with: ECDSA with its curve's hash, or RSA PKCS#1 v1.5 SHA-256. */
function schemeFor(key: KeyObject): { hash: string; algorithm: Uint8Array } {
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
    const scheme = ECDSA[curve];
    if (scheme) return { hash: scheme.hash, algorithm: sequence(oid(scheme.oid)) };
    throw new IssuingError(
      'ISSUING_CA_INVALID',
      `EC curve ${curve || '(unnamed)'} is not supported for issuing`,
    );
  }
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048)
      throw new IssuingError('ISSUING_CA_INVALID', `RSA key of ${bits} bits; at least 2048 are required`);
    return { hash: 'sha256', algorithm: sequence(oid(SHA256_WITH_RSA), nullValue()) };
  }
  throw new IssuingError(
    'ISSUING_CA_INVALID',
    `${type ?? 'unknown'} keys are not supported for issuing (use EC or RSA)`,
  );
}

/** A Signer over a node:crypto private key. */
export function softwareSigner(key: KeyObject): Signer {
  const { hash, algorithm } = schemeFor(key);
  return {
    signatureAlgorithm: algorithm,
    sign: (data) => Promise.resolve(sign(hash, data, { key, dsaEncoding: 'der' })),
  };
}

/**
 * Proves `key` is the private half of `spki` by signing and verifying a probe: robust to how
 * either side encodes the public key (compressed points, parameters).
 */
export function keyMatchesPublicKey(key: KeyObject, spki: Uint8Array): boolean {
  const { hash } = schemeFor(key);
  const probe = Buffer.from('certflow issuing CA key check');
  try {
    const publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    return verify(
      hash,
      probe,
      { key: publicKey, dsaEncoding: 'der' },
      sign(hash, probe, { key, dsaEncoding: 'der' }),
    );
  } catch {
    return false;
  }
}

/**
 * An Issuer holding the CA key in memory. Refuses a key that is not the certificate's: a
 * mix-up would otherwise surface only as devices whose chains never validate.
 */
export function createSoftwareIssuer(ca: {
  certificatePem: string;
  chainPem?: string;
  privateKeyPem: string;
}): Issuer {
  const cert = parseCaCertificate(ca.certificatePem);
  const key = importPrivateKey(ca.privateKeyPem);
  if (!keyMatchesPublicKey(key, cert.spki)) {
    throw new IssuingError('ISSUING_CA_INVALID', 'the private key does not match the CA certificate');
  }
  return createIssuer(ca, softwareSigner(key));
}
