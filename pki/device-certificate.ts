import { X509Certificate } from 'node:crypto';
import type { CertificateFields } from '../domain/ca';
import { CertflowError } from '../domain/errors';

export interface DeviceCertificateFacts {
  fields: CertificateFields;
  subject: string;
  fingerprintSha256: string;
  notBefore: string;
  notAfter: string;
  pem: string;
}

function attribute(subject: string, key: string): string | null {
  const line = subject.split('\n').find((l) => l.startsWith(`${key}=`));
  return line ? line.slice(key.length + 1) : null;
}

/** The facts about a device certificate that naming, templates and the registry use. */
export function deviceCertificateFacts(input: string | Uint8Array): DeviceCertificateFacts {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(typeof input === 'string' ? input : Buffer.from(input));
  } catch (err) {
    throw new CertflowError(
      'DEVICE_CERTIFICATE_MALFORMED',
      `not a valid X.509 certificate: ${(err as Error).message}`,
    );
  }
  const sans = (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith('DNS:') || s.startsWith('URI:') || s.startsWith('IP Address:'))
    .map((s) => s.slice(s.indexOf(':') + 1));
  const notAfter = new Date(cert.validTo).toISOString();
  return {
    fields: {
      cn: attribute(cert.subject, 'CN'),
      o: attribute(cert.subject, 'O'),
      ou: attribute(cert.subject, 'OU'),
      serialHex: cert.serialNumber.toLowerCase(),
      notAfter,
      sans,
    },
    subject: cert.subject.replace(/\n/g, ', '),
    fingerprintSha256: cert.fingerprint256.replace(/:/g, '').toLowerCase(),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter,
    pem: cert.toString(),
  };
}

/** DER → PEM, for certificates that arrive raw from a TLS socket. */
export function derToPem(der: Uint8Array): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd();
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}
