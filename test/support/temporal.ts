import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { Kysely } from 'kysely';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { type ActivityDeps, createActivities } from '../../activities';
import type { Database } from '../../registry/schema';
import { ensureSearchAttributes } from '../../runtime/search-attributes';
import { WORKER_SLOTS } from '../../runtime/worker';

export const NAMESPACE = 'default';

let quieted = false;
/** Expected failures (a taken name…) are logged by the SDK as warnings: keep test output to errors. */
function quietSdkLogs(): void {
  if (quieted) return;
  quieted = true;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // Already installed in this process: keep it.
  }
}

export async function testClient(): Promise<Client> {
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  await ensureSearchAttributes(connection, NAMESPACE);
  return new Client({ connection, namespace: NAMESPACE });
}

/**
 * A real worker on its own task queue, over the given registry and the bundle built once by
 * the global setup. `stop()` drains it.
 */
export async function startTestWorker(
  db: Kysely<Database>,
  activityDeps: Omit<ActivityDeps, 'db'> = {},
): Promise<{ taskQueue: string; connection: NativeConnection; stop(): Promise<void> }> {
  quietSdkLogs();
  const taskQueue = `test-${randomBytes(6).toString('hex')}`;
  const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const worker = await Worker.create({
    connection,
    namespace: NAMESPACE,
    taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities: createActivities({ db, ...activityDeps }),
    ...WORKER_SLOTS,
  });
  const running = worker.run();
  return {
    taskQueue,
    connection,
    stop: async () => {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}
