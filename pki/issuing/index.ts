/** Issuing CAs: key envelopes, CSR intake, the Issuer interface and its software implementation. */
export { IssuingError, type IssuingErrorCode } from './errors';
export { Kek, parseKek, encryptPrivateKey, decryptPrivateKey, envelopeKekId } from './key-envelope';
export { createIssuer, type Issuer, type IssueRequest, type IssuedCertificate, type Signer } from './issuer';
export { createSoftwareIssuer, softwareSigner } from './software-issuer';
export { checkCsr, DEFAULT_ALLOWED_KEYS, type CheckedCsr, type CsrKeyType, type CsrPolicy } from './csr';
export { createIssuingCa, checkImportedCa, type ImportedCa, type NewIssuingCa } from './create-ca';
