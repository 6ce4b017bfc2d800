import { Client, Connection } from '@temporalio/client';
import type { Certflow } from '../lib/certflow';
import type { BenchContext } from '../lib/context';
import { EMPTY_TASK_QUEUE, EMPTY_WORKFLOW, type EmptyWorker } from '../lib/empty-worker';
import { measure, type ScenarioResult } from '../lib/measure';
import { self } from '../lib/procs';

/**
 * The workflow engine's own rate: `n` empty workflows (bench/workflows, run by the bench-only
 * empty worker) started and awaited through a Temporal client at the bench's concurrency, on
 * certflow's Temporal dev server. `label` keeps workflow ids apart between runs.
 */
export async function emptyWorkflows(
  ctx: BenchContext,
  cf: Certflow,
  worker: EmptyWorker,
  run: { id: string; title: string; n: number; label: string },
): Promise<ScenarioResult> {
  const connection = await Connection.connect({ address: cf.temporalAddress });
  const client = new Client({ connection });
  try {
    const r = await measure(run.id, run.title, {
      n: run.n,
      concurrency: ctx.opts.concurrency,
      maxSeconds: ctx.opts.maxSeconds,
      watched: [...cf.processes(), worker.watched, self],
      task: async (i) => {
        await client.workflow.execute(EMPTY_WORKFLOW, {
          workflowId: `bench-empty-${run.label}-${String(i).padStart(6, '0')}`,
          taskQueue: EMPTY_TASK_QUEUE,
        });
      },
    });
    r.notes = [
      `empty workflow (no activity) on task queue ${EMPTY_TASK_QUEUE}, own worker process, SDK default worker settings`,
    ];
    return r;
  } finally {
    await connection.close();
  }
}
