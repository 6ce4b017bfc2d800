// `npm run edge`: the HTTP API and MQTT broker against an external Temporal and registry.
import { startEdge } from '../runtime/edge';
import { loadKek } from '../runtime/kek';
import { createLogger } from '../runtime/logger';
import { describeRegistry, openMigratedRegistry } from '../runtime/registry';
import { onShutdownSignal } from '../runtime/signals';
import { connectClient } from '../runtime/temporal';
import { ConfigError, loadConfig } from './config';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel, 'certflow-edge');
  const address = config.temporal.address ?? 'localhost:7233';
  const registry = await openMigratedRegistry(config.registry);
  const kek = loadKek(config.caKeyEncryptionKey, { dataDir: config.dataDir, createLocal: false });
  const client = await connectClient(address, config.temporal.namespace);
  const edge = await startEdge({
    kek,
    db: registry.db,
    client,
    logger,
    settings: { ...config, taskQueue: config.temporal.taskQueue, eventPollMs: config.edgeEventPollMs },
  });
  logger.info(
    {
      http: edge.httpPort,
      mqtt: edge.broker.ports,
      temporal: address,
      registry: describeRegistry(config.registry),
    },
    'edge running',
  );
  onShutdownSignal(
    async () => {
      await edge.close();
      await client.connection.close();
      await registry.close();
    },
    (msg) => logger.info(msg),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
