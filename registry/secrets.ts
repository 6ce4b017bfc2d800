import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Secrets (API keys, access tokens) are high-entropy random strings, so a plain SHA-256 is
 * the right stored form: it cannot be reversed or brute-forced, and it can be looked up.
 */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** Constant-time comparison of two hex digests (of equal or unequal length). */
export function digestsEqual(aHex: string, bHex: string): boolean {
  const a = Buffer.from(aHex, 'hex');
  const b = Buffer.from(bHex, 'hex');
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}
