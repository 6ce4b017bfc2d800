import { createHash } from 'node:crypto';
import { children, decodeBitString, readRoot } from '../chain/der';
import { ChainError } from '../chain/errors';

/** The subjectPublicKey bits of a DER SubjectPublicKeyInfo. */
export function publicKeyBits(spki: Uint8Array): Uint8Array {
  const [, bits] = children(spki, readRoot(spki));
  if (!bits) throw new ChainError('CHAIN_MALFORMED', 'SPKI without a key');
  return decodeBitString(spki, bits).bytes;
}

/**
 * RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. An identifier, not a security
 * function; it is what @peculiar/x509, OpenSSL and the test PKI compute, so AKI matches SKI.
 */
export function keyIdentifier(spki: Uint8Array): Uint8Array {
  return createHash('sha1').update(publicKeyBits(spki)).digest();
}
