// Bench-only worker: runs bench/workflows (one empty workflow) on its own task queue against
// certflow's Temporal server. Usage: empty-worker.ts <temporal address> <task queue>.
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';

async function main(): Promise<void> {
  const [address, taskQueue] = process.argv.slice(2);
  if (!address || !taskQueue) throw new Error('usage: empty-worker.ts <temporal address> <task queue>');
  // SDK default worker settings (certflow's own worker has more slots: runtime/worker.ts
  // WORKER_SLOTS, which an empty workflow does not need); SIGTERM drains it (the Runtime's default).
  // ERROR: it registers no activities on purpose, which the SDK warns about.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue,
    workflowsPath: require.resolve('../workflows'),
  });
  const running = worker.run();
  // Worker.run polls from here on: tell the parent (bench/lib/child-server.ts) it may start workflows.
  process.stdout.write('ready\n');
  await running;
  await connection.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
