import type { Certflow } from './certflow';
import { type ChildServer, startChildServer } from './child-server';
import type { Watched } from './procs';

/** The empty worker's task queue: apart from certflow's, so no certflow worker polls it. */
export const EMPTY_TASK_QUEUE = 'bench-empty';
export const EMPTY_WORKFLOW = 'emptyWorkflow';

export interface EmptyWorker {
  watched: Watched;
  stop(): Promise<void>;
}

/**
 * Starts bench/servers/empty-worker.ts (its own Node process, like certflow's worker is its own
 * process) against certflow's Temporal dev server; resolves once it polls.
 */
export async function startEmptyWorker(cf: Certflow): Promise<EmptyWorker> {
  const child: ChildServer = await startChildServer('empty-worker', [cf.temporalAddress, EMPTY_TASK_QUEUE]);
  return { watched: { pid: child.pid, role: 'empty worker' }, stop: () => child.stop() };
}
