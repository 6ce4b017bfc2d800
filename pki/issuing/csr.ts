import { constants, createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import { checkPublicKey, signatureScheme, type SignatureScheme } from '../chain/algorithms';
import {
  TAG,
  children,
  decodeBitString,
  decodeOid,
  encoded,
  expectTag,
  integerBytes,
  readRoot,
} from '../chain/der';
import { ChainError } from '../chain/errors';
import { formatName } from '../chain/names';
import { IssuingError } from './errors';

/*
 * PKCS#10 (RFC 2986) intake. A CSR contributes exactly one thing to a device certificate: its
 * public key, after proof of possession (the CSR's self-signature). Subject and requested
 * extensions are reported for audit and otherwise ignored; the certificate's contents come from
 * the registry.
 *
 * Key policy (CSR_REJECTED otherwise), by default EC P-256, EC P-384 and RSA 2048–8192:
 * - what device TLS stacks (mbedTLS, wolfSSL, ESP-IDF, AWS IoT SDKs) and brokers all support;
 * - EC P-521 and Ed25519 are opt-in via `allowedKeys`: valid for pki/chain, but Ed25519 client
 *   certificates are unsupported by many brokers and secure elements, and P-521 is rare on devices;
 * - RSA < 2048, P-192/P-224, explicit curve parameters, DSA and RSA-PSS-only keys are refused;
 *   RSA above 8192 bits is refused to bound the cost of checking an unauthenticated request.
 * Signatures with MD5/SHA-1 are refused too: the CSR is the device's proof of possession.
 */

export type CsrKeyType = 'EC P-256' | 'EC P-384' | 'EC P-521' | 'RSA' | 'Ed25519';

export interface CsrPolicy {
  /** Default: EC P-256, EC P-384, RSA. */
  allowedKeys?: readonly CsrKeyType[];
}

export interface CheckedCsr {
  /** DER SubjectPublicKeyInfo, for IssueRequest.publicKeySpkiDer. */
  publicKeySpkiDer: Uint8Array;
  keyType: CsrKeyType;
  /** RSA modulus bits, EC curve bits, 256 for Ed25519. */
  keyBits: number;
  /** The CSR subject as an RFC 4514-style string: for audit only, never for the certificate. */
  subject: string;
  /** Extension OIDs the CSR asked for (extensionRequest); all are ignored. */
  requestedExtensions: string[];
  /** Lowercase hex SHA-256 of the CSR DER: an idempotency key for "sign this CSR". */
  fingerprintSha256: string;
}

export const DEFAULT_ALLOWED_KEYS: readonly CsrKeyType[] = ['EC P-256', 'EC P-384', 'RSA'];
const MAX_CSR_CHARS = 64 * 1024;
const MAX_RSA_BITS = 8192;
const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const CURVES: Record<string, { type: CsrKeyType; bits: number }> = {
  prime256v1: { type: 'EC P-256', bits: 256 },
  secp384r1: { type: 'EC P-384', bits: 384 },
  secp521r1: { type: 'EC P-521', bits: 521 },
};
const PEM = /^-----BEGIN (NEW )?CERTIFICATE REQUEST-----([\s\S]*?)-----END \1?CERTIFICATE REQUEST-----$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

const invalid = (message: string): IssuingError => new IssuingError('CSR_INVALID', message);
const rejected = (message: string): IssuingError => new IssuingError('CSR_REJECTED', message);

/** DER of a PEM CSR (CERTIFICATE REQUEST or NEW CERTIFICATE REQUEST), or of bare base64 DER. */
function decodeCsr(input: string): Uint8Array {
  if (input.length > MAX_CSR_CHARS) throw invalid(`the CSR is larger than ${MAX_CSR_CHARS} characters`);
  const text = input.trim();
  let body = text;
  if (text.startsWith('-----BEGIN')) {
    const match = PEM.exec(text);
    if (!match) throw invalid('expected one PEM "CERTIFICATE REQUEST" block');
    body = match[2]!;
  }
  body = body.replace(/\s+/g, '');
  if (!BASE64.test(body)) throw invalid('the CSR is neither PEM nor base64 DER');
  return Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

interface RawCsr {
  info: Uint8Array;
  subject: Uint8Array;
  spki: Uint8Array;
  requestedExtensions: string[];
  signatureAlgorithm: Uint8Array;
  signature: Uint8Array;
}

function extensionRequestOids(values: Uint8Array[]): string[] {
  return values.flatMap((value) =>
    children(value, expectTag(readRoot(value), TAG.SEQUENCE, 'extensions')).map((ext) => {
      const [id] = children(value, expectTag(ext, TAG.SEQUENCE, 'extension'));
      return decodeOid(value, id!);
    }),
  );
}

/** The CertificationRequest structure; ChainError('CHAIN_MALFORMED') on any DER defect. */
function parseCsr(der: Uint8Array): RawCsr {
  const [infoTlv, algTlv, sigTlv, extra] = children(der, expectTag(readRoot(der), TAG.SEQUENCE, 'CSR'));
  if (!infoTlv || !algTlv || !sigTlv || extra) throw new ChainError('CHAIN_MALFORMED', 'CSR shape');
  const [version, subject, spki, attributes, more] = children(der, expectTag(infoTlv, TAG.SEQUENCE, 'info'));
  const v = integerBytes(der, expectTag(version, TAG.INTEGER, 'version'));
  if (v.length !== 1 || v[0] !== 0) throw new ChainError('CHAIN_MALFORMED', 'CSR version is not 1 (0)');
  if (!subject || !spki || more) throw new ChainError('CHAIN_MALFORMED', 'certificationRequestInfo shape');
  const requestedExtensions: string[] = [];
  // attributes [0] IMPLICIT SET OF Attribute; some encoders omit an empty set.
  for (const attr of attributes ? children(der, expectTag(attributes, 0xa0, 'attributes')) : []) {
    const [type, values] = children(der, expectTag(attr, TAG.SEQUENCE, 'attribute'));
    if (!type || !values) throw new ChainError('CHAIN_MALFORMED', 'attribute shape');
    if (decodeOid(der, type) !== EXTENSION_REQUEST) continue; // challengePassword etc.: not ours to read
    const items = children(der, expectTag(values, TAG.SET, 'attribute values')).map((t) => encoded(der, t));
    requestedExtensions.push(...extensionRequestOids(items));
  }
  const { bytes: signature, unused } = decodeBitString(der, sigTlv);
  if (unused !== 0) throw new ChainError('CHAIN_MALFORMED', 'signature has unused bits');
  return {
    info: encoded(der, infoTlv),
    subject: encoded(der, expectTag(subject, TAG.SEQUENCE, 'subject')),
    spki: encoded(der, expectTag(spki, TAG.SEQUENCE, 'subjectPKInfo')),
    requestedExtensions,
    signatureAlgorithm: encoded(der, expectTag(algTlv, TAG.SEQUENCE, 'signatureAlgorithm')),
    signature,
  };
}

function classifyKey(key: KeyObject): { keyType: CsrKeyType; keyBits: number } {
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (curve) return { keyType: curve.type, keyBits: curve.bits };
  }
  // node reports an id-RSASSA-PSS key as 'rsa-pss': only rsaEncryption keys are 'rsa'.
  if (type === 'rsa') return { keyType: 'RSA', keyBits: key.asymmetricKeyDetails?.modulusLength ?? 0 };
  if (type === 'ed25519') return { keyType: 'Ed25519', keyBits: 256 };
  throw rejected(`${type ?? 'unknown'} keys are not accepted`);
}

/** The CSR's public key, if both pki/chain's key policy and this intake's allow it. */
function acceptKey(
  spki: Uint8Array,
  policy: CsrPolicy,
): { key: KeyObject; keyType: CsrKeyType; keyBits: number } {
  const failure = checkPublicKey(spki);
  if (failure?.code === 'CHAIN_MALFORMED')
    throw invalid(`the CSR public key is malformed: ${failure.detail}`);
  if (failure) throw rejected(`the CSR public key is not acceptable: ${failure.detail}`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    throw invalid('the CSR public key cannot be decoded');
  }
  const { keyType, keyBits } = classifyKey(key);
  if (keyType === 'RSA' && keyBits > MAX_RSA_BITS)
    throw rejected(`RSA keys above ${MAX_RSA_BITS} bits are not accepted`);
  const allowed = policy.allowedKeys ?? DEFAULT_ALLOWED_KEYS;
  if (!allowed.includes(keyType))
    throw rejected(`${keyType} keys are not accepted (allowed: ${allowed.join(', ')})`);
  return { key, keyType, keyBits };
}

function schemeOf(signatureAlgorithm: Uint8Array): SignatureScheme {
  try {
    return signatureScheme(signatureAlgorithm);
  } catch (err) {
    if (!(err instanceof ChainError)) throw err;
    if (err.code === 'CHAIN_MALFORMED')
      throw invalid(`the CSR signature algorithm is malformed: ${err.detail}`);
    throw rejected(`the CSR signature algorithm is not accepted: ${err.detail}`);
  }
}

function verifies(scheme: SignatureScheme, key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  const type = key.asymmetricKeyType;
  try {
    switch (scheme.kind) {
      case 'ecdsa':
        return type === 'ec' && verify(scheme.hash, data, { key, dsaEncoding: 'der' }, signature);
      case 'rsa-pkcs1':
        return type === 'rsa' && verify(scheme.hash, data, key, signature);
      case 'rsa-pss':
        return (
          type === 'rsa' &&
          verify(
            scheme.hash,
            data,
            { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength },
            signature,
          )
        );
      case 'eddsa':
        return type === 'ed25519' && verify(null, data, key, signature);
    }
  } catch {
    return false;
  }
}

/**
 * Parses a CSR, applies the key policy and verifies its proof of possession. CSR_INVALID: not a
 * well-formed CSR or a signature that does not verify; CSR_REJECTED: well-formed but refused.
 * The policy is applied before the signature is checked, bounding the work an unauthenticated
 * request can cause.
 */
export function checkCsr(csrPem: string, policy: CsrPolicy = {}): CheckedCsr {
  const der = decodeCsr(csrPem);
  let raw: RawCsr;
  try {
    raw = parseCsr(der);
  } catch (err) {
    if (err instanceof ChainError) throw invalid(`the CSR is malformed: ${err.detail}`);
    throw err;
  }
  const { key, keyType, keyBits } = acceptKey(raw.spki, policy);
  const scheme = schemeOf(raw.signatureAlgorithm);
  if (!verifies(scheme, key, raw.info, raw.signature)) {
    throw invalid('the CSR signature does not verify with its public key (no proof of possession)');
  }
  return {
    publicKeySpkiDer: Uint8Array.from(raw.spki),
    keyType,
    keyBits,
    subject: formatName(raw.subject),
    requestedExtensions: raw.requestedExtensions,
    fingerprintSha256: createHash('sha256').update(der).digest('hex'),
  };
}
