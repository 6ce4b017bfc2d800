import { CertflowError } from '../../domain/errors';

/**
 * The issuing failure codes (also in domain/errors.ts, the one catalogue). Issuing code throws
 * IssuingError with these; failures an existing code describes use CertflowError directly.
 * Messages never contain key material, KEK text or CSR secrets (challengePassword).
 */
export const issuingErrorCatalogue = {
  ISSUING_CA_NOT_FOUND: { status: 404, title: 'No such issuing CA' },
  ISSUING_CA_NAME_TAKEN: { status: 409, title: 'The issuing CA name is already taken in this tenant' },
  ISSUING_CA_INVALID: {
    status: 422,
    title: 'The issuing CA cannot sign (key mismatch, unusable key or extensions, broken chain)',
  },
  ISSUING_CA_INACTIVE: { status: 409, title: 'The issuing CA is not active' },
  ISSUING_KEY_UNAVAILABLE: {
    status: 500,
    title: 'The issuing CA key cannot be decrypted (wrong key encryption key or corrupted envelope)',
  },
  KEK_INVALID: { status: 500, title: 'The configured key encryption key is not valid' },
  CSR_INVALID: { status: 400, title: 'The CSR is malformed or its signature does not verify' },
  CSR_REJECTED: { status: 422, title: 'The CSR is well-formed but refused by policy' },
} as const satisfies Record<string, { status: number; title: string }>;

export type IssuingErrorCode = keyof typeof issuingErrorCatalogue;

/** Issuing failures: CertflowErrors (so every edge maps them) restricted to the codes above. */
export class IssuingError extends CertflowError {
  constructor(code: IssuingErrorCode, message: string) {
    super(code, message);
  }
}
