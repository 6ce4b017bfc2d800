import { checkPublicKey, signatureScheme } from './algorithms';
import { ChainError, type CheckFailure } from './errors';
import { KU, OID } from './extensions';
import type { ParsedCert } from './parse';

/** The policy after defaults are applied; `now` is whole epoch seconds. */
export interface ResolvedPolicy {
  readonly now: number;
  readonly skew: number;
  readonly requiredEku: readonly string[];
  readonly maxDepth: number;
  readonly maxWork: number;
  readonly endEntityOnly: boolean;
}

export type Role = 'leaf' | 'intermediate' | 'anchor';

function isCa(cert: ParsedCert): boolean {
  return cert.ext.basicConstraints?.ca === true;
}

/** keyUsage permits `bit`: the extension is absent (any use) or asserts it. */
export function kuAllows(cert: ParsedCert, bit: number): boolean {
  return cert.ext.keyUsage === undefined || kuAsserts(cert, bit);
}

function kuAsserts(cert: ParsedCert, bit: number): boolean {
  return cert.ext.keyUsage !== undefined && (cert.ext.keyUsage & (1 << bit)) !== 0;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** Field-level RFC 5280 profile rules (4.1.2.2, 4.1.2.3, 4.1.2.4, 4.1.2.6). */
function checkFields(cert: ParsedCert): CheckFailure {
  if (cert.version !== 3) return { code: 'CHAIN_NOT_V3', detail: `certificate is version ${cert.version}` };
  if (!bytesEqual(cert.signatureAlgorithm, cert.tbsSignatureAlgorithm)) {
    return { code: 'CHAIN_MALFORMED', detail: 'signatureAlgorithm differs from the TBS signature field' };
  }
  const serial = cert.serial;
  if (serial[0]! >= 0x80) return { code: 'CHAIN_MALFORMED', detail: 'negative serial number' };
  if (serial.length === 1 && serial[0] === 0)
    return { code: 'CHAIN_MALFORMED', detail: 'serial number is zero' };
  if (serial.length > 21 || (serial.length === 21 && serial[0] !== 0)) {
    return { code: 'CHAIN_MALFORMED', detail: 'serial number longer than 20 octets' };
  }
  if (cert.issuer.length <= 2) return { code: 'CHAIN_MALFORMED', detail: 'empty issuer name' };
  if (isCa(cert) && cert.subject.length <= 2)
    return { code: 'CHAIN_MALFORMED', detail: 'CA with an empty subject' };
  if (cert.subject.length <= 2 && !cert.extensions.some((e) => e.oid === OID.subjectAltName && e.critical)) {
    return { code: 'CHAIN_MALFORMED', detail: 'empty subject without a critical subjectAltName' };
  }
  return null;
}

/**
 * Extension rules of the RFC 5280 profile. The AKI rule is not applied to trust anchors: an
 * anchor is trusted by configuration, not by a signature that its AKI would help locate (and
 * limbo's cve-2024-0567 expects a non-self-issued anchor without AKI to be usable).
 */
function checkExtensions(cert: ParsedCert, role: Role): CheckFailure {
  const { ext } = cert;
  if (ext.problem) return ext.problem;
  if (!isCa(cert) && kuAsserts(cert, KU.keyCertSign)) {
    return { code: 'CHAIN_INVALID_EXTENSION', detail: 'keyCertSign asserted without basicConstraints cA' };
  }
  if (role !== 'anchor' && !cert.selfIssued && !ext.authorityKeyId?.keyId) {
    return { code: 'CHAIN_INVALID_EXTENSION', detail: 'authorityKeyIdentifier keyIdentifier missing' };
  }
  if (isCa(cert) && !ext.subjectKeyId) {
    return { code: 'CHAIN_INVALID_EXTENSION', detail: 'CA certificate without subjectKeyIdentifier' };
  }
  if (ext.nameConstraints) {
    const critical = cert.extensions.find((e) => e.oid === OID.nameConstraints)?.critical;
    if (!isCa(cert))
      return { code: 'CHAIN_INVALID_EXTENSION', detail: 'nameConstraints in a non-CA certificate' };
    if (!critical) return { code: 'CHAIN_INVALID_EXTENSION', detail: 'nameConstraints must be critical' };
  }
  return null;
}

export function checkValidity(cert: ParsedCert, policy: ResolvedPolicy): CheckFailure {
  if (policy.now + policy.skew < cert.notBefore) {
    return {
      code: 'CHAIN_NOT_YET_VALID',
      detail: `valid from ${new Date(cert.notBefore * 1000).toISOString()}`,
    };
  }
  if (policy.now - policy.skew > cert.notAfter) {
    return { code: 'CHAIN_EXPIRED', detail: `expired at ${new Date(cert.notAfter * 1000).toISOString()}` };
  }
  return null;
}

function checkEku(cert: ParsedCert, required: readonly string[]): CheckFailure {
  const eku = cert.ext.extKeyUsage;
  if (!eku || required.length === 0 || eku.includes(OID.anyExtendedKeyUsage)) return null;
  if (required.some((oid) => eku.includes(oid))) return null;
  return {
    code: 'CHAIN_EKU',
    detail: `extendedKeyUsage ${eku.join(',')} allows none of ${required.join(',')}`,
  };
}

/** Requirements on a certificate that signs another certificate in the path. */
function checkIssuerRole(cert: ParsedCert): CheckFailure {
  const bc = cert.ext.basicConstraints;
  if (!bc?.ca) return { code: 'CHAIN_NOT_CA', detail: 'issuer lacks basicConstraints cA' };
  if (!bc.critical) return { code: 'CHAIN_NOT_CA', detail: 'issuer basicConstraints is not critical' };
  if (!kuAllows(cert, KU.keyCertSign))
    return { code: 'CHAIN_KEY_USAGE', detail: 'issuer keyUsage lacks keyCertSign' };
  return null;
}

function checkOwnSignatureAlgorithm(cert: ParsedCert): CheckFailure {
  try {
    signatureScheme(cert.signatureAlgorithm);
    return null;
  } catch (err) {
    if (err instanceof ChainError) return { code: err.code, detail: err.detail };
    throw err;
  }
}

/**
 * Everything about one certificate that does not depend on the rest of the path. Trust anchors
 * are held to the same profile as intermediates (limbo expects an expired, non-CA or malformed
 * root to fail), except that their own signature algorithm is not judged: nobody verifies it.
 */
export function checkCertificate(cert: ParsedCert, role: Role, policy: ResolvedPolicy): CheckFailure {
  const failure =
    checkFields(cert) ??
    checkExtensions(cert, role) ??
    checkPublicKey(cert.spki) ??
    (role === 'anchor' ? null : checkOwnSignatureAlgorithm(cert)) ??
    checkValidity(cert, policy) ??
    (role === 'leaf' ? null : checkIssuerRole(cert)) ??
    checkEku(cert, policy.requiredEku);
  if (failure || role !== 'leaf') return failure;
  if (policy.endEntityOnly && isCa(cert))
    return { code: 'CHAIN_LEAF_IS_CA', detail: 'leaf asserts basicConstraints cA' };
  return null;
}
