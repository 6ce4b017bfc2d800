import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { IssuingError } from './errors';

/**
 * Private keys at rest: AES-256-GCM under a key encryption key (KEK) from configuration.
 *
 *   v1:<kek id>:<iv base64>:<tag base64>:<ciphertext base64>
 *
 * The KEK id is a short fingerprint of the KEK, so a wrong or rotated KEK is named before any
 * decryption is attempted, and several KEKs can be configured during a rotation. The header
 * (`v1:<kek id>`) is the GCM additional data, so it cannot be altered without detection.
 */

const VERSION = 'v1';
const KEK_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** KEK bytes, reachable only from this module: a Kek has no property or method that returns them. */
const kekBytes = new WeakMap<Kek, Buffer>();

function bytesOf(kek: Kek): Buffer {
  const bytes = kekBytes.get(kek);
  if (!bytes) throw new IssuingError('KEK_INVALID', 'not a key encryption key made by parseKek');
  return bytes;
}

/**
 * A parsed KEK. It prints (toString, JSON, util.inspect, pino) as its id only, so logging a
 * config object that holds it reveals nothing.
 */
export class Kek {
  /** 16 hex digits of SHA-256 over a domain label and the key: identifies, does not reveal. */
  readonly id: string;

  constructor(key: Uint8Array) {
    if (key.length !== KEK_BYTES) {
      throw new IssuingError(
        'KEK_INVALID',
        `a key encryption key must be ${KEK_BYTES} bytes, got ${key.length}`,
      );
    }
    const bytes = Buffer.from(key);
    kekBytes.set(this, bytes);
    this.id = createHash('sha256').update('certflow-kek-id\0').update(bytes).digest('hex').slice(0, 16);
  }

  toJSON(): string {
    return `Kek(${this.id})`;
  }

  toString(): string {
    return `Kek(${this.id})`;
  }

  [inspect.custom](): string {
    return `Kek(${this.id})`;
  }
}

const HEX_64 = /^[0-9a-fA-F]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$|^[A-Za-z0-9_-]+={0,2}$/;

/**
 * Parses a KEK from configuration text: 64 hex digits, or base64 / base64url of 32 bytes.
 * Errors say what is wrong (empty, bad alphabet, wrong length) and never echo the text.
 */
export function parseKek(text: string): Kek {
  const value = text.trim();
  if (value === '') throw new IssuingError('KEK_INVALID', 'the key encryption key is empty');
  if (HEX_64.test(value)) return new Kek(Buffer.from(value, 'hex'));
  if (!BASE64.test(value)) {
    throw new IssuingError(
      'KEK_INVALID',
      'the key encryption key must be 32 bytes written as 64 hex digits or as base64; it is neither',
    );
  }
  const bytes = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (bytes.length !== KEK_BYTES) {
    throw new IssuingError(
      'KEK_INVALID',
      `the key encryption key must be ${KEK_BYTES} bytes; its base64 decodes to ${bytes.length} bytes`,
    );
  }
  return new Kek(bytes);
}

function header(kekId: string): string {
  return `${VERSION}:${kekId}`;
}

/** Encrypts a PEM private key under `kek`; a fresh random IV per call. */
export function encryptPrivateKey(privateKeyPem: string, kek: Kek): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', bytesOf(kek), iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(header(kek.id), 'utf8'));
  const plaintext = Buffer.from(privateKeyPem, 'utf8');
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  plaintext.fill(0);
  const tag = cipher.getAuthTag();
  return [header(kek.id), iv.toString('base64'), tag.toString('base64'), ciphertext.toString('base64')].join(
    ':',
  );
}

/** The KEK id an envelope was sealed under, or undefined if `envelope` is not a v1 envelope. */
export function envelopeKekId(envelope: string): string | undefined {
  const parts = envelope.split(':');
  return parts.length === 5 && parts[0] === VERSION ? parts[1] : undefined;
}

/**
 * Decrypts an envelope with whichever of `keks` it was sealed under (pass old and new KEKs
 * during a rotation). Throws ISSUING_KEY_UNAVAILABLE for an unknown format, a KEK that is not
 * configured, or an envelope that fails authentication (tampered, truncated, wrong key).
 */
export function decryptPrivateKey(envelope: string, keks: Kek | readonly Kek[]): string {
  const parts = envelope.split(':');
  if (parts.length !== 5 || parts[0] !== VERSION) {
    throw new IssuingError('ISSUING_KEY_UNAVAILABLE', 'the stored private key is not a v1 key envelope');
  }
  const [, kekId, ivText, tagText, ciphertextText] = parts as [string, string, string, string, string];
  const candidates = Array.isArray(keks) ? (keks as readonly Kek[]) : [keks as Kek];
  const kek = candidates.find((k) => k.id === kekId);
  if (!kek) {
    const configured = candidates.map((k) => k.id).join(', ') || 'none';
    throw new IssuingError(
      'ISSUING_KEY_UNAVAILABLE',
      `the private key was encrypted under key encryption key ${kekId}; configured: ${configured}`,
    );
  }
  const iv = Buffer.from(ivText, 'base64');
  const tag = Buffer.from(tagText, 'base64');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
    throw new IssuingError('ISSUING_KEY_UNAVAILABLE', 'the key envelope has a malformed IV or tag');
  }
  const decipher = createDecipheriv('aes-256-gcm', bytesOf(kek), iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(header(kekId), 'utf8'));
  decipher.setAuthTag(tag);
  let plaintext: Buffer;
  try {
    plaintext = Buffer.concat([decipher.update(Buffer.from(ciphertextText, 'base64')), decipher.final()]);
  } catch {
    throw new IssuingError(
      'ISSUING_KEY_UNAVAILABLE',
      'the key envelope failed authentication: it was altered or corrupted',
    );
  }
  const pem = plaintext.toString('utf8');
  plaintext.fill(0);
  return pem;
}
