import { createHash } from 'node:crypto';
import {
  TAG,
  children,
  decodeBitString,
  decodeBoolean,
  decodeOid,
  decodeTime,
  encoded,
  expectTag,
  integerBytes,
  readRoot,
  smallUint,
  type Tlv,
} from './der';
import { ChainError } from './errors';
import { decodeExtensions, type DecodedExtensions, type RawExtension } from './extensions';

/**
 * A certificate parsed once per validation call. Byte fields are views into `der`; names are kept
 * as exact DER so issuer matching is byte-exact (RFC 5280 7.1 permits binary comparison, and it is
 * what issuing CAs produce when they copy the issuer name), with `subjectKey`/`issuerKey` as cheap
 * map keys over those bytes.
 */
export interface ParsedCert {
  readonly der: Uint8Array;
  readonly fingerprint: string;
  /** 1, 2 or 3. */
  readonly version: number;
  readonly serial: Uint8Array;
  readonly tbs: Uint8Array;
  /** The TBS `signature` AlgorithmIdentifier, encoded. */
  readonly tbsSignatureAlgorithm: Uint8Array;
  /** The outer `signatureAlgorithm`, encoded; must equal the TBS one. */
  readonly signatureAlgorithm: Uint8Array;
  readonly signature: Uint8Array;
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly issuerKey: string;
  readonly subjectKey: string;
  /** Epoch seconds, inclusive bounds. */
  readonly notBefore: number;
  readonly notAfter: number;
  readonly spki: Uint8Array;
  readonly extensions: readonly RawExtension[];
  readonly ext: DecodedExtensions;
  /** Issuer and subject are the same name (RFC 5280 "self-issued"). */
  readonly selfIssued: boolean;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** DER bytes of every PEM block with the given label, or the input itself when it is DER. */
export function decodePemOrDer(input: Uint8Array | string, label: string): Uint8Array[] {
  if (typeof input !== 'string') return [input];
  const out: Uint8Array[] = [];
  for (const match of input.matchAll(PEM_BLOCK)) {
    if (match[1] === label) out.push(Buffer.from(match[2]!.replace(/\s+/g, ''), 'base64'));
  }
  if (out.length === 0) throw new ChainError('CHAIN_MALFORMED', `no PEM ${label} block found`);
  return out;
}

export function bytesKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function parseValidity(der: Uint8Array, tlv: Tlv): [number, number] {
  const [nb, na, extra] = children(der, expectTag(tlv, TAG.SEQUENCE, 'validity'));
  if (!nb || !na || extra) throw new ChainError('CHAIN_MALFORMED', 'validity must hold two times');
  return [decodeTime(der, nb), decodeTime(der, na)];
}

function parseExtensionList(der: Uint8Array, tlv: Tlv | undefined): RawExtension[] {
  if (!tlv) return [];
  const [seq, extra] = children(der, tlv);
  if (!seq || extra) throw new ChainError('CHAIN_MALFORMED', 'extensions wrapper');
  const list = children(der, expectTag(seq, TAG.SEQUENCE, 'extensions'));
  if (list.length === 0) throw new ChainError('CHAIN_MALFORMED', 'empty extensions sequence');
  return list.map((extTlv) => {
    const parts = children(der, expectTag(extTlv, TAG.SEQUENCE, 'extension'));
    const oid = decodeOid(der, parts[0]!);
    const hasCritical = parts.length === 3;
    if (parts.length !== 2 && !hasCritical) throw new ChainError('CHAIN_MALFORMED', `extension ${oid} shape`);
    const critical = hasCritical ? decodeBoolean(der, parts[1]!) : false;
    const value = expectTag(parts[hasCritical ? 2 : 1], TAG.OCTET_STRING, `extension ${oid} value`);
    return { oid, critical, value: der.subarray(value.body, value.end) };
  });
}

/** Parses one DER certificate. Throws ChainError(CHAIN_MALFORMED) on any structural defect. */
export function parseCertificate(der: Uint8Array): ParsedCert {
  const root = expectTag(readRoot(der), TAG.SEQUENCE, 'certificate');
  const [tbsTlv, sigAlgTlv, sigTlv, extra] = children(der, root);
  if (!tbsTlv || !sigAlgTlv || !sigTlv || extra) throw new ChainError('CHAIN_MALFORMED', 'certificate shape');
  const fields = children(der, expectTag(tbsTlv, TAG.SEQUENCE, 'tbsCertificate'));
  let i = 0;
  let version = 1;
  if (fields[0]?.tag === 0xa0) {
    const [v] = children(der, fields[0]);
    version = smallUint(der, v!, 'version') + 1;
    if (version < 2 || version > 3) throw new ChainError('CHAIN_MALFORMED', `unknown version ${version}`);
    i = 1;
  }
  const serial = integerBytes(der, fields[i]!);
  const tbsSigAlg = expectTag(fields[i + 1], TAG.SEQUENCE, 'tbs signature algorithm');
  const issuer = expectTag(fields[i + 2], TAG.SEQUENCE, 'issuer');
  const [notBefore, notAfter] = parseValidity(der, fields[i + 3]!);
  const subject = expectTag(fields[i + 4], TAG.SEQUENCE, 'subject');
  const spki = expectTag(fields[i + 5], TAG.SEQUENCE, 'subjectPublicKeyInfo');
  let rest = fields.slice(i + 6);
  // issuerUniqueID [1] and subjectUniqueID [2] (v2+) carry nothing path validation uses.
  while (
    rest[0] &&
    (rest[0].tag === 0x81 || rest[0].tag === 0xa1 || rest[0].tag === 0x82 || rest[0].tag === 0xa2)
  ) {
    rest = rest.slice(1);
  }
  const extTlv = rest[0];
  if (rest.length > 1 || (extTlv && extTlv.tag !== 0xa3))
    throw new ChainError('CHAIN_MALFORMED', 'trailing TBS fields');
  if (extTlv && version !== 3) throw new ChainError('CHAIN_MALFORMED', 'extensions in a pre-v3 certificate');
  const extensions = parseExtensionList(der, extTlv);
  const issuerBytes = encoded(der, issuer);
  const subjectBytes = encoded(der, subject);
  const issuerKey = bytesKey(issuerBytes);
  const subjectKey = bytesKey(subjectBytes);
  return {
    der,
    fingerprint: createHash('sha256').update(der).digest('hex'),
    version,
    serial,
    tbs: encoded(der, tbsTlv),
    tbsSignatureAlgorithm: encoded(der, tbsSigAlg),
    signatureAlgorithm: encoded(der, expectTag(sigAlgTlv, TAG.SEQUENCE, 'signature algorithm')),
    signature: decodeBitString(der, sigTlv).bytes,
    issuer: issuerBytes,
    subject: subjectBytes,
    issuerKey,
    subjectKey,
    notBefore,
    notAfter,
    spki: encoded(der, spki),
    extensions,
    ext: decodeExtensions(extensions),
    selfIssued: issuerKey === subjectKey,
  };
}
