import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  setHandler,
  startChild,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import { rotateDeviceWorkflowId } from '../domain/ids';
import {
  type ItemCounts,
  type RotationRunInput,
  type RunCarry,
  type RunStatus,
  startIntervalMs,
} from '../domain/rotation';
import {
  cancelRunUpdate,
  deviceSearchAttributes,
  itemFinishedSignal,
  pauseRunUpdate,
  resumeRunUpdate,
  runStateQuery,
} from './definitions';
import { rotateDeviceWorkflow } from './rotate-device';
import { materializeActivities, runActivities } from './rotation-activities';

const { nextRunItems, setRunStatus, cancelPendingItems, failLostItems, finishRun } = runActivities;
const { materializeRun } = materializeActivities;

/** Child starts per workflow run before continue-as-new: a few thousand history events. */
export const DEFAULT_STARTS_BEFORE_CONTINUE_AS_NEW = 500;
const PAGE = 100;

export interface RotationRunWorkflowInput extends RotationRunInput {
  /** Child starts per workflow run before continuing as new (tests lower it). */
  startsBeforeContinueAsNew?: number;
  /** Seconds past a child's deadline before it counts as lost (default one hour; tests lower it). */
  lostChildGraceSeconds?: number;
}

type Stop = { status: 'cancelled' | 'aborted'; reason: string };

/**
 * A fleet rotation run: a sliding window of per-device rotation children over the run's
 * items (materialized once into rotation_items, read back in pages by seq), at most
 * `concurrency` in flight and at most `ratePerMinute` started per minute. Children are
 * abandoned on close so they outlive continue-as-new, and report back by signal to the run's
 * workflow id (whichever run of it is current). The registry holds the exact per-device
 * progress; the workflow holds only a cursor, the ids in flight and the failure count, so its
 * history stays bounded at any fleet size.
 */
