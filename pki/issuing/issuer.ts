import { createHash } from 'node:crypto';
import { CertflowError } from '../../domain/errors';
import { normalizeChainPem, parseCaCertificate } from './ca-certificate';
import { bitString, sequence } from './der-writer';
import { deviceTbs, resolveRequest } from './device-profile';
import { derToPem } from './pem';
import { keyIdentifier } from './spki';

/** What the registry decided a device's certificate says. Nothing here comes from a CSR but the key. */
export interface IssueRequest {
  /** DER SubjectPublicKeyInfo, e.g. `checkCsr(...).publicKeySpkiDer`. */
  publicKeySpkiDer: Uint8Array;
  /** The subject CN, from the registry (the device name), never from the CSR subject. */
  subjectCn: string;
  /** subjectAltName entries: `scheme:...` strings are URIs (spiffe://, urn:), the rest DNS names. */
  sans?: string[];
  notBefore: Date;
  /** Clamped to the issuing CA's notAfter. */
  notAfter: Date;
  /** Hex of the DER INTEGER content (positive, minimal, ≤ 20 bytes); default 16 random bytes. */
  serialHex?: string;
}

/** Plain JSON, safe to return from an activity. */
export interface IssuedCertificate {
  certificatePem: string;
  serialHex: string;
  /** Lowercase hex SHA-256 of the DER. */
  fingerprintSha256: string;
  /** ISO-8601, as written in the certificate (whole seconds, after clamping). */
  notBefore: string;
  notAfter: string;
}

/**
 * A CA that signs device certificates. The software implementation holds a decrypted key in
 * process memory; an HSM, Vault or cloud-KMS implementation needs only a different Signer.
 */
export interface Issuer {
  /** The issuing CA certificate. */
  certificatePem: string;
  /** Certificates above the issuing CA (may be ''), to hand to devices after their certificate. */
  chainPem: string;
  signDeviceCertificate(req: IssueRequest): Promise<IssuedCertificate>;
}

/** Makes signatures with a CA key: the only part of issuance that touches the key. */
export interface Signer {
  /** The encoded AlgorithmIdentifier of the signatures `sign` produces. */
  readonly signatureAlgorithm: Uint8Array;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/**
 * An Issuer over any Signer. Device certificates follow one profile (see device-profile.ts);
 * the issuer name and key identifier are copied from the CA certificate byte for byte.
 */
export function createIssuer(ca: { certificatePem: string; chainPem?: string }, signer: Signer): Issuer {
  const cert = parseCaCertificate(ca.certificatePem);
  if (cert.ext.basicConstraints?.ca !== true) {
    throw new CertflowError('CA_NOT_A_CA', 'the issuing certificate does not assert basicConstraints cA');
  }
  const issuer = {
    name: cert.subject,
    keyId: cert.ext.subjectKeyId ?? keyIdentifier(cert.spki),
    notBefore: new Date(cert.notBefore * 1000),
    notAfter: new Date(cert.notAfter * 1000),
  };
  const chainPem = normalizeChainPem(ca.chainPem);
  return {
    certificatePem: derToPem(cert.der, 'CERTIFICATE'),
    chainPem,
    async signDeviceCertificate(req) {
      const fields = resolveRequest(req, issuer);
      const tbs = deviceTbs(fields, issuer, signer.signatureAlgorithm);
      const signature = await signer.sign(tbs);
      const der = sequence(tbs, signer.signatureAlgorithm, bitString(signature));
      return {
        certificatePem: derToPem(der, 'CERTIFICATE'),
        serialHex: Buffer.from(fields.serial).toString('hex'),
        fingerprintSha256: createHash('sha256').update(der).digest('hex'),
        notBefore: fields.notBefore.toISOString(),
        notAfter: fields.notAfter.toISOString(),
      };
    },
  };
}
