import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { type CryptoKey, webcrypto, x509 } from './crypto';

export interface ServerIdentity {
  /** PEM of the local CA that signed the server certificate: give it to clients as their trust anchor. */
  caPem: string;
  certPem: string;
  keyPem: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY = 86_400_000;
/** Renew the server certificate when it has less than this left. */
const RENEW_BEFORE_MS = 30 * DAY;

/**
 * The TLS identity of the embedded broker (and any TLS edge): a local CA and a server
 * certificate for `hostnames`, made on first start and kept under `dir`. The server
 * certificate is re-issued when it nears expiry or lacks a requested name; the CA is kept, so
 * clients that trust it keep working.
 */
export async function ensureServerIdentity(
  dir: string,
  hostnames: string[],
  now = new Date(),
): Promise<ServerIdentity> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = {
    caFile: join(dir, 'ca.pem'),
    caKeyFile: join(dir, 'ca-key.pem'),
    certFile: join(dir, 'server.pem'),
    keyFile: join(dir, 'server-key.pem'),
  };
  const ca =
    existsSync(files.caFile) && existsSync(files.caKeyFile) ? readCa(files) : await createCa(files, now);
  if (
    !existsSync(files.certFile) ||
    !existsSync(files.keyFile) ||
    needsRenewal(files.certFile, hostnames, now)
  ) {
    await issueServerCert(files, ca, hostnames, now);
  }
  return {
    caPem: readFileSync(files.caFile, 'utf8'),
    certPem: readFileSync(files.certFile, 'utf8'),
    keyPem: readFileSync(files.keyFile, 'utf8'),
    caFile: files.caFile,
    certFile: files.certFile,
    keyFile: files.keyFile,
  };
}

interface Files {
  caFile: string;
  caKeyFile: string;
  certFile: string;
  keyFile: string;
}

function readCa(files: Files) {
  return { certPem: readFileSync(files.caFile, 'utf8'), keyPem: readFileSync(files.caKeyFile, 'utf8') };
}

async function createCa(files: Files, now: Date) {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: 'CN=certflow local CA',
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + 3650 * DAY),
    signingAlgorithm: SIGN,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pems = { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
  writeFileSync(files.caKeyFile, pems.keyPem, { mode: 0o600 });
  writeFileSync(files.caFile, pems.certPem);
  return pems;
}

async function issueServerCert(
  files: Files,
  ca: { certPem: string; keyPem: string },
  hostnames: string[],
  now: Date,
) {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await importKeyPem(ca.keyPem);
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const names = [...new Set(hostnames)].map((h) =>
    isIP(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h },
  );
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${hostnames[0] ?? 'localhost'}`,
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + 397 * DAY),
    signingAlgorithm: SIGN,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  writeFileSync(files.keyFile, await exportKeyPem(keys.privateKey), { mode: 0o600 });
  writeFileSync(files.certFile, cert.toString('pem'));
}

function needsRenewal(certFile: string, hostnames: string[], now: Date): boolean {
  const cert = new x509.X509Certificate(readFileSync(certFile, 'utf8'));
  if (cert.notAfter.getTime() - now.getTime() < RENEW_BEFORE_MS) return true;
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const present = new Set(san?.names.items.map((n) => n.value) ?? []);
  return hostnames.some((h) => !present.has(h));
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importKeyPem(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign']);
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive
  return Buffer.from(bytes).toString('hex');
}
