import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { Kysely } from 'kysely';
import { type ActivityDeps, createActivities } from '../activities';
import type { Database } from '../registry/schema';

let runtimeInstalled = false;

/** Keeps the Temporal SDK's own logs to warnings and errors; installed once per process. */
export function installTemporalRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  // shutdownSignals: none: the composition root drains the worker itself, in order.
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
}

/** Bundles the workflows once (webpack; seconds on two cores): do it at start, not per worker. */
export async function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: {
      log: () => undefined,
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: console.warn,
      error: console.error,
    },
  });
}

/**
 * Slots for workflow tasks and local activities, above the SDK's 40 and 100. certflow's steps
 * are short local activities, and the all-in-one starts its provisioning workflows eagerly: a
 * start is handed to this worker only while it has a free workflow task slot, and the rest wait
 * in the server's task queue behind the eager ones. With 40 slots, a 1,000-device JITP storm
 * had a p90 workflow of 3 s beside a p50 of 0.5 s; with 200 the waits even out (p99 1.4 s),
 * at the same CPU. Measured with bench/scenarios/jitp-storm.ts; see docs/benchmarks.md.
 */
export const WORKER_SLOTS = {
  maxConcurrentWorkflowTaskExecutions: 200,
  maxConcurrentLocalActivityExecutions: 200,
} as const;

export interface WorkerOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  db: Kysely<Database>;
  workflowBundle: WorkflowBundleWithSourceMap | { codePath: string };
  /** Activity settings beyond the registry (KEK, certificate lifetime, clock skew). */
  activityDeps?: Omit<ActivityDeps, 'db'>;
}

/** A worker running every certflow workflow and activity. Call `run()`; `shutdown()` drains it. */
export async function createWorker(
  opts: WorkerOptions,
): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({ address: opts.address });
  const worker = await Worker.create({
    connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowBundle: opts.workflowBundle,
    activities: createActivities({ db: opts.db, ...opts.activityDeps }),
    ...WORKER_SLOTS,
  });
  return { worker, connection };
}
