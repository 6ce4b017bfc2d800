import { serve, type ServerType } from '@hono/node-server';
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createEdgeEventHandler, startEdgeEventFeed } from '../api/edge/event-feed';
import { createCertificateAuthenticator } from '../api/edge/first-connect';
import { RateLimiter } from '../api/edge/rate-limit';
import { createEdgeRotation } from '../api/edge/rotation';
import { createTrustStore, type TrustStoreOptions } from '../api/edge/trust-store';
import { createApp } from '../api/http/app';
import { startCoapProvisioning } from '../api/provisioning/coap';
import { startExternalProvisioning } from '../api/provisioning/mqtt-external';
import { createProvisionHandler } from '../api/provisioning/provision';
import { createDeviceApp } from '../api/http/device-app';
import { type EmbeddedBroker, startBroker } from '../api/mqtt/broker';
import { createGatewayHandler } from '../api/mqtt/gateway';
import { PublicKeyCache } from '../pki/chain';
import type { Kek } from '../pki/issuing/key-envelope';
import { ensureServerIdentity } from '../pki/server-identity';
import { pingRegistry } from '../registry/connect';
import type { Database } from '../registry/schema';
import type { Config } from '../workers/config';

export type EdgeSettings = Pick<
  Config,
  | 'dataDir'
  | 'host'
  | 'port'
  | 'mqttPort'
  | 'mqttsPort'
  | 'deviceHttpsPort'
  | 'publicHostname'
  | 'workflowAnswerTimeoutMs'
  | 'jitp'
  | 'clockSkewSeconds'
  | 'caExpiryWarningDays'
  | 'provisioning'
> & {
  taskQueue: string;
  trustStore?: TrustStoreOptions;
  /** How often the edge polls the registry's edge events (revocations, rotation requests). */
  eventPollMs?: number;
  /**
   * The client is built on the NativeConnection of a worker in this process that polls
   * `taskQueue` (the all-in-one): provisioning and device creation ask for eager workflow start.
   */
  eagerStart?: boolean;
};

export interface EdgeOptions {
  /** Encrypts issuing CA keys created or imported through the API. */
  kek?: Kek;
  db: Kysely<Database>;
  client: Client;
  logger: Logger;
  settings: EdgeSettings;
}

export interface Edge {
  httpPort: number;
  deviceHttpsPort: number;
  coapPort: number;
  broker: EmbeddedBroker;
  caFile: string;
  close(): Promise<void>;
}

function listen(options: Parameters<typeof serve>[0]): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve, reject) => {
    const server = serve(options, (info) => resolve({ server, port: info.port }));
    server.once('error', reject);
  });
}

/**
 * The edge: the operator HTTP API, the embedded MQTT broker (plain + TLS) and the device
 * HTTPS API, over one registry and Temporal client. Stateless apart from caches and its TLS
 * identity under `dataDir/tls`.
 */
export async function startEdge({ db, client, logger, settings, kek }: EdgeOptions): Promise<Edge> {
  const provision = createProvisionHandler({
    db,
    client,
    taskQueue: settings.taskQueue,
    eagerStart: settings.eagerStart,
    answerTimeoutMs: settings.workflowAnswerTimeoutMs,
    perSource: new RateLimiter(settings.provisioning.perSource),
    logger,
  });
  const app = createApp({
    provision,
    kek,
    db,
    temporal: { client, taskQueue: settings.taskQueue, eagerStart: settings.eagerStart },
    workflowAnswerTimeoutMs: settings.workflowAnswerTimeoutMs,
    caExpiryWarningDays: settings.caExpiryWarningDays,
    logger,
    health: {
      database: () => pingRegistry(db),
      temporal: async () => {
        await client.connection.workflowService.getSystemInfo({});
      },
    },
  });
  const identity = await ensureServerIdentity(join(settings.dataDir, 'tls'), [
    settings.publicHostname,
    'localhost',
    '127.0.0.1',
    '::1',
  ]);
  const authenticateCertificate = createCertificateAuthenticator({
    db,
    client,
    taskQueue: settings.taskQueue,
    eagerStart: settings.eagerStart,
    trustStore: createTrustStore(db, settings.trustStore),
    keyCache: new PublicKeyCache(),
    limits: {
      perCa: new RateLimiter(settings.jitp.perCa),
      perTenant: new RateLimiter(settings.jitp.perTenant),
    },
    holdTimeoutMs: settings.jitp.holdTimeoutMs,
    clockSkewSeconds: settings.clockSkewSeconds,
    logger,
  });
  const rotation = createEdgeRotation({
    db,
    client,
    taskQueue: settings.taskQueue,
    logger,
    answerTimeoutMs: settings.workflowAnswerTimeoutMs,
  });
  const broker = await startBroker({
    db,
    logger,
    host: settings.host,
    port: settings.mqttPort,
    tlsPort: settings.mqttsPort,
    tls: identity,
    authenticateCertificate,
    provision,
    rotation,
    gateway: createGatewayHandler({
      db,
      logger,
      create: {
        client,
        taskQueue: settings.taskQueue,
        eagerStart: settings.eagerStart,
        answerTimeoutMs: settings.workflowAnswerTimeoutMs,
      },
    }),
  });
  const coap = await startCoapProvisioning({
    host: settings.host,
    port: settings.provisioning.coapPort,
    handler: provision,
    logger,
  });
  const external = settings.provisioning.externalMqttUrl
    ? await startExternalProvisioning({
        url: settings.provisioning.externalMqttUrl,
        handler: provision,
        logger,
      })
    : undefined;
  const http = await listen({ fetch: app.fetch, port: settings.port, hostname: settings.host });
  const device = await listen({
    fetch: createDeviceApp({ authenticateCertificate, rotation }).fetch,
    port: settings.deviceHttpsPort,
    hostname: settings.host,
    createServer: createHttpsServer,
    serverOptions: {
      cert: identity.certPem,
      key: identity.keyPem,
      requestCert: true,
      rejectUnauthorized: false,
    },
  });
  // One feed per edge process: revocations and rotation requests reach it within a poll.
  const feed = await startEdgeEventFeed({
    db,
    intervalMs: settings.eventPollMs ?? 500,
    logger,
    onEvent: createEdgeEventHandler({
      forgetDevice: [authenticateCertificate.forgetDevice, (deviceId) => broker.forgetDevice(deviceId)],
      broker,
      rotation,
      logger,
    }),
  });
  return {
    httpPort: http.port,
    deviceHttpsPort: device.port,
    coapPort: coap.port,
    broker,
    caFile: identity.caFile,
    close: async () => {
      await feed.stop();
      await Promise.all([
        new Promise<void>((resolve) => http.server.close(() => resolve())),
        new Promise<void>((resolve) => device.server.close(() => resolve())),
        coap.close(),
        external?.close(),
      ]);
      await broker.close();
    },
  };
}