export async function rotationRunWorkflow(input: RotationRunWorkflowInput): Promise<ItemCounts> {
  const { tenantId, runId, options } = input;
  const carry: RunCarry = input.carry ?? {
    materialized: false,
    cursor: 0,
    inFlight: [],
    failures: 0,
    paused: false,
    startedTotal: 0,
  };
  const inFlight = new Set(carry.inFlight);
  const since = new Map(Object.entries(carry.inFlightSince ?? {}));
  // Children carried from before this field existed count from now.
  for (const id of inFlight) if (!since.has(id)) since.set(id, Date.now());
  let { cursor, failures, paused, startedTotal } = carry;
  let stop: Stop | null = null;
  // Set when the run starts ending (no control accepted from then on); `finished` once recorded.
  let finalStatus: RunStatus | null = null;
  let finished = false;
  let startsThisRun = 0;
  // Pause and resume write the status in order (a promise chain as a lock).
  let controls: Promise<void> = Promise.resolve();
  // Read through functions: handlers change these between awaits, which narrowing can't see.
  const stopping = (): Stop | null => stop;
  const status = (): RunStatus => finalStatus ?? (paused ? 'paused' : 'running');
  const { workflowId } = workflowInfo();

  setHandler(runStateQuery, () => ({
    status: status(),
    inFlight: inFlight.size,
    started: startedTotal,
    failures,
  }));
  // A child counts once, when it reports or when it is reaped as lost.
  const settle = (deviceId: string, succeeded: boolean): void => {
    if (!inFlight.delete(deviceId)) return;
    since.delete(deviceId);
    if (!succeeded) failures++;
    const limit = options.abortAfterFailures;
    if (stop === null && limit !== null && failures > limit)
      stop = {
        status: 'aborted',
        reason: `failures exceeded ${limit} (${failures} devices failed or rolled back)`,
      };
  };
  setHandler(itemFinishedSignal, (result) => settle(result.deviceId, result.state === 'succeeded'));

  /**
   * A child ends by its deadline and reports; one that has not reported an hour (by default)
   * after that was terminated or lost by hand: its item is marked failed so the run ends
   * instead of waiting forever (the device's rotation slot is taken over by its next rotation,
   * see registry/rotation-begin.ts).
   */
  const lostAfterMs = (options.deadlineSeconds + (input.lostChildGraceSeconds ?? 3_600)) * 1000;
  const nextLostAt = (): number | undefined => {
    let earliest: number | undefined;
    for (const at of since.values()) earliest = Math.min(earliest ?? Infinity, at + lostAfterMs);
    return earliest;
  };
  const reapLost = async (): Promise<void> => {
    const lost = [...since].filter(([, at]) => at + lostAfterMs <= Date.now()).map(([id]) => id);
    if (lost.length === 0) return;
    await failLostItems({
      runId,
      deviceIds: lost,
      reason: 'LOST: the device rotation did not report back within its deadline plus the grace period',
    });
    for (const deviceId of lost) settle(deviceId, false);
  };
  /** `condition(ready)`, reaping lost children whenever one becomes overdue meanwhile. */
  const until = async (ready: () => boolean): Promise<void> => {
    for (;;) {
      const lostAt = nextLostAt();
      if (lostAt === undefined) return void (await condition(ready));
      if (await condition(ready, Math.max(1, lostAt - Date.now()))) return;
      await reapLost();
    }
  };

  const setPaused = async (value: boolean): Promise<RunStatus> => {
    const previous = controls;
    let release = () => {};
    controls = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      if (stop !== null || finalStatus !== null) throw wrongState(status(), stop);
      if (paused !== value) {
        paused = value;
        await setRunStatus({ tenantId, runId, status: value ? 'paused' : 'running', reason: null });
      }
      return status();
    } finally {
      release();
    }
  };
  const controllable = () => {
    if (stop !== null || finalStatus !== null) throw wrongState(status(), stop);
  };
  setHandler(pauseRunUpdate, () => setPaused(true), { validator: controllable });
  setHandler(resumeRunUpdate, () => setPaused(false), { validator: controllable });
  setHandler(
    cancelRunUpdate,
    async ({ reason }) => {
      stop ??= { status: 'cancelled', reason: reason.trim() || 'cancelled by an operator' };
      await condition(() => finished);
      return status();
    },
    {
      validator: (arg: { reason: string }) => {
        // While a cancel or abort is ending the run, a cancel waits for the same end.
        if (finished || (finalStatus !== null && stop === null)) throw wrongState(status(), null);
        const reason = (arg as { reason?: unknown } | undefined)?.reason;
        if (typeof reason !== 'string' || reason.length > 500)
          throw ApplicationFailure.create({
            type: 'VALIDATION_FAILED',
            message: 'reason must be a string of at most 500 characters',
            nonRetryable: true,
          });
      },
    },
  );

  const end = async (
    to: Extract<RunStatus, 'completed' | 'cancelled' | 'aborted'>,
    reason: string | null,
  ) => {
    finalStatus = to;
    // A pause or resume already writing its status goes first; the final status is the last.
    await controls;
    const counts = await finishRun({ tenantId, runId, status: to, reason });
    finished = true;
    await condition(allHandlersFinished);
    return counts;
  };

  const startRotation = async (deviceId: string): Promise<void> => {
    try {
      await startChild(rotateDeviceWorkflow, {
        workflowId: rotateDeviceWorkflowId(tenantId, deviceId, runId),
        parentClosePolicy: ParentClosePolicy.ABANDON,
        // Never a second rotation of a device in one run, even after a reset of this workflow.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: deviceSearchAttributes(tenantId, deviceId),
        args: [
          {
            tenantId,
            deviceId,
            rotationId: runId,
            runId,
            parentWorkflowId: workflowId,
            deadlineSeconds: options.deadlineSeconds,
            issuingCaId: options.issuingCaId,
            reason: `rotation run ${runId}`,
          },
        ],
      });
    } catch (err) {
      // Started by an earlier attempt: it is in flight and will report.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  };

  if (!carry.materialized) await materializeRun({ tenantId, runId });
  const startLimit = input.startsBeforeContinueAsNew ?? DEFAULT_STARTS_BEFORE_CONTINUE_AS_NEW;
  const interval = startIntervalMs(options.ratePerMinute);
  let page: { deviceId: string; seq: number }[] = [];
  let exhausted = false;

  while (stopping() === null) {
    if (startsThisRun >= startLimit || workflowInfo().continueAsNewSuggested) {
      // A cancel update waits for the end of the run, so it cannot wait for handlers here.
      await condition(() => stop !== null || allHandlersFinished());
      if (stopping() !== null) break;
      const next: RunCarry = {
        materialized: true,
        cursor,
        inFlight: [...inFlight],
        inFlightSince: Object.fromEntries(since),
        failures,
        paused,
        startedTotal,
      };
      return continueAsNew<typeof rotationRunWorkflow>({ ...input, carry: next });
    }
    if (page.length === 0 && !exhausted) {
      page = await nextRunItems({ runId, afterSeq: cursor, limit: PAGE });
      exhausted = page.length === 0;
    }
    if (exhausted) {
      // Items are materialized once: nothing new can appear. Wait for the last reports.
      await until(() => stop !== null || inFlight.size === 0);
      if (stopping() !== null) break;
      return end('completed', null);
    }
    await until(() => stop !== null || (!paused && inFlight.size < options.concurrency));
    if (stopping() !== null) break;
    // Fill the free slots in one go: the starts of a batch are commands of one workflow task,
    // so the start rate is not bounded by one workflow task round trip per device. With a rate
    // limit, a batch is what the rate allows per second (at least one device).
    const room = Math.min(options.concurrency - inFlight.size, startLimit - startsThisRun);
    const batch = page.splice(
      0,
      interval > 0 ? Math.min(room, Math.max(1, Math.floor(1000 / interval))) : room,
    );
    const last = batch.at(-1);
    if (!last) continue;
    cursor = last.seq;
    // In flight before the start resolves: a fast child may report before that.
    for (const item of batch) {
      inFlight.add(item.deviceId);
      since.set(item.deviceId, Date.now());
    }
    await Promise.all(batch.map((item) => startRotation(item.deviceId)));
    startsThisRun += batch.length;
    startedTotal += batch.length;
    if (interval > 0) await condition(() => stop !== null, interval * batch.length);
  }

  // Cancelled or aborted: stop the children in flight (each rolls back and reports), mark
  // the items never started, then record the end once every child has reported.
  const why = stopping() as Stop;
  const gone: string[] = [];
  await Promise.all(
    [...inFlight].map(async (deviceId) => {
      try {
        await getExternalWorkflowHandle(rotateDeviceWorkflowId(tenantId, deviceId, runId)).cancel();
      } catch {
        // Already closed: it reported before closing (then it is no longer in flight), or it
        // was terminated and never will: don't wait for it.
        if (inFlight.has(deviceId)) gone.push(deviceId);
      }
    }),
  );
  if (gone.length > 0) {
    await failLostItems({
      runId,
      deviceIds: gone,
      reason: 'LOST: the device rotation ended without reporting',
    });
    for (const deviceId of gone) settle(deviceId, false);
  }
  await cancelPendingItems({ runId, reason: `${why.status.toUpperCase()}: ${why.reason}` });
  await until(() => inFlight.size === 0);
  return end(why.status, why.reason);
}

function wrongState(status: RunStatus, stop: Stop | null): ApplicationFailure {
  const now = stop ? `being ${stop.status}` : status;
  return ApplicationFailure.create({
    type: 'RUN_WRONG_STATE',
    message: `the rotation run is ${now}`,
    nonRetryable: true,
  });
}
