import { CertflowError } from '../../domain/errors';
import { checkCaCertificate } from '../ca-registration';
import { checkPublicKey } from '../chain/algorithms';
import { KU } from '../chain/extensions';
import { validateChain } from '../chain/index';
import { webcrypto, x509 } from '../crypto';
import { parseCaCertificate, parseChainPem } from './ca-certificate';
import { IssuingError } from './errors';
import { derToPem } from './pem';
import { exportPrivateKeyPem, importPrivateKey, keyMatchesPublicKey } from './software-issuer';

const DAY_MS = 86_400_000;
/** Backdating of a new CA's notBefore, so devices with a slightly slow clock accept it at once. */
const BACKDATE_MS = 3_600_000;
const MAX_VALIDITY_DAYS = 36_500;

export interface NewIssuingCa {
  certificatePem: string;
  /** PKCS#8 PEM: encrypt it (key-envelope.ts) before it leaves memory. */
  privateKeyPem: string;
}

/** A CA ready to store: everything canonical (re-encoded) and checked. */
export interface ImportedCa {
  subject: string;
  fingerprintSha256: string;
  notBefore: string;
  notAfter: string;
  certificatePem: string;
  chainPem: string;
  /** PKCS#8 PEM, whatever form was imported. */
  privateKeyPem: string;
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x3f) | 0x40; // positive, minimal DER
  return Buffer.from(bytes).toString('hex');
}

/**
 * A new self-signed issuing CA: EC P-256, pathLen 0 (it signs devices, never other CAs),
 * keyCertSign + cRLSign, SKI. Valid from an hour before `now` for `validityDays`.
 */
export async function createIssuingCa(opts: {
  name: string;
  validityDays: number;
  now: Date;
}): Promise<NewIssuingCa> {
  const { name, validityDays, now } = opts;
  if (name.trim() === '' || [...name].length > 64 || /\p{Cc}/u.test(name)) {
    throw new CertflowError(
      'VALIDATION_FAILED',
      'name: must be 1 to 64 characters without control characters',
      [{ field: 'name', message: 'must be 1 to 64 characters without control characters' }],
    );
  }
  if (!Number.isInteger(validityDays) || validityDays < 1 || validityDays > MAX_VALIDITY_DAYS) {
    throw new CertflowError(
      'VALIDATION_FAILED',
      `validityDays: must be an integer from 1 to ${MAX_VALIDITY_DAYS}`,
      [{ field: 'validityDays', message: `must be an integer from 1 to ${MAX_VALIDITY_DAYS}` }],
    );
  }
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  const start = Math.floor(now.getTime() / 1000) * 1000;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [name] }],
    notBefore: new Date(start - BACKDATE_MS),
    notAfter: new Date(start + validityDays * DAY_MS),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    certificatePem: derToPem(new Uint8Array(cert.rawData), 'CERTIFICATE'),
    privateKeyPem: derToPem(new Uint8Array(pkcs8), 'PRIVATE KEY'),
  };
}

const unusable = (message: string): IssuingError => new IssuingError('ISSUING_CA_INVALID', message);

/**
 * Checks an existing CA for import as an issuing CA. Certificate problems use the CA_* codes
 * of CA registration (malformed, not a CA, expired, not yet valid, weak key or signature);
 * ISSUING_CA_INVALID covers what issuing needs beyond that: critical basicConstraints, an SKI
 * and keyCertSign (pki/chain requires them of every issuer), a key that matches the certificate,
 * and a chain (if given) that the certificate really chains to.
 */
export function checkImportedCa(opts: {
  certificatePem: string;
  privateKeyPem: string;
  chainPem?: string;
  now: Date;
}): ImportedCa {
  const { facts } = checkCaCertificate(opts.certificatePem, opts.now);
  const cert = parseCaCertificate(facts.pem);
  const bc = cert.ext.basicConstraints;
  if (cert.ext.problem) throw unusable(`the CA certificate has a bad extension: ${cert.ext.problem.detail}`);
  if (!bc?.critical) throw unusable('basicConstraints must be critical');
  if (!cert.ext.subjectKeyId) throw unusable('the CA certificate has no subjectKeyIdentifier');
  if (cert.ext.keyUsage !== undefined && (cert.ext.keyUsage & (1 << KU.keyCertSign)) === 0) {
    throw unusable('keyUsage does not allow keyCertSign');
  }
  const weak = checkPublicKey(cert.spki);
  if (weak) throw new CertflowError('CA_WEAK_KEY', weak.detail);
  const key = importPrivateKey(opts.privateKeyPem);
  if (!keyMatchesPublicKey(key, cert.spki))
    throw unusable('the private key does not match the CA certificate');
  const chain = parseChainPem(opts.chainPem);
  if (chain.length > 0) {
    const result = validateChain({ leaf: cert.der, trustAnchors: chain.map((c) => c.der), now: opts.now });
    if (!result.ok)
      throw unusable(
        `the CA certificate does not chain to the given chain: ${result.code} (${result.detail})`,
      );
  }
  return {
    subject: facts.subject,
    fingerprintSha256: facts.fingerprintSha256,
    notBefore: facts.notBefore,
    notAfter: facts.notAfter,
    certificatePem: derToPem(cert.der, 'CERTIFICATE'),
    chainPem: chain.map((c) => derToPem(c.der, 'CERTIFICATE')).join(''),
    privateKeyPem: exportPrivateKeyPem(key),
  };
}
