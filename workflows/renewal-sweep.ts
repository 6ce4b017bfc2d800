import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, startChild, workflowInfo } from '@temporalio/workflow';
import { rotationRunWorkflowId } from '../domain/ids';
import { renewalActivities } from './rotation-activities';
import { rotationRunWorkflow } from './rotation-run';

const { planRenewalRuns } = renewalActivities;

/**
 * One sweep of scheduled renewal, started by the Temporal Schedule: plans one run per (tenant,
 * device class) over the devices whose certificate entered its renewal window, then starts
 * each run. Runs are abandoned children: they outlive the sweep, which only starts them.
 * Planning is idempotent on the sweep's workflow id, and a run already started (a retried
 * sweep) is simply left running.
 */
export async function renewalSweepWorkflow(): Promise<{ runs: string[] }> {
  const { workflowId } = workflowInfo();
  // Workflow time is the replay-safe clock; the activity must not read its own.
  const runs = await planRenewalRuns({ sweepId: workflowId, now: new Date().toISOString() });
  for (const run of runs) {
    try {
      await startChild(rotationRunWorkflow, {
        workflowId: rotationRunWorkflowId(run.tenantId, run.runId),
        parentClosePolicy: ParentClosePolicy.ABANDON,
        args: [{ tenantId: run.tenantId, runId: run.runId, options: run.options }],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
  return { runs: runs.map((r) => r.runId) };
}
