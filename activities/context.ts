import { Context } from '@temporalio/activity';
import type { WorkflowRef } from '../registry/rotation-steps';

/**
 * The workflow execution running the current activity, for audit events. Activities called
 * outside a worker (tests, scripts) have no Context: they record no workflow.
 */
export function currentWorkflow(): WorkflowRef {
  try {
    const { workflowExecution } = Context.current().info;
    return {
      workflowId: workflowExecution?.workflowId ?? null,
      workflowRunId: workflowExecution?.runId ?? null,
    };
  } catch {
    return { workflowId: null, workflowRunId: null };
  }
}

/** A key unique to this activity invocation and stable across its retries (random outside a worker). */
export function activityKey(fallback: () => string): string {
  try {
    const { workflowExecution, activityId } = Context.current().info;
    return workflowExecution ? `${workflowExecution.runId}/${activityId}` : fallback();
  } catch {
    return fallback();
  }
}

/** Heartbeats when running in a worker; a no-op otherwise. */
export function heartbeat(details?: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // Not in an activity context.
  }
}
