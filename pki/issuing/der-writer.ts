/**
 * A minimal DER writer for the certificates certflow issues. Device certificates are assembled
 * from a fixed template (issuer name and SPKI copied byte for byte, a handful of extensions)
 * rather than through @peculiar/x509's generator: measured on one loaded core, ~7–13k P-256
 * certificates/s against ~400/s, and fleet-wide rotation is bounded by issuance. The reader
 * side, and the proof that what we write is valid, is pki/chain.
 */

function lengthBytes(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** One TLV whose content is the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const length = parts.reduce((n, p) => n + p.length, 0);
  return Buffer.concat([Uint8Array.of(tag), lengthBytes(length), ...parts]);
}

export const sequence = (...parts: Uint8Array[]): Uint8Array => tlv(0x30, ...parts);
export const set = (...parts: Uint8Array[]): Uint8Array => tlv(0x31, ...parts);
export const octetString = (bytes: Uint8Array): Uint8Array => tlv(0x04, bytes);
export const utf8String = (text: string): Uint8Array => tlv(0x0c, Buffer.from(text, 'utf8'));
export const nullValue = (): Uint8Array => Uint8Array.of(0x05, 0x00);
export const booleanTrue = (): Uint8Array => Uint8Array.of(0x01, 0x01, 0xff);
/** Context-specific constructed tag [n], i.e. EXPLICIT [n]. */
export const explicit = (n: number, ...parts: Uint8Array[]): Uint8Array => tlv(0xa0 | n, ...parts);
/** Context-specific primitive tag [n], i.e. IMPLICIT [n] over a primitive type. */
export const implicitPrimitive = (n: number, bytes: Uint8Array): Uint8Array => tlv(0x80 | n, bytes);

/** BIT STRING with no unused bits. */
export function bitString(bytes: Uint8Array): Uint8Array {
  return tlv(0x03, Uint8Array.of(0), bytes);
}

/** A non-negative INTEGER from big-endian magnitude bytes, minimally encoded. */
export function unsignedInteger(magnitude: Uint8Array): Uint8Array {
  let at = 0;
  while (at < magnitude.length - 1 && magnitude[at] === 0) at++;
  const bytes = magnitude.subarray(at);
  return (bytes[0] ?? 0) >= 0x80 ? tlv(0x02, Uint8Array.of(0), bytes) : tlv(0x02, bytes);
}

export function smallInteger(value: number): Uint8Array {
  const bytes: number[] = [];
  for (let n = value; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return unsignedInteger(Uint8Array.from(bytes.length ? bytes : [0]));
}

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const [first = 0, second = 0, ...rest] = arcs;
  const out: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const chunk: number[] = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift(0x80 | (n & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Uint8Array.from(out));
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, whole seconds, `Z`. */
export function time(date: Date): Uint8Array {
  const y = date.getUTCFullYear();
  const rest =
    pad(date.getUTCMonth() + 1) +
    pad(date.getUTCDate()) +
    pad(date.getUTCHours()) +
    pad(date.getUTCMinutes()) +
    pad(date.getUTCSeconds()) +
    'Z';
  return y < 2050
    ? tlv(0x17, Buffer.from(pad(y % 100) + rest, 'ascii'))
    : tlv(0x18, Buffer.from(pad(y, 4) + rest, 'ascii'));
}
