import { CertflowError, type ErrorCode } from '../../domain/errors';

/**
 * The issuing failure codes, from the one catalogue (domain/errors.ts). Issuing code throws
 * IssuingError with these; failures an existing code describes use CertflowError directly.
 * Messages never contain key material, KEK text or CSR secrets (challengePassword).
 */
export type IssuingErrorCode = Extract<
  ErrorCode,
  | 'ISSUING_CA_NOT_FOUND'
  | 'ISSUING_CA_NAME_TAKEN'
  | 'ISSUING_CA_INVALID'
  | 'ISSUING_CA_INACTIVE'
  | 'ISSUING_KEY_UNAVAILABLE'
  | 'KEK_INVALID'
  | 'CSR_INVALID'
  | 'CSR_REJECTED'
>;

/** Issuing failures: CertflowErrors (so every edge maps them) restricted to the codes above. */
export class IssuingError extends CertflowError {
  constructor(code: IssuingErrorCode, message: string) {
    super(code, message);
  }
}
