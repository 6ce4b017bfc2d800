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
  pauseRunUpdate,
  resumeRunUpdate,
  runStateQuery,
} from './definitions';
import { rotateDeviceWorkflow } from './rotate-device';
import { materializeActivities, runActivities } from './rotation-activities';

const { nextRunItems, settledRunItems, setRunStatus, cancelPendingItems, failLostItems, finishRun } =
  runActivities;
const { materializeRun } = materializeActivities;

/** Child starts per workflow run before continue-as-new: a few thousand history events. */
export const DEFAULT_STARTS_BEFORE_CONTINUE_AS_NEW = 500;
const PAGE = 100;
/**
 * How often the run reads the outcomes of its devices in flight: again soon after a read that
 * found some, backing off to the maximum while none end (devices offline until their deadline
 * cost a read per 10 s, not per 250 ms). While a cancelled or aborted run waits for the last
 * rollbacks it cannot continue as new, so it backs off further: a child stuck until its
 * deadline (up to 30 days) then costs a read per 10 minutes, well within one history.
 */
const POLL_MIN_MS = 250;
const POLL_MAX_MS = 10_000;
const POLL_MAX_STOPPING_MS = 600_000;

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
 * abandoned on close so they outlive continue-as-new. Each writes its outcome to its item, and
 * the run reads the outcomes of those in flight from the registry (a signal per device cost the
 * server about 7 ms of CPU and each child one more workflow task). The registry holds the exact
 * per-device progress; the workflow holds only a cursor, the ids in flight and the failure
 * count, so its history stays bounded at any fleet size.
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

  setHandler(runStateQuery, () => ({
    status: status(),
    inFlight: inFlight.size,
    started: startedTotal,
    failures,
  }));
  // A child counts once, when its outcome is read or when it is reaped as lost.
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
  let pollMs = POLL_MIN_MS;
  let collectedAt = Date.now();
  /** Settles the devices in flight whose rotation has ended (their item has its outcome). */
  const collect = async (): Promise<void> => {
    collectedAt = Date.now();
    if (inFlight.size === 0) return;
    const ended = await settledRunItems({ runId, deviceIds: [...inFlight] });
    for (const item of ended) settle(item.deviceId, item.state === 'succeeded');
    const max = stop === null ? POLL_MAX_MS : POLL_MAX_STOPPING_MS;
    pollMs = ended.length > 0 ? POLL_MIN_MS : Math.min(pollMs * 2, max);
  };
  /** Reads outcomes when a read is due, also while the window has room (abort counts stay exact). */
  const collectIfDue = async (): Promise<void> => {
    if (inFlight.size > 0 && Date.now() - collectedAt >= pollMs) await collect();
  };

  /**
   * A child ends by its deadline and writes its outcome; one that has not an hour (by default)
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
      reason: 'LOST: the device rotation did not end within its deadline plus the grace period',
    });
    // Marked failed unless it ended meanwhile: read back whichever it was.
    await collect();
  };
  /**
   * `condition(ready)`, reading the outcomes of the devices in flight meanwhile and reaping
   * lost ones. With `yieldForContinueAsNew`, returns false instead once the history is long
   * enough to continue as new (a run waiting days for offline devices).
   */
  const until = async (ready: () => boolean, yieldForContinueAsNew = false): Promise<boolean> => {
    for (;;) {
      await collectIfDue();
      if (ready()) return true;
      if (yieldForContinueAsNew && workflowInfo().continueAsNewSuggested) return false;
      if (inFlight.size === 0) return condition(ready).then(() => true);
      const lostAt = nextLostAt() ?? Infinity;
      const wait = Math.min(collectedAt + pollMs, lostAt) - Date.now();
      if (await condition(ready, Math.max(1, wait))) return true;
      await reapLost();
    }
  };
  /** Sleeps `ms` (the rate limit), reading outcomes meanwhile; a stop ends it early. */
  const rest = async (ms: number): Promise<void> => {
    const wakeAt = Date.now() + ms;
    while (stop === null && Date.now() < wakeAt) {
      const wait = Math.min(wakeAt, inFlight.size > 0 ? collectedAt + pollMs : wakeAt) - Date.now();
      await condition(() => stop !== null, Math.max(1, wait));
      await collectIfDue();
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
            deadlineSeconds: options.deadlineSeconds,
            issuingCaId: options.issuingCaId,
            reason: `rotation run ${runId}`,
          },
        ],
      });
    } catch (err) {
      // Started by an earlier attempt: it is in flight and will write its outcome.
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
      // Items are materialized once: nothing new can appear. Wait for the last outcomes.
      const done = await until(() => stop !== null || inFlight.size === 0, true);
      if (stopping() !== null) break;
      if (!done) continue; // continue as new first
      return end('completed', null);
    }
    const room = await until(() => stop !== null || (!paused && inFlight.size < options.concurrency), true);
    if (stopping() !== null) break;
    if (!room) continue; // continue as new first
    // Fill the free slots in one go: the starts of a batch are commands of one workflow task,
    // so the start rate is not bounded by one workflow task round trip per device. With a rate
    // limit, a batch is what the rate allows per second (at least one device).
    const free = Math.min(options.concurrency - inFlight.size, startLimit - startsThisRun);
    const batch = page.splice(
      0,
      interval > 0 ? Math.min(free, Math.max(1, Math.floor(1000 / interval))) : free,
    );
    const last = batch.at(-1);
    if (!last) continue;
    cursor = last.seq;
    // In flight from before the start: the next read of outcomes includes them.
    for (const item of batch) {
      inFlight.add(item.deviceId);
      since.set(item.deviceId, Date.now());
    }
    await Promise.all(batch.map((item) => startRotation(item.deviceId)));
    startsThisRun += batch.length;
    startedTotal += batch.length;
    if (interval > 0) await rest(interval * batch.length);
  }

  // Cancelled or aborted: stop the children in flight (each rolls back and writes its
  // outcome), mark the items never started, then record the end once every child has ended.
  const why = stopping() as Stop;
  await collect();
  const gone: string[] = [];
  await Promise.all(
    [...inFlight].map(async (deviceId) => {
      try {
        await getExternalWorkflowHandle(rotateDeviceWorkflowId(tenantId, deviceId, runId)).cancel();
      } catch {
        // Already closed: it ended (its item has its outcome), or it was terminated and never
        // will write one: don't wait for it.
        gone.push(deviceId);
      }
    }),
  );
  if (gone.length > 0) {
    // Only items still pending or in progress change; then read back every outcome.
    await failLostItems({
      runId,
      deviceIds: gone,
      reason: 'LOST: the device rotation ended without writing its outcome',
    });
    await collect();
  }
  // Not the ones in flight that have not begun yet: each ends itself, rolled back.
  await cancelPendingItems({
    runId,
    reason: `${why.status.toUpperCase()}: ${why.reason}`,
    exceptDeviceIds: [...inFlight],
  });
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
