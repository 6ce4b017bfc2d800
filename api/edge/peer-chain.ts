import { type Duplex } from 'node:stream';
import { type DetailedPeerCertificate, TLSSocket } from 'node:tls';

/**
 * The certificate chain a TLS client presented, leaf first, as DER. Empty for plain TCP or
 * when no certificate was sent. The server does not verify it (rejectUnauthorized: false):
 * certflow builds and validates chains itself, with back-tracking OpenSSL lacks.
 */
export function presentedChain(socket: Duplex | undefined): Uint8Array[] {
  if (!(socket instanceof TLSSocket)) return [];
  const chain: Uint8Array[] = [];
  const seen = new Set<string>();
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (cert?.raw && !seen.has(cert.fingerprint256) && chain.length < 16) {
    chain.push(new Uint8Array(cert.raw));
    seen.add(cert.fingerprint256);
    // OpenSSL links the last certificate to itself; `seen` also stops any other cycle.
    const next: DetailedPeerCertificate | undefined = cert.issuerCertificate;
    cert = next === cert ? undefined : next;
  }
  return chain;
}
