import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  proxyLocalActivities,
} from '@temporalio/workflow';
import type {
  RenewalActivities,
  RevocationActivities,
  RotationActivities,
  RunActivities,
} from '../activities/rotation-contract';
import { isErrorCode } from '../domain/errors';

/**
 * Rotations and runs last days: an outage of the registry must delay them, never fail them.
 * So: no maximum attempts, backoff capped at a minute. Permanent failures are the activities'
 * non-retryable ApplicationFailures typed with a domain/errors code.
 */
const durable = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
} as const;

/**
 * The per-device steps and the run's bookkeeping are short registry transactions: local
 * activities, recorded in the history as markers like any activity result, without an activity
 * task round trip through the server each (the fleet rotation benchmark is bound by the
 * server's work per device). A worker crash re-runs an unrecorded one: they are idempotent.
 */
export const rotationActivities = proxyLocalActivities<RotationActivities>(durable);

export const runActivities = proxyLocalActivities<RunActivities>(durable);

/** materializeRun pages through up to 100,000 devices, heartbeating its position. */
export const materializeActivities = proxyActivities<Pick<RunActivities, 'materializeRun'>>({
  ...durable,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
});

/** Planning pages through every class's devices, heartbeating its position. */
export const renewalActivities = proxyActivities<RenewalActivities>({
  ...durable,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
});

/**
 * The operator API waits for a revocation (briefly: short timeouts, fast retries). An outage
 * makes the API answer 504 while the revocation still takes effect once the registry is back:
 * no maximum attempts.
 */
export const revocationActivities = proxyLocalActivities<RevocationActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});

/** The domain error code of an activity's permanent failure, or null for anything else. */
export function domainFailureType(err: unknown): string | null {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && isErrorCode(cause.type)) return cause.type;
  return null;
}

/**
 * The device may retry with a good CSR: a domain refusal from the activity fails this update
 * only, re-thrown as an ApplicationFailure of the same type so the edge maps it to its code.
 */
export function rethrowDomainFailure(err: unknown): never {
  const type = domainFailureType(err);
  if (type === null) throw err;
  throw ApplicationFailure.create({ type, message: rootMessage(err), nonRetryable: true });
}

export function rootMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(err);
}
