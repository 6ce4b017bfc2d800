// Baseline: a trivial Node mTLS server. It verifies the client chain against the factory root
// (as certflow does), answers the first bytes with an MQTT CONNACK (accepted) and nothing more.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:tls';
import { ensureServerIdentity } from '../../pki/server-identity';

const CONNACK_ACCEPTED = Buffer.from([0x20, 0x02, 0x00, 0x00]);

async function main(): Promise<void> {
  const [dir, rootCaFile] = process.argv.slice(2);
  if (!dir || !rootCaFile) throw new Error('usage: tls-baseline <tls dir> <client root CA file>');
  const identity = await ensureServerIdentity(dir, ['localhost', '127.0.0.1']);
  const server = createServer(
    {
      cert: identity.certPem,
      key: identity.keyPem,
      ca: readFileSync(rootCaFile, 'utf8'),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket) => {
      socket.once('data', () => socket.write(CONNACK_ACCEPTED));
      socket.on('error', () => socket.destroy());
    },
  );
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
