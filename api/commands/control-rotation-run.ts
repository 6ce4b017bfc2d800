import { WorkflowNotFoundError } from '@temporalio/client';
import { CertflowError } from '../../domain/errors';
import { rotationRunWorkflowId } from '../../domain/ids';
import type { RunProgress, RunStatus } from '../../domain/rotation';
import { getRotationRun } from '../../registry/runs';
import { cancelRunUpdate, pauseRunUpdate, resumeRunUpdate } from '../../workflows/definitions';
import { asCertflowError } from '../failures';
import type { RunCommandDeps } from './start-rotation-run';

export type RunControl = { verb: 'pause' } | { verb: 'resume' } | { verb: 'cancel'; reason: string };

const FINISHED: readonly RunStatus[] = ['cancelled', 'aborted', 'completed'];

/**
 * Pauses, resumes or cancels a run through an update on its workflow, so the answer is the
 * status the workflow actually reached (a signal would only say "delivered"). The registry's
 * row can lag the workflow by one activity; the returned progress carries the reached status.
 */
export async function controlRotationRun(
  deps: RunCommandDeps,
  tenantId: string,
  runId: string,
  control: RunControl,
): Promise<RunProgress> {
  const run = await getRotationRun(deps.db, tenantId, runId);
  if (!run) throw new CertflowError('ROTATION_NOT_FOUND', `no rotation run ${runId} in this tenant`);
  if (FINISHED.includes(run.status)) {
    throw new CertflowError(
      'RUN_WRONG_STATE',
      `run ${runId} has finished (${run.status}); it cannot ${control.verb}`,
    );
  }
  const handle = deps.client.workflow.getHandle(rotationRunWorkflowId(tenantId, runId));
  let pending: Promise<RunStatus>;
  if (control.verb === 'pause') pending = handle.executeUpdate(pauseRunUpdate);
  else if (control.verb === 'resume') pending = handle.executeUpdate(resumeRunUpdate);
  else pending = handle.executeUpdate(cancelRunUpdate, { args: [{ reason: control.reason }] });

  let status: RunStatus;
  try {
    status = await bounded(
      pending,
      deps.answerTimeoutMs,
      `run ${runId} did not answer ${control.verb} in time`,
    );
  } catch (err) {
    if (err instanceof CertflowError) throw err;
    // The workflow ended between our read and the update: the run is finished.
    if (
      err instanceof WorkflowNotFoundError ||
      /already completed|workflow execution already completed/i.test(String(err))
    ) {
      throw new CertflowError('RUN_WRONG_STATE', `run ${runId} has finished; it cannot ${control.verb}`);
    }
    throw asCertflowError(err) ?? err;
  }
  const after = (await getRotationRun(deps.db, tenantId, runId)) ?? run;
  return { ...after, status };
}

async function bounded<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CertflowError('WORKFLOW_TIMEOUT', message)), ms);
  });
  promise.catch(() => undefined);
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
