import { KeyObject, constants, verify } from 'node:crypto';
import { signatureScheme } from './algorithms';
import { ChainError, type CheckFailure } from './errors';
import { PublicKeyCache } from './key-cache';

/** What the verifier needs of a certificate (a ParsedCert or a parsed CRL). */
export interface Signed {
  readonly fingerprint: string;
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: Uint8Array;
  readonly signature: Uint8Array;
}

export interface KeyHolder {
  readonly fingerprint: string;
  readonly spki: Uint8Array;
}

/**
 * Verifies signatures for one validation call, caching each (issuer, signed object) outcome and
 * each issuer KeyObject: path building tries the same pair on several branches, and the
 * pathological limbo cases would otherwise redo thousands of verifications.
 */
export class SignatureVerifier {
  private readonly keys = new Map<string, KeyObject | CheckFailure>();
  private readonly results = new Map<string, CheckFailure>();
  /** Number of real (uncached) verifications, counted into the work budget. */
  verifications = 0;

  /** `keyCache` may outlive the call; the outcome cache never does. */
  constructor(private readonly keyCache: PublicKeyCache = new PublicKeyCache(64)) {}

  private keyOf(issuer: KeyHolder): KeyObject | CheckFailure {
    let key = this.keys.get(issuer.fingerprint);
    if (key === undefined) {
      try {
        key = this.keyCache.get(issuer.spki);
      } catch {
        key = { code: 'CHAIN_MALFORMED', detail: 'issuer public key cannot be decoded' };
      }
      this.keys.set(issuer.fingerprint, key);
    }
    return key;
  }

  verify(signed: Signed, issuer: KeyHolder): CheckFailure {
    const cacheKey = `${issuer.fingerprint}:${signed.fingerprint}`;
    let result = this.results.get(cacheKey);
    if (result === undefined) {
      result = this.compute(signed, issuer);
      this.results.set(cacheKey, result);
    }
    return result;
  }

  private compute(signed: Signed, issuer: KeyHolder): CheckFailure {
    const key = this.keyOf(issuer);
    if (!(key instanceof KeyObject)) return key;
    let scheme;
    try {
      scheme = signatureScheme(signed.signatureAlgorithm);
    } catch (err) {
      if (err instanceof ChainError) return { code: err.code, detail: err.detail };
      throw err;
    }
    const type = key.asymmetricKeyType;
    const compatible =
      scheme.kind === 'ecdsa'
        ? type === 'ec'
        : scheme.kind === 'eddsa'
          ? type === 'ed25519' || type === 'ed448'
          : type === 'rsa' || type === 'rsa-pss';
    if (!compatible)
      return { code: 'CHAIN_BAD_SIGNATURE', detail: `${scheme.kind} signature with a ${type} key` };
    this.verifications++;
    const data = signed.tbs;
    let ok: boolean;
    try {
      if (scheme.kind === 'eddsa') ok = verify(null, data, key, signed.signature);
      else if (scheme.kind === 'rsa-pss') {
        const pss = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength };
        ok = verify(scheme.hash, data, pss, signed.signature);
      } else ok = verify(scheme.hash, data, key, signed.signature);
    } catch {
      ok = false;
    }
    return ok
      ? null
      : { code: 'CHAIN_BAD_SIGNATURE', detail: 'signature does not verify with the issuer key' };
  }
}
