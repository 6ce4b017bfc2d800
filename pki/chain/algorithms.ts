import {
  TAG,
  children,
  decodeBitString,
  decodeOid,
  expectTag,
  integerBytes,
  readRoot,
  smallUint,
  type Tlv,
} from './der';
import { ChainError, type CheckFailure } from './errors';

export type HashName = 'sha256' | 'sha384' | 'sha512';

/** How to verify one signature with node:crypto. */
export type SignatureScheme =
  | { kind: 'rsa-pkcs1' | 'ecdsa'; hash: HashName }
  | { kind: 'rsa-pss'; hash: HashName; saltLength: number }
  | { kind: 'eddsa' };

const SIGNATURES: Record<string, SignatureScheme> = {
  '1.2.840.113549.1.1.11': { kind: 'rsa-pkcs1', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { kind: 'rsa-pkcs1', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { kind: 'rsa-pkcs1', hash: 'sha512' },
  '1.2.840.10045.4.3.2': { kind: 'ecdsa', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { kind: 'ecdsa', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { kind: 'ecdsa', hash: 'sha512' },
  '1.3.101.112': { kind: 'eddsa' },
  '1.3.101.113': { kind: 'eddsa' },
};

/** Known but forbidden by policy: MD2/MD5/SHA-1 digests, SHA-224, and DSA. */
const WEAK_SIGNATURES = new Set([
  '1.2.840.113549.1.1.2',
  '1.2.840.113549.1.1.4',
  '1.2.840.113549.1.1.5',
  '1.2.840.113549.1.1.14',
  '1.2.840.10045.4.1',
  '1.2.840.10045.4.3.1',
  '1.2.840.10040.4.3',
  '2.16.840.1.101.3.4.3.1',
  '2.16.840.1.101.3.4.3.2',
  '1.3.14.3.2.29',
]);

const RSA_PSS = '1.2.840.113549.1.1.10';
const MGF1 = '1.2.840.113549.1.1.8';
const HASHES: Record<string, HashName> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

function hashOf(buf: Uint8Array, algId: Tlv | undefined): HashName {
  const [oid] = children(buf, expectTag(algId, TAG.SEQUENCE, 'hash algorithm'));
  const hash = HASHES[decodeOid(buf, oid!)];
  if (!hash) throw new ChainError('CHAIN_WEAK_ALGORITHM', 'RSASSA-PSS with a hash other than SHA-2/256+');
  return hash;
}

function explicit(buf: Uint8Array, wrapper: Tlv): Tlv {
  const [inner] = children(buf, wrapper);
  return inner!;
}

/** RSASSA-PSS-params (RFC 4055); the SHA-1 defaults are refused. */
function pssScheme(buf: Uint8Array, params: Tlv | undefined): SignatureScheme {
  if (!params) throw new ChainError('CHAIN_WEAK_ALGORITHM', 'RSASSA-PSS with default (SHA-1) parameters');
  const fields = children(buf, expectTag(params, TAG.SEQUENCE, 'RSASSA-PSS params'));
  const byTag = new Map(fields.map((f) => [f.tag, explicit(buf, f)]));
  const hash = hashOf(buf, byTag.get(0xa0));
  const mgf = byTag.get(0xa1);
  const [mgfOid, mgfHash] = mgf ? children(buf, mgf) : [];
  if (!mgfOid || decodeOid(buf, mgfOid) !== MGF1 || hashOf(buf, mgfHash) !== hash) {
    throw new ChainError('CHAIN_UNSUPPORTED_ALGORITHM', 'RSASSA-PSS must use MGF1 with the signature hash');
  }
  const salt = byTag.get(0xa2);
  const saltLength = salt ? smallUint(buf, salt, 'saltLength') : 20;
  return { kind: 'rsa-pss', hash, saltLength };
}

/** Resolves an encoded AlgorithmIdentifier; throws CHAIN_WEAK_ALGORITHM or CHAIN_UNSUPPORTED_ALGORITHM. */
export function signatureScheme(algId: Uint8Array): SignatureScheme {
  const [oidTlv, params] = children(algId, readRoot(algId));
  const oid = decodeOid(algId, oidTlv!);
  if (oid === RSA_PSS) return pssScheme(algId, params);
  const scheme = SIGNATURES[oid];
  if (scheme) return scheme;
  if (WEAK_SIGNATURES.has(oid))
    throw new ChainError('CHAIN_WEAK_ALGORITHM', `signature algorithm ${oid} is forbidden`);
  throw new ChainError('CHAIN_UNSUPPORTED_ALGORITHM', `signature algorithm ${oid} is not supported`);
}

const NAMED_CURVES = new Set(['1.2.840.10045.3.1.7', '1.3.132.0.34', '1.3.132.0.35']);
const RSA_KEYS = new Set(['1.2.840.113549.1.1.1', RSA_PSS]);
const EDWARDS_KEYS = new Set(['1.3.101.112', '1.3.101.113']);
const EC_KEY = '1.2.840.10045.2.1';
const DSA_KEY = '1.2.840.10040.4.1';
export const MIN_RSA_BITS = 2048;

function rsaModulusBits(spki: Uint8Array, keyBits: Tlv): number {
  const { bytes } = decodeBitString(spki, keyBits);
  const [modulus] = children(bytes, expectTag(readRoot(bytes), TAG.SEQUENCE, 'RSAPublicKey'));
  const n = integerBytes(bytes, modulus!);
  let at = 0;
  while (at < n.length - 1 && n[at] === 0) at++;
  return (n.length - at - 1) * 8 + (32 - Math.clz32(n[at]!));
}

/**
 * Public-key policy, applied to every certificate in a path (leaf included): RSA of at least 2048
 * bits in whole bytes, ECDSA on P-256/P-384/P-521 by named curve, Ed25519/Ed448. DSA, small or
 * odd-sized RSA, other curves and explicit curve parameters are refused.
 */
export function checkPublicKey(spki: Uint8Array): CheckFailure {
  try {
    const [algId, keyBits] = children(spki, readRoot(spki));
    const [oidTlv, params] = children(spki, expectTag(algId, TAG.SEQUENCE, 'SPKI algorithm'));
    const oid = decodeOid(spki, oidTlv!);
    if (RSA_KEYS.has(oid)) {
      const bits = rsaModulusBits(spki, keyBits!);
      if (bits < MIN_RSA_BITS || bits % 8 !== 0)
        return { code: 'CHAIN_WEAK_ALGORITHM', detail: `RSA key of ${bits} bits` };
      return null;
    }
    if (oid === EC_KEY) {
      if (params?.tag !== TAG.OID)
        return { code: 'CHAIN_WEAK_ALGORITHM', detail: 'EC key with explicit curve parameters' };
      const curve = decodeOid(spki, params);
      return NAMED_CURVES.has(curve)
        ? null
        : { code: 'CHAIN_WEAK_ALGORITHM', detail: `EC curve ${curve} is forbidden` };
    }
    if (EDWARDS_KEYS.has(oid)) return null;
    if (oid === DSA_KEY) return { code: 'CHAIN_WEAK_ALGORITHM', detail: 'DSA keys are forbidden' };
    return { code: 'CHAIN_UNSUPPORTED_ALGORITHM', detail: `public key algorithm ${oid} is not supported` };
  } catch (err) {
    if (err instanceof ChainError) return { code: 'CHAIN_MALFORMED', detail: `public key: ${err.detail}` };
    throw err;
  }
}
