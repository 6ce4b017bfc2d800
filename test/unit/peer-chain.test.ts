import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { presentedCertificates } from '../../api/edge/peer-chain';
import { ensureServerIdentity } from '../../pki/server-identity';
import { createDeviceCert, createIntermediateCa, createRootCa } from '../support/device-pki';

const hex = (pem: string) => new X509Certificate(pem).raw.toString('hex');
const hexOf = (der: Uint8Array | undefined) => (der ? Buffer.from(der).toString('hex') : undefined);

/** One TLS connection with the given client certificates; resolves with the server's socket. */
async function serverSocketFor(dir: string, client: { cert?: string; key?: string }) {
  const identity = await ensureServerIdentity(dir, ['localhost']);
  return new Promise<{ socket: TLSSocket; close(): void }>((resolve, reject) => {
    const server = createServer(
      { cert: identity.certPem, key: identity.keyPem, requestCert: true, rejectUnauthorized: false },
      (socket) =>
        resolve({
          socket,
          close: () => {
            tlsClient.destroy();
            socket.destroy();
            server.close();
          },
        }),
    );
    let tlsClient: TLSSocket;
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      tlsClient = connect({
        port,
        host: '127.0.0.1',
        servername: 'localhost',
        ca: identity.caPem,
        ...client,
      });
      tlsClient.on('error', reject);
    });
  });
}

describe('the certificates a TLS client presented', () => {
  const dir = mkdtempSync(join(tmpdir(), 'certflow-peer-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the leaf, and the chain leaf first, on every request of one connection', async () => {
    const root = await createRootCa({ name: 'CN=Peer Root' });
    const line = await createIntermediateCa(root, { name: 'CN=Peer Line' });
    const device = await createDeviceCert(line, { cn: 'peer-1' });
    const conn = await serverSocketFor(dir, { cert: device.certPem + line.certPem, key: device.keyPem });
    try {
      // Node hands the chain to its first query only: a keep-alive HTTPS connection asks again.
      for (let request = 0; request < 3; request++) {
        const presented = presentedCertificates(conn.socket);
        expect(hexOf(presented.leaf)).toBe(hex(device.certPem));
        expect(presented.chain().map(hexOf)).toEqual([hex(device.certPem), hex(line.certPem)]);
      }
    } finally {
      conn.close();
    }
  });

  it('gives nothing without a client certificate or without TLS', async () => {
    const conn = await serverSocketFor(dir, {});
    try {
      const presented = presentedCertificates(conn.socket);
      expect(presented.leaf).toBeUndefined();
      expect(presented.chain()).toEqual([]);
    } finally {
      conn.close();
    }
    expect(presentedCertificates(undefined).chain()).toEqual([]);
  });
});
