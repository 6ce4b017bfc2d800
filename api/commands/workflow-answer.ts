import type { WorkflowHandle } from '@temporalio/client';
import { CertflowError } from '../../domain/errors';

/**
 * Waits for a workflow's result, bounded: an edge request must not hang on a stuck worker.
 * On timeout the workflow goes on; the error says where to look.
 */
export async function awaitAnswer<T>(handle: WorkflowHandle, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new CertflowError(
            'WORKFLOW_TIMEOUT',
            `workflow ${handle.workflowId} did not answer within ${timeoutMs} ms; it keeps running`,
          ),
        ),
      timeoutMs,
    );
  });
  const result = handle.result();
  // If the timeout wins, the result may still fail later: that must not be an unhandled rejection.
  result.catch(() => undefined);
  try {
    return (await Promise.race([result, timeout])) as T;
  } finally {
    clearTimeout(timer);
  }
}
