import { X509Certificate } from 'node:crypto';
import { CertflowError } from '../domain/errors';
import { x509 } from './crypto';

export interface CaFacts {
  subject: string;
  fingerprintSha256: string;
  serialHex: string;
  notBefore: string;
  notAfter: string;
  /** Canonical PEM (re-encoded from the DER), whatever the upload looked like. */
  pem: string;
}

const WEAK_HASHES = new Set(['MD2', 'MD5', 'SHA-1']);
const WEAK_CURVES = new Set(['prime192v1', 'secp192r1', 'secp224r1', 'P-192', 'P-224']);

function parse(pem: string, code: 'CA_MALFORMED' | 'CA_VERIFICATION_MALFORMED'): X509Certificate {
  const trimmed = pem.trim();
  if (!/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----$/.test(trimmed)) {
    throw new CertflowError(code, 'expected exactly one PEM "CERTIFICATE" block');
  }
  try {
    return new X509Certificate(trimmed);
  } catch (err) {
    throw new CertflowError(code, `not a valid X.509 certificate: ${(err as Error).message}`);
  }
}

/** The signature's hash algorithm name ("SHA-256"), via the ASN.1 algorithm identifier. */
function signatureHash(cert: x509.X509Certificate): string | undefined {
  const alg = cert.signatureAlgorithm as { hash?: { name?: string }; name?: string };
  return alg.hash?.name;
}

/**
 * The parts of the strict RFC 5280 profile that device chains are validated with and that a
 * registration can check up front: a CA that fails them would register fine and then refuse
 * every device it issued.
 */
function checkCaProfile(cert: x509.X509Certificate): void {
  if (cert.getExtension(x509.SubjectKeyIdentifierExtension) === null) {
    throw new CertflowError(
      'CA_PROFILE_VIOLATION',
      'the CA certificate has no subjectKeyIdentifier extension',
    );
  }
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (bc && !bc.critical) {
    throw new CertflowError(
      'CA_PROFILE_VIOLATION',
      'basicConstraints must be marked critical on a CA certificate',
    );
  }
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  if (ku && (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw new CertflowError('CA_PROFILE_VIOLATION', 'keyUsage does not include keyCertSign');
  }
}

/**
 * Checks a CA certificate for registration: a CA, inside its validity window, strong key and
 * signature. Each refusal has its own stable code.
 */
export function checkCaCertificate(pem: string, now: Date): { cert: X509Certificate; facts: CaFacts } {
  const cert = parse(pem, 'CA_MALFORMED');
  if (!cert.ca) throw new CertflowError('CA_NOT_A_CA', 'basicConstraints cA is not asserted');
  if (Date.parse(cert.validTo) <= now.getTime())
    throw new CertflowError('CA_EXPIRED', `expired on ${cert.validTo}`);
  if (Date.parse(cert.validFrom) > now.getTime()) {
    throw new CertflowError('CA_NOT_YET_VALID', `not valid before ${cert.validFrom}`);
  }
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  const type = key.asymmetricKeyType;
  if (type === 'dsa') throw new CertflowError('CA_WEAK_KEY', 'DSA keys are not accepted');
  if ((type === 'rsa' || type === 'rsa-pss') && (details.modulusLength ?? 0) < 2048) {
    throw new CertflowError(
      'CA_WEAK_KEY',
      `RSA key of ${details.modulusLength} bits; at least 2048 are required`,
    );
  }
  if (type === 'ec' && WEAK_CURVES.has(details.namedCurve ?? '')) {
    throw new CertflowError('CA_WEAK_KEY', `curve ${details.namedCurve} is too weak; use P-256 or stronger`);
  }
  const parsed = new x509.X509Certificate(cert.raw);
  const hash = signatureHash(parsed);
  if (hash && WEAK_HASHES.has(hash)) throw new CertflowError('CA_WEAK_SIGNATURE', `signed with ${hash}`);
  checkCaProfile(parsed);
  return {
    cert,
    facts: {
      subject: cert.subject.replace(/\n/g, ', '),
      fingerprintSha256: cert.fingerprint256.replace(/:/g, '').toLowerCase(),
      serialHex: cert.serialNumber.toLowerCase(),
      notBefore: new Date(cert.validFrom).toISOString(),
      notAfter: new Date(cert.validTo).toISOString(),
      pem: cert.toString(),
    },
  };
}

/**
 * Proof of possession: the verification certificate must be signed by the CA's key and carry
 * the tenant's registration code as its subject CN (as AWS IoT and Peridio do).
 */
export function checkVerificationCertificate(
  ca: X509Certificate,
  verificationPem: string,
  code: string,
): void {
  const verification = parse(verificationPem, 'CA_VERIFICATION_MALFORMED');
  if (!verification.verify(ca.publicKey)) {
    throw new CertflowError(
      'CA_VERIFICATION_NOT_SIGNED',
      'the verification certificate is not signed by the CA key',
    );
  }
  const cn = /^CN=(.*)$/m.exec(verification.subject)?.[1];
  if (cn !== code) {
    throw new CertflowError(
      'CA_VERIFICATION_CODE_MISMATCH',
      'the verification certificate CN must be the registration code',
    );
  }
}
