/**
 * Stable error codes of chain validation. A code, once shipped, is never renamed: provisioning
 * `errorCode`s, audit records and dashboards depend on it. Each entry carries a one-line meaning
 * so the catalogue can be merged into `domain/errors.ts` unchanged.
 */
export const chainErrorCatalogue = {
  CHAIN_MALFORMED: 'A certificate or CRL is not well-formed DER or violates the X.509 structure',
  CHAIN_NOT_V3: 'A certificate is not X.509 version 3',
  CHAIN_INVALID_EXTENSION: 'An extension is malformed, duplicated, wrongly (non-)critical or missing',
  CHAIN_UNKNOWN_CRITICAL_EXTENSION:
    'A certificate carries a critical extension this validator does not process',
  CHAIN_NO_PATH: 'No issuer chain from the certificate to a trust anchor was found',
  CHAIN_EXPIRED: 'A certificate in the chain is past its notAfter',
  CHAIN_NOT_YET_VALID: 'A certificate in the chain is before its notBefore',
  CHAIN_BAD_SIGNATURE: 'A signature in the chain does not verify with the issuer key',
  CHAIN_WEAK_ALGORITHM:
    'A signature algorithm or public key is forbidden by policy (MD5, SHA-1, DSA, small keys)',
  CHAIN_UNSUPPORTED_ALGORITHM: 'A signature algorithm or public key type is not supported',
  CHAIN_NOT_CA: 'An issuing certificate lacks a critical basicConstraints with cA asserted',
  CHAIN_PATHLEN_EXCEEDED: 'An issuing certificate pathLenConstraint is exceeded',
  CHAIN_KEY_USAGE: 'A key usage does not allow the use made of the key (keyCertSign, cRLSign)',
  CHAIN_EKU: 'An extended key usage does not allow the required purpose',
  CHAIN_LEAF_IS_CA: 'The leaf is a CA certificate but the policy requires an end entity',
  CHAIN_NAME_CONSTRAINTS: 'A name in the chain violates an issuer name constraint',
  CHAIN_TOO_DEEP: 'The chain needs more intermediates than the policy allows',
  CHAIN_WORK_EXCEEDED: 'Path building exceeded its work budget before finding a valid path',
  CHAIN_REVOKED: 'A certificate in the chain is listed on a CRL of its issuer',
  CHAIN_CRL_INVALID: 'A CRL for an issuer in the chain is malformed, badly signed, expired or unauthorised',
} as const satisfies Record<string, string>;

export type ChainErrorCode = keyof typeof chainErrorCatalogue;

export function isChainErrorCode(value: unknown): value is ChainErrorCode {
  return typeof value === 'string' && Object.hasOwn(chainErrorCatalogue, value);
}

/**
 * Thrown only inside pki/chain (parsing, checks) and turned into a plain `{ ok: false }` result by
 * `validateChain`; it never crosses the public API.
 */
export class ChainError extends Error {
  override readonly name = 'ChainError';
  constructor(
    readonly code: ChainErrorCode,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
  }
}

/** A check outcome: `null` when the check passed. */
export type CheckFailure = { code: ChainErrorCode; detail: string } | null;

export function fail(code: ChainErrorCode, detail: string): CheckFailure {
  return { code, detail };
}
