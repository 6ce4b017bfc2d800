import { serve, type ServerType } from '@hono/node-server';
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createApp } from '../api/http/app';
import { type EmbeddedBroker, startBroker } from '../api/mqtt/broker';
import { ensureServerIdentity } from '../pki/server-identity';
import { pingRegistry } from '../registry/connect';
import type { Database } from '../registry/schema';

export interface EdgeOptions {
  db: Kysely<Database>;
  client: Client;
  taskQueue: string;
  logger: Logger;
  dataDir: string;
  host: string;
  port: number;
  mqttPort: number;
  mqttsPort: number;
  publicHostname: string;
  workflowAnswerTimeoutMs: number;
}

export interface Edge {
  httpPort: number;
  broker: EmbeddedBroker;
  caFile: string;
  close(): Promise<void>;
}

/** The HTTP API and the embedded MQTT broker (plain + TLS), over one registry and Temporal client. */
export async function startEdge(opts: EdgeOptions): Promise<Edge> {
  const app = createApp({
    db: opts.db,
    temporal: { client: opts.client, taskQueue: opts.taskQueue },
    workflowAnswerTimeoutMs: opts.workflowAnswerTimeoutMs,
    logger: opts.logger,
    health: {
      database: () => pingRegistry(opts.db),
      temporal: async () => {
        await opts.client.connection.workflowService.getSystemInfo({});
      },
    },
  });
  const identity = await ensureServerIdentity(join(opts.dataDir, 'tls'), [
    opts.publicHostname,
    'localhost',
    '127.0.0.1',
    '::1',
  ]);
  const broker = await startBroker({
    db: opts.db,
    logger: opts.logger,
    host: opts.host,
    port: opts.mqttPort,
    tlsPort: opts.mqttsPort,
    tls: identity,
  });
  const { server, port } = await new Promise<{ server: ServerType; port: number }>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: opts.port, hostname: opts.host }, (info) =>
      resolve({ server: s, port: info.port }),
    );
    s.once('error', reject);
  });
  return {
    httpPort: port,
    broker,
    caFile: identity.caFile,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await broker.close();
    },
  };
}
