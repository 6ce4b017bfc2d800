import {
  type Client,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleUpdateOptions,
} from '@temporalio/client';
import { RENEWAL_SCHEDULE_ID, RENEWAL_SWEEP_WORKFLOW_ID } from '../domain/ids';
import type { renewalSweepWorkflow } from '../workflows/renewal-sweep';

export interface RenewalScheduleOptions {
  taskQueue: string;
  /** Seconds between sweeps; 0 removes the schedule (renewal off). */
  intervalSeconds: number;
}

/**
 * Makes the namespace's one renewal Schedule match this process's settings: created if
 * missing, otherwise updated in place (interval, task queue), removed when the interval is 0.
 * Every worker calls it at startup, concurrently if need be: a creation that loses the race
 * updates instead, and the settings written are the same. Overlap SKIP: a sweep still running
 * (a large fleet) is never doubled by the next tick.
 */
export async function ensureRenewalSchedule(
  client: Client,
  { taskQueue, intervalSeconds }: RenewalScheduleOptions,
): Promise<'created' | 'updated' | 'deleted' | 'absent'> {
  const handle = client.schedule.getHandle(RENEWAL_SCHEDULE_ID);
  if (intervalSeconds <= 0) {
    try {
      await handle.delete();
      return 'deleted';
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return 'absent';
      throw err;
    }
  }
  const settings: ScheduleUpdateOptions<ScheduleOptionsStartWorkflowAction<typeof renewalSweepWorkflow>> = {
    spec: { intervals: [{ every: `${intervalSeconds} seconds` }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'renewalSweepWorkflow',
      // Temporal appends each action's scheduled time, so every sweep has its own id.
      workflowId: RENEWAL_SWEEP_WORKFLOW_ID,
      taskQueue,
      args: [],
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute', pauseOnFailure: false },
    state: { paused: false, note: 'certflow scheduled renewal (managed by the workers)' },
  };
  try {
    await client.schedule.create({ scheduleId: RENEWAL_SCHEDULE_ID, ...settings });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await handle.update(() => settings);
  return 'updated';
}
