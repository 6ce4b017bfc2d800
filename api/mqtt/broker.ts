import type { Kysely } from 'kysely';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Logger } from 'pino';
import type { AuthenticatedDevice } from '../../registry/devices';
import type { Database } from '../../registry/schema';
import type { CertificateAuthenticator } from '../edge/first-connect';
import { presentedChain } from '../edge/peer-chain';
import { createDeviceAuthenticator } from './device-auth';
import { devicePublishAllowed, deviceSubscribeAllowed } from './topics';

// MQTT 3.1.1 CONNACK return codes (aedes speaks 3.1.1).
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;
const SERVER_UNAVAILABLE = 3;

export interface BrokerOptions {
  db: Kysely<Database>;
  logger: Logger;
  host: string;
  port: number;
  tlsPort: number;
  tls: { certPem: string; keyPem: string };
  /** X.509 devices: known ones are checked, unknown ones provisioned while the CONNECT is held. */
  authenticateCertificate?: CertificateAuthenticator;
}

export interface EmbeddedBroker {
  /** The device behind a connected client id, for later hooks and tests. */
  deviceOf(clientId: string): AuthenticatedDevice | undefined;
  ports: { plain: number; tls: number };
  close(): Promise<void>;
}

function authError(code: number, message: string) {
  return Object.assign(new Error(message), { returnCode: code });
}

/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1) on a plain and a TLS port. Devices
 * authenticate with their access token as the MQTT username, checked against the registry,
 * or over TLS with their certificate (no username). aedes lets `authenticate` answer late, so
 * a first connect is held while the device is provisioned; MQTT 3.1.1 has no "busy" reason,
 * so retryable refusals are CONNACK 3 (server unavailable) and identity refusals 5.
 */
export async function startBroker(opts: BrokerOptions): Promise<EmbeddedBroker> {
  // aedes 1.x ships ESM only; load it dynamically from this CommonJS module.
  const { Aedes } = await import('aedes');
  const authenticateToken = createDeviceAuthenticator(opts.db);
  const devices = new Map<string, AuthenticatedDevice>();

  const broker = await Aedes.createBroker({
    authenticate: (client, username, _password, done) => {
      const chain = presentedChain(client.conn);
      const identify: Promise<AuthenticatedDevice | number> =
        !username && chain.length > 0 && opts.authenticateCertificate
          ? opts.authenticateCertificate(chain).then((outcome) => {
              if (outcome.ok) return outcome.device;
              opts.logger.info(
                { clientId: client.id, code: outcome.code, detail: outcome.detail },
                'certificate refused',
              );
              return outcome.retryable ? SERVER_UNAVAILABLE : NOT_AUTHORIZED;
            })
          : username
            ? authenticateToken(username).then((device) => device ?? BAD_USERNAME_OR_PASSWORD)
            : Promise.resolve(NOT_AUTHORIZED);
      identify.then(
        (result) => {
          if (typeof result === 'number') return done(authError(result, 'connection refused'), false);
          devices.set(client.id, result);
          done(null, true);
        },
        (err: unknown) => {
          opts.logger.error({ err, clientId: client.id }, 'device authentication failed');
          done(authError(SERVER_UNAVAILABLE, 'registry unavailable'), false);
        },
      );
    },
    authorizePublish: (client, packet, done) => {
      if (client && devicePublishAllowed(packet.topic) && devices.has(client.id)) return done(null);
      done(new Error('publish not allowed'));
    },
    authorizeSubscribe: (client, sub, done) => {
      // A null subscription makes aedes answer SUBACK 0x80 for this filter.
      done(null, devices.has(client.id) && deviceSubscribeAllowed(sub.topic) ? sub : null);
    },
  });
  broker.on('clientDisconnect', (client) => devices.delete(client.id));

  const plain = createServer((socket) => broker.handle(socket));
  const secure = createTlsServer(
    { cert: opts.tls.certPem, key: opts.tls.keyPem, requestCert: true, rejectUnauthorized: false },
    (socket) => broker.handle(socket),
  );
  await Promise.all([listen(plain, opts.port, opts.host), listen(secure, opts.tlsPort, opts.host)]);
  const ports = { plain: portOf(plain), tls: portOf(secure) };
  opts.logger.info({ ports }, 'MQTT broker listening');

  return {
    deviceOf: (clientId) => devices.get(clientId),
    ports,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await Promise.all([closeServer(plain), closeServer(secure)]);
    },
  };
}

async function listen(server: Server, port: number, host: string): Promise<void> {
  server.listen(port, host);
  await once(server, 'listening');
}

function portOf(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
