// `npm run worker`: a stateless worker against an external Temporal and registry (scale-out shape).
import { loadKek } from '../runtime/kek';
import { createLogger } from '../runtime/logger';
import { describeRegistry, openMigratedRegistry } from '../runtime/registry';
import { ensureRenewalSchedule } from '../runtime/renewal-schedule';
import { onShutdownSignal } from '../runtime/signals';
import { connectClient } from '../runtime/temporal';
import { bundleWorkflows, createWorker, installTemporalRuntime } from '../runtime/worker';
import { ConfigError, loadConfig } from './config';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel, 'certflow-worker');
  installTemporalRuntime();
  const address = config.temporal.address ?? 'localhost:7233';
  const registry = await openMigratedRegistry(config.registry);
  // Registers the search attributes on the namespace if this is the first process to connect,
  // and keeps the renewal Schedule in step with this worker's settings.
  const client = await connectClient(address, config.temporal.namespace);
  const schedule = await ensureRenewalSchedule(client, {
    taskQueue: config.temporal.taskQueue,
    intervalSeconds: config.renewalSweepIntervalSeconds,
  });
  await client.connection.close();
  const { worker, connection } = await createWorker({
    address,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    db: registry.db,
    workflowBundle: await bundleWorkflows(),
    activityDeps: {
      kek: loadKek(config.caKeyEncryptionKey, { dataDir: config.dataDir, createLocal: false }),
      deviceCertificateDays: config.deviceCertificateDays,
      clockSkewSeconds: config.clockSkewSeconds,
    },
  });
  logger.info(
    {
      temporal: address,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      registry: describeRegistry(config.registry),
      renewalSchedule: schedule,
    },
    'worker running',
  );
  const running = worker.run();
  onShutdownSignal(
    async () => {
      worker.shutdown();
      await running;
      await connection.close();
      await registry.close();
    },
    (msg) => logger.info(msg),
  );
  await running;
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
