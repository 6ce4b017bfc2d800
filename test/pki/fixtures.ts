import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/*
 * Test PKI built with @peculiar/x509 (its default provider is Node's global WebCrypto) on fixed
 * dates, so every test is deterministic in time.
 */

type CryptoKeyPair = webcrypto.CryptoKeyPair;

export const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
export const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
export const VALID_FROM = new Date('2024-01-01T00:00:00Z');
export const VALID_TO = new Date('2034-01-01T00:00:00Z');
export const NOW = new Date('2025-06-01T12:00:00Z');

export interface Issued {
  readonly cert: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
  readonly pem: string;
  readonly der: Uint8Array;
}

export interface IssueOptions {
  subject: string;
  /** Omitted: self-signed. */
  issuer?: Issued;
  /** Reuse a key (re-issued or cross-signed CA); a fresh P-256 key otherwise. */
  keys?: CryptoKeyPair;
  ca?: boolean;
  pathLen?: number;
  notBefore?: Date;
  notAfter?: Date;
  eku?: string[];
  extra?: x509.Extension[];
}

let serial = 0x1000;

export function newKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify']);
}

export async function issue(options: IssueOptions): Promise<Issued> {
  const keys = options.keys ?? (await newKeys());
  const ca = options.ca ?? false;
  const signer = options.issuer;
  const extensions: x509.Extension[] = [
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ca
      ? new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)
      : new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
  ];
  if (ca) extensions.push(new x509.BasicConstraintsExtension(true, options.pathLen, true));
  if (signer) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(signer.keys.publicKey));
  if (options.eku) extensions.push(new x509.ExtendedKeyUsageExtension(options.eku, false));
  extensions.push(...(options.extra ?? []));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: (serial++).toString(16).padStart(6, '0'),
    subject: options.subject,
    issuer: signer ? signer.cert.subject : options.subject,
    notBefore: options.notBefore ?? VALID_FROM,
    notAfter: options.notAfter ?? VALID_TO,
    signingAlgorithm: ECDSA,
    publicKey: keys.publicKey,
    signingKey: (signer?.keys ?? keys).privateKey,
    extensions,
  });
  return { cert, keys, pem: cert.toString('pem'), der: new Uint8Array(cert.rawData) };
}

/** root -> intermediate -> leaf (clientAuth), all ECDSA P-256. */
export async function threeLevelChain(leafOptions: Partial<IssueOptions> = {}) {
  const root = await issue({ subject: 'CN=Test Root,O=certflow', ca: true });
  const intermediate = await issue({
    subject: 'CN=Test Issuing CA,O=certflow',
    issuer: root,
    ca: true,
    pathLen: 0,
  });
  const leaf = await issue({
    subject: 'CN=device-0001',
    issuer: intermediate,
    eku: [CLIENT_AUTH],
    ...leafOptions,
  });
  return { root, intermediate, leaf };
}
