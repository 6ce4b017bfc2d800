import { ChainError } from './errors';

/**
 * A minimal strict DER reader. Certificates are walked by hand rather than through a schema
 * library because path building needs the exact bytes of the signed TBS, the names and the SPKI
 * (byte-exact name matching, signature input), and because on the provisioning hot path a
 * schema parse (AsnConvert into @peculiar/asn1-x509 Certificate) measured ~250 µs per
 * certificate against ~50 µs here, extension decoding and SHA-256 fingerprint included.
 * BER-only encodings (indefinite or non-minimal lengths, trailing bytes) are CHAIN_MALFORMED.
 */
export interface Tlv {
  readonly tag: number;
  /** Offset of the tag byte. */
  readonly start: number;
  /** Offset of the first content byte. */
  readonly body: number;
  /** Offset one past the last content byte. */
  readonly end: number;
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

function malformed(what: string): never {
  throw new ChainError('CHAIN_MALFORMED', what);
}

/** Reads one TLV starting at `pos`, which must end at or before `limit`. */
export function readTlv(buf: Uint8Array, pos: number, limit: number): Tlv {
  if (pos + 2 > limit) malformed('truncated DER');
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) malformed('high tag numbers are not used in X.509');
  let len = buf[pos + 1]!;
  let body = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) malformed('indefinite or oversized DER length');
    if (body + n > limit) malformed('truncated DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[body + i]!;
    if (buf[body] === 0 || len < 0x80) malformed('non-minimal DER length');
    body += n;
  }
  const end = body + len;
  if (end > limit) malformed('truncated DER value');
  return { tag, start: pos, body, end };
}

/** Parses `buf` as exactly one TLV with no trailing bytes. */
export function readRoot(buf: Uint8Array): Tlv {
  const tlv = readTlv(buf, 0, buf.length);
  if (tlv.end !== buf.length) malformed('trailing bytes after DER value');
  return tlv;
}

/** The TLVs directly inside a constructed value; they must fill it exactly. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  if ((parent.tag & 0x20) === 0)
    malformed(`expected a constructed value, got tag 0x${parent.tag.toString(16)}`);
  const out: Tlv[] = [];
  let pos = parent.body;
  while (pos < parent.end) {
    const child = readTlv(buf, pos, parent.end);
    out.push(child);
    pos = child.end;
  }
  return out;
}

export function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (!tlv || tlv.tag !== tag) malformed(`${what}: unexpected or missing element`);
  return tlv;
}

/** The whole encoding (tag, length, content). */
export function encoded(buf: Uint8Array, tlv: Tlv): Uint8Array {
  return buf.subarray(tlv.start, tlv.end);
}

export function content(buf: Uint8Array, tlv: Tlv): Uint8Array {
  return buf.subarray(tlv.body, tlv.end);
}

export function decodeOid(buf: Uint8Array, tlv: Tlv): string {
  expectTag(tlv, TAG.OID, 'object identifier');
  if (tlv.end === tlv.body) malformed('empty object identifier');
  const parts: number[] = [];
  let value = 0;
  for (let i = tlv.body; i < tlv.end; i++) {
    const byte = buf[i]!;
    if (value === 0 && byte === 0x80) malformed('non-minimal OID arc');
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) malformed('OID arc too large');
    if ((byte & 0x80) === 0) {
      parts.push(value);
      value = 0;
    } else if (i === tlv.end - 1) malformed('truncated OID');
  }
  const first = parts[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...parts.slice(1)].join('.');
}

/** The content octets of a DER INTEGER, checked for minimal encoding. */
export function integerBytes(buf: Uint8Array, tlv: Tlv): Uint8Array {
  expectTag(tlv, TAG.INTEGER, 'integer');
  const bytes = content(buf, tlv);
  if (bytes.length === 0) malformed('empty integer');
  if (
    bytes.length > 1 &&
    ((bytes[0] === 0 && bytes[1]! < 0x80) || (bytes[0] === 0xff && bytes[1]! >= 0x80))
  ) {
    malformed('non-minimal integer');
  }
  return bytes;
}

/** A small non-negative INTEGER (pathLenConstraint, CRL number sizes). */
export function smallUint(buf: Uint8Array, tlv: Tlv, what: string): number {
  const bytes = integerBytes(buf, tlv);
  if (bytes[0]! >= 0x80 || bytes.length > 4) malformed(`${what} out of range`);
  let value = 0;
  for (const b of bytes) value = value * 256 + b;
  return value;
}

export function decodeBoolean(buf: Uint8Array, tlv: Tlv): boolean {
  expectTag(tlv, TAG.BOOLEAN, 'boolean');
  if (tlv.end - tlv.body !== 1) malformed('boolean must be one byte');
  return buf[tlv.body] !== 0;
}

/** BIT STRING content without the unused-bits octet; `unused` is that octet's value. */
export function decodeBitString(buf: Uint8Array, tlv: Tlv): { bytes: Uint8Array; unused: number } {
  expectTag(tlv, TAG.BIT_STRING, 'bit string');
  if (tlv.end === tlv.body) malformed('empty bit string');
  const unused = buf[tlv.body]!;
  if (unused > 7 || (unused > 0 && tlv.end - tlv.body === 1)) malformed('bad bit string padding');
  return { bytes: buf.subarray(tlv.body + 1, tlv.end), unused };
}

function digits(buf: Uint8Array, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) malformed('non-digit in time');
    value = value * 10 + d;
  }
  return value;
}

/** UTCTime or GeneralizedTime in the RFC 5280 profile (seconds, `Z`), as epoch seconds. */
export function decodeTime(buf: Uint8Array, tlv: Tlv): number {
  const len = tlv.end - tlv.body;
  const p = tlv.body;
  let year: number;
  let at: number;
  if (tlv.tag === TAG.UTC_TIME && len === 13) {
    const yy = digits(buf, p, 2);
    year = yy < 50 ? 2000 + yy : 1900 + yy;
    at = p + 2;
  } else if (tlv.tag === TAG.GENERALIZED_TIME && len === 15) {
    year = digits(buf, p, 4);
    at = p + 4;
  } else {
    return malformed('time is not UTCTime/GeneralizedTime in the YYMMDDHHMMSSZ profile');
  }
  if (buf[tlv.end - 1] !== 0x5a) malformed('time must end in Z');
  const [mo, d, h, mi, s] = [0, 2, 4, 6, 8].map((o) => digits(buf, at + o, 2)) as [
    number,
    number,
    number,
    number,
    number,
  ];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) malformed('time out of range');
  return Date.UTC(year, mo - 1, d, h, mi, s) / 1000;
}
