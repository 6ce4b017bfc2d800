import type { X509Certificate } from 'node:crypto';
import { type Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';

/** What a TLS client presented: its leaf certificate at once, the rest of the chain on demand. */
export interface PresentedCertificates {
  /** The leaf certificate (DER); undefined for plain TCP or without a client certificate. */
  leaf: Uint8Array | undefined;
  /** The whole chain, leaf first (DER): only a device's first connect needs more than the leaf. */
  chain(): Uint8Array[];
}

/**
 * Node hands the presented chain (the leaf's `issuerCertificate` links) to the first
 * `getPeerX509Certificate()` of a socket only, so each socket's answer is kept for its later
 * requests (HTTPS keep-alive).
 */
const peers = new WeakMap<TLSSocket, X509Certificate | undefined>();

/**
 * The certificates a TLS client presented. The server does not verify them (rejectUnauthorized:
 * false): certflow builds and validates chains itself, with back-tracking OpenSSL lacks. Cheap
 * on the known-device path: `getPeerX509Certificate` costs about 4 µs a connect here, where
 * `getPeerCertificate(true)`, which builds every certificate as a JavaScript object, cost 176 µs.
 */
export function presentedCertificates(socket: Duplex | undefined): PresentedCertificates {
  if (!(socket instanceof TLSSocket)) return { leaf: undefined, chain: () => [] };
  let peer = peers.get(socket);
  if (!peers.has(socket)) {
    peer = socket.getPeerX509Certificate();
    peers.set(socket, peer);
  }
  return { leaf: peer?.raw, chain: () => chainFrom(peer) };
}

function chainFrom(leaf: X509Certificate | undefined): Uint8Array[] {
  const chain: Uint8Array[] = [];
  const seen = new Set<string>();
  let cert = leaf;
  while (cert && !seen.has(cert.fingerprint256) && chain.length < 16) {
    chain.push(cert.raw);
    seen.add(cert.fingerprint256);
    // A self-signed certificate is its own issuer; `seen` also stops any other cycle.
    cert = cert.issuerCertificate;
  }
  return chain;
}
