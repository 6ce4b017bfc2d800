import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  RotateDeviceInput,
  RotateDeviceResult,
  RotationIssued,
  RotationPhase,
} from '../domain/rotation';
import { certificateInUseSignal, rotationPhaseQuery, submitCsrUpdate } from './definitions';
import {
  domainFailureType,
  rethrowDomainFailure,
  rootMessage,
  rotationActivities,
} from './rotation-activities';

const { beginDeviceRotation, issueRotationCertificate, completeDeviceRotation, endDeviceRotation } =
  rotationActivities;

/** A CSR for any accepted key type is a few KiB; anything larger is not a CSR. */
const MAX_CSR_LENGTH = 16 * 1024;

/** Phases in which a CSR is accepted. `starting`: update-with-start (simplereenroll) waits for begin. */
const ACCEPTS_CSR: readonly RotationPhase[] = ['starting', 'awaiting_csr', 'awaiting_confirmation'];

/**
 * Make-before-break rotation of one device's certificate. Claims the device's rotation slot,
 * then waits — durably, days if need be — for the device's CSR (the `submitCsrUpdate` update,
 * answered with the new chain) and for its first connect with the new certificate (the edge's
 * `certificateInUseSignal`); only then is the old certificate revoked. On the deadline or a
 * cancellation it rolls back: the new certificate (if any) is revoked and the old one stays.
 *
 * Every activity runs in a non-cancellable scope: a cancellation may interrupt a wait, never a
 * registry step half-observed (an issuance finishing after the rollback would leave the device
 * two active certificates). Each activity is idempotent on the rotation id, so a worker killed
 * anywhere resumes to the same registry state.
 */
export async function rotateDeviceWorkflow(input: RotateDeviceInput): Promise<RotateDeviceResult> {
  const { workflowId, startTime } = workflowInfo();
  const deadline = new Date(startTime.getTime() + input.deadlineSeconds * 1000);
  let phase: RotationPhase = 'starting';
  let refusal: { code: string; reason: string } | null = null;
  let device: { deviceName: string; oldFingerprint: string; issuingCaId: string } | null = null;
  let newFingerprint: string | null = null;
  const usedFingerprints = new Set<string>();
  // CSR updates in progress (counted on entry, before any await) and their lock (a promise
  // chain: two updates never sign at once, and the second sees the first one's outcome).
  let csrUpdates = 0;
  let csrLock: Promise<void> = Promise.resolve();

  setHandler(rotationPhaseQuery, () => phase);
  setHandler(certificateInUseSignal, ({ fingerprintSha256 }) => {
    usedFingerprints.add(fingerprintSha256);
  });
  setHandler(
    submitCsrUpdate,
    async ({ csrPem }): Promise<RotationIssued> => {
      csrUpdates++;
      try {
        await condition(() => phase !== 'starting');
        const previous = csrLock;
        let release = () => {};
        csrLock = new Promise<void>((resolve) => (release = resolve));
        await previous;
        try {
          if (refusal) throw ApplicationFailure.create({ type: refusal.code, message: refusal.reason });
          if (!device || (phase !== 'awaiting_csr' && phase !== 'awaiting_confirmation'))
            throw wrongState(phase);
          const d = device;
          const issued = await CancellationScope.nonCancellable(() =>
            issueRotationCertificate({
              tenantId: input.tenantId,
              deviceId: input.deviceId,
              deviceName: d.deviceName,
              rotationId: input.rotationId,
              workflowId,
              issuingCaId: d.issuingCaId,
              csrPem,
            }),
          ).catch(rethrowDomainFailure);
          newFingerprint = issued.fingerprintSha256;
          phase = 'awaiting_confirmation';
          return issued;
        } finally {
          release();
        }
      } finally {
        csrUpdates--;
      }
    },
    {
      // Refused here, a bad request never reaches the history.
      validator: ({ csrPem }) => {
        if (!ACCEPTS_CSR.includes(phase)) throw wrongState(phase);
        if (typeof csrPem !== 'string' || csrPem.trim() === '' || csrPem.length > MAX_CSR_LENGTH)
          throw ApplicationFailure.create({
            type: 'VALIDATION_FAILED',
            message: `csrPem must be a non-empty PEM string of at most ${MAX_CSR_LENGTH} characters`,
            nonRetryable: true,
          });
      },
    },
  );

  const common = {
    tenantId: input.tenantId,
    deviceId: input.deviceId,
    rotationId: input.rotationId,
    workflowId,
  };
  const finish = async (
    state: RotateDeviceResult['state'],
    reason: string | null,
  ): Promise<RotateDeviceResult> => {
    // No CSR is accepted from here on; wait for one being signed so the rollback sees it.
    phase = 'finishing';
    await condition(() => csrUpdates === 0);
    if (state !== 'succeeded')
      await endDeviceRotation({
        ...common,
        runId: input.runId,
        state,
        reason: reason ?? state,
        oldFingerprint: device?.oldFingerprint ?? null,
      });
    phase = 'done';
    const result: RotateDeviceResult = {
      deviceId: input.deviceId,
      state,
      reason,
      oldFingerprint: device?.oldFingerprint ?? null,
      newFingerprint: state === 'succeeded' ? newFingerprint : null,
    };
    // A fleet run reads the outcome from the item endDeviceRotation/completeDeviceRotation wrote.
    await condition(allHandlersFinished);
    return result;
  };

  const begun = await CancellationScope.nonCancellable(() =>
    beginDeviceRotation({
      ...common,
      runId: input.runId,
      deadline: deadline.toISOString(),
      issuingCaId: input.issuingCaId,
      reason: input.reason,
    }),
  );
  if (!begun.ok) {
    refusal = { code: begun.code, reason: begun.reason };
    return CancellationScope.nonCancellable(() => finish('failed', `${begun.code}: ${begun.reason}`));
  }
  device = {
    deviceName: begun.deviceName,
    oldFingerprint: begun.oldFingerprint,
    issuingCaId: begun.issuingCaId,
  };
  phase = 'awaiting_csr';

  let confirmed: boolean;
  try {
    // Confirmed: the latest certificate issued has been used, and no CSR is being signed
    // (a newer one would supersede it).
    confirmed = await condition(
      () => csrUpdates === 0 && newFingerprint !== null && usedFingerprints.has(newFingerprint),
      Math.max(1, deadline.getTime() - Date.now()),
    );
  } catch (err) {
    if (!isCancellation(err)) throw err;
    const why = input.runId ? 'the rotation run was stopped' : 'the rotation was cancelled';
    return CancellationScope.nonCancellable(() => finish('rolled_back', `CANCELLED: ${why}`));
  }

  return CancellationScope.nonCancellable(async () => {
    if (!confirmed)
      return finish(
        'rolled_back',
        newFingerprint === null
          ? 'DEADLINE: no CSR received before the deadline'
          : 'DEADLINE: the new certificate was not used before the deadline',
      );
    phase = 'finishing';
    const confirmedFingerprint = newFingerprint as string;
    try {
      await completeDeviceRotation({
        ...common,
        runId: input.runId,
        oldFingerprint: begun.oldFingerprint,
        newFingerprint: confirmedFingerprint,
      });
    } catch (err) {
      const type = domainFailureType(err);
      if (type === null) throw err;
      log.warn('rotation could not complete', { deviceId: input.deviceId, type });
      return finish('failed', `${type}: ${rootMessage(err)}`);
    }
    return finish('succeeded', null);
  });
}

function wrongState(phase: RotationPhase): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'ROTATION_WRONG_STATE',
    message: `the rotation accepts no CSR now (phase ${phase})`,
    nonRetryable: true,
  });
}
