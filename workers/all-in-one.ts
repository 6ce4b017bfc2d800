// `npm start`: the whole platform in one process on one machine, with embedded defaults.
import { join, resolve } from 'node:path';
import { ensureBootstrapTenant } from '../registry/tenants';
import { startEdge } from '../runtime/edge';
import { loadKek } from '../runtime/kek';
import { createLogger } from '../runtime/logger';
import { describeRegistry, openMigratedRegistry } from '../runtime/registry';
import { ensureRenewalSchedule } from '../runtime/renewal-schedule';
import { onShutdownSignal } from '../runtime/signals';
import { clientOnWorkerConnection } from '../runtime/temporal';
import { ensureTemporalCli } from '../runtime/temporal-cli';
import { type DevServer, startDevServer } from '../runtime/temporal-dev-server';
import { bundleWorkflows, createWorker, installTemporalRuntime } from '../runtime/worker';
import { ConfigError, loadConfig } from './config';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel, 'certflow');
  const say = (msg: string) => process.stdout.write(`${msg}\n`);
  installTemporalRuntime();

  let devServer: DevServer | undefined;
  let address = config.temporal.address;
  if (!address) {
    const cli = await ensureTemporalCli(
      { explicit: config.temporal.cli, projectRoot: resolve(__dirname, '..'), path: process.env.PATH },
      say,
    );
    say(`Starting the Temporal dev server (${cli})…`);
    devServer = await startDevServer({
      cli,
      ip: '127.0.0.1',
      port: config.temporal.devPort,
      uiPort: config.temporal.devUiPort,
      dbFile: join(config.dataDir, 'temporal.sqlite'),
      namespace: config.temporal.namespace,
    });
    address = devServer.address;
  }

  const registry = await openMigratedRegistry(config.registry);
  const kek = loadKek(config.caKeyEncryptionKey, { dataDir: config.dataDir, createLocal: true });
  const { tenant, adminKey } = await ensureBootstrapTenant(registry.db, config.bootstrapTenant);
  const { worker, connection } = await createWorker({
    address,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    db: registry.db,
    workflowBundle: await bundleWorkflows(),
    activityDeps: {
      kek,
      deviceCertificateDays: config.deviceCertificateDays,
      clockSkewSeconds: config.clockSkewSeconds,
    },
  });
  // The edge's client shares the worker's connection, so first connects and provisioning
  // requests start their workflows eagerly on this process's worker.
  const client = await clientOnWorkerConnection(connection, config.temporal.namespace);
  await ensureRenewalSchedule(client, {
    taskQueue: config.temporal.taskQueue,
    intervalSeconds: config.renewalSweepIntervalSeconds,
  });
  const running = worker.run();
  const edge = await startEdge({
    kek,
    db: registry.db,
    client,
    logger,
    settings: {
      ...config,
      taskQueue: config.temporal.taskQueue,
      eventPollMs: config.edgeEventPollMs,
      eagerStart: true,
    },
  });

  const host = config.publicHostname;
  say('');
  say('certflow is running');
  say(`  API            http://${host}:${edge.httpPort}/api`);
  say(`  Health         http://${host}:${edge.httpPort}/healthz`);
  say(`  OpenAPI        http://${host}:${edge.httpPort}/openapi.json`);
  say(`  API reference  http://${host}:${edge.httpPort}/docs`);
  say(`  MQTT           mqtt://${host}:${edge.broker.ports.plain}`);
  say(`  MQTT over TLS  mqtts://${host}:${edge.broker.ports.tls}  (trust ${edge.caFile})`);
  say(`  Device HTTPS   https://${host}:${edge.deviceHttpsPort}/device/v1/connect  (client certificate)`);
  say(
    `  Provisioning   POST http://${host}:${edge.httpPort}/api/v1/provision, MQTT /provision/request, coap://${host}:${edge.coapPort}/api/v1/provision`,
  );
  say(`  Temporal       ${address} namespace ${config.temporal.namespace}`);
  if (devServer?.uiUrl) say(`  Temporal UI    ${devServer.uiUrl}`);
  say(`  Registry       ${describeRegistry(config.registry)}`);
  say(`  Tenant         ${tenant.name} (${tenant.id})`);
  if (adminKey) {
    say('');
    say(`  Admin API key (shown once, stored hashed): ${adminKey}`);
  }
  say('');

  onShutdownSignal(async () => {
    await edge.close();
    worker.shutdown();
    await running;
    await connection.close(); // the client's too
    await registry.close();
    await devServer?.stop();
  }, say);
  await running;
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error('certflow failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
