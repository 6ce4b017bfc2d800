/**
 * The one catalogue of stable error codes. A code, once shipped, is never renamed: clients,
 * dashboards and ThingsBoard-style `errorCode`s depend on it. Activities throw non-retryable
 * ApplicationFailures whose `type` is one of these codes; `api/http/problem.ts` maps them to
 * problem+json.
 */
export const errorCatalogue = {
  VALIDATION_FAILED: { status: 400, title: 'The request is not valid' },
  MALFORMED_JSON: { status: 400, title: 'The request body is not valid JSON' },
  UNAUTHENTICATED: { status: 401, title: 'A valid API key is required' },
  FORBIDDEN: { status: 403, title: 'The API key may not do this' },
  NOT_FOUND: { status: 404, title: 'No such resource' },
  DEVICE_NOT_FOUND: { status: 404, title: 'No such device' },
  REFERENCE_NOT_FOUND: { status: 422, title: 'A referenced resource does not exist' },
  DEVICE_NAME_TAKEN: { status: 409, title: 'The device name is already taken in this tenant' },
  DEVICE_CREATION_IN_PROGRESS: { status: 409, title: 'A creation of this device is already in progress' },
  CREDENTIAL_TAKEN: { status: 409, title: 'The credential is already used by another device' },
  NAME_TAKEN: { status: 409, title: 'The name is already taken in this tenant' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request is too large' },
  RATE_LIMITED: { status: 429, title: 'Too many requests; retry later' },
  CA_MALFORMED: { status: 400, title: 'The CA certificate is not a well-formed X.509 certificate' },
  CA_NOT_A_CA: { status: 422, title: 'The certificate is not a CA (basicConstraints cA is not set)' },
  CA_EXPIRED: { status: 422, title: 'The CA certificate has expired' },
  CA_NOT_YET_VALID: { status: 422, title: 'The CA certificate is not valid yet' },
  CA_WEAK_KEY: { status: 422, title: 'The CA key is too weak (RSA < 2048, P-192, DSA)' },
  CA_WEAK_SIGNATURE: {
    status: 422,
    title: 'The CA certificate is signed with a weak algorithm (MD5, SHA-1)',
  },
  CA_PROFILE_VIOLATION: {
    status: 422,
    title: 'The CA certificate breaks the profile device chains are validated with',
  },
  CA_REGISTRATION_CODE_MISSING: { status: 409, title: 'Ask for a registration code first' },
  CA_VERIFICATION_MALFORMED: { status: 400, title: 'The verification certificate is not well-formed' },
  CA_VERIFICATION_NOT_SIGNED: { status: 422, title: 'The verification certificate is not signed by the CA' },
  CA_VERIFICATION_CODE_MISMATCH: {
    status: 422,
    title: 'The verification certificate CN is not the registration code',
  },
  CA_ALREADY_REGISTERED: { status: 409, title: 'This CA certificate is already registered' },
  CA_REGISTERED_TO_ANOTHER_TENANT: {
    status: 409,
    title: 'This CA certificate is registered to another tenant',
  },
  CA_NOT_FOUND: { status: 404, title: 'No such CA' },
  CA_REVOKED: { status: 409, title: 'A revoked CA cannot change status' },
  ISSUING_CA_NOT_FOUND: { status: 404, title: 'No such issuing CA' },
  ISSUING_CA_NAME_TAKEN: { status: 409, title: 'The issuing CA name is already taken in this tenant' },
  ISSUING_CA_INVALID: {
    status: 422,
    title: 'The issuing CA cannot sign (key mismatch, unusable key or extensions, broken chain)',
  },
  ISSUING_CA_INACTIVE: { status: 409, title: 'The issuing CA is not active' },
  ISSUING_KEY_UNAVAILABLE: { status: 500, title: 'The issuing CA key cannot be decrypted' },
  KEK_INVALID: { status: 500, title: 'The configured key encryption key is not valid' },
  CSR_INVALID: { status: 400, title: 'The CSR is malformed or its signature does not verify' },
  CSR_REJECTED: { status: 422, title: 'The CSR is well-formed but refused by policy' },
  JITP_UNKNOWN_CA: { status: 403, title: 'The device certificate is not issued by a registered CA' },
  JITP_CA_INACTIVE: { status: 403, title: 'The issuing CA is inactive or revoked' },
  JITP_DISABLED: { status: 403, title: 'Just-in-time provisioning is disabled for the issuing CA' },
  JITP_CHAIN_INVALID: { status: 403, title: 'The device certificate chain is not valid' },
  JITP_NO_DEVICE_NAME: { status: 403, title: 'The device certificate yields no device name' },
  DEVICE_CERTIFICATE_MALFORMED: { status: 400, title: 'The device certificate is not well-formed' },
  DEVICE_CERTIFICATE_REQUIRED: { status: 401, title: 'A client certificate is required' },
  CERTIFICATE_NOT_FOUND: { status: 404, title: 'No such certificate' },
  DEVICE_REVOKED: { status: 409, title: 'The device is revoked' },
  CERTIFICATE_REVOKED: { status: 409, title: 'The certificate is revoked' },
  ROTATION_NOT_FOUND: { status: 404, title: 'No such rotation run' },
  ROTATION_NOT_REQUESTED: { status: 409, title: 'No rotation is pending for this device' },
  ROTATION_IN_PROGRESS: { status: 409, title: 'Another rotation of this device is in progress' },
  ROTATION_NO_CERTIFICATE: { status: 409, title: 'The device has no active certificate to rotate' },
  ROTATION_NO_ISSUING_CA: { status: 409, title: 'No issuing CA is set for the rotated certificate' },
  ROTATION_WRONG_STATE: { status: 409, title: 'The rotation is not in a state that allows this' },
  RUN_WRONG_STATE: { status: 409, title: 'The rotation run is not in a state that allows this' },
  RUN_EMPTY: { status: 422, title: 'The selection matches no device' },
  WORKFLOW_TIMEOUT: { status: 504, title: 'The workflow did not answer in time' },
  DEPENDENCY_UNAVAILABLE: { status: 503, title: 'A platform dependency is unavailable; retry later' },
  INTERNAL: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorCatalogue, value);
}

export interface FieldError {
  /** Dotted path of the offending field, e.g. `devices.3.name`. */
  field: string;
  message: string;
}

/** A failure the caller can act on: it carries a stable code and a message safe to show. */
export class CertflowError extends Error {
  override readonly name = 'CertflowError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fieldErrors: FieldError[] = [],
  ) {
    super(message);
  }
}
