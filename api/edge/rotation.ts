import { type Client, WithStartWorkflowOperation, WorkflowIdConflictPolicy } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { ProvisionedDevice } from '../../domain/device';
import { rotateDeviceWorkflowId } from '../../domain/ids';
import {
  ACCEPTED_KEY_TYPES,
  type RotateDeviceInput,
  type RotationIssued,
  type RotationRequestMessage,
  type RotationResponseMessage,
} from '../../domain/rotation';
import { newId } from '../../registry/ids';
import { getPendingRotation, type PendingRotation } from '../../registry/rotations';
import type { Database } from '../../registry/schema';
import { deviceSearchAttributes, submitCsrUpdate } from '../../workflows/definitions';

export interface EdgeRotationDeps {
  db: Kysely<Database>;
  client: Client;
  taskQueue: string;
  logger: Logger;
  /** Bound on one CSR exchange (the update waits for issuance by a worker). */
  answerTimeoutMs: number;
  now?: () => Date;
}

/** How long an ad hoc (device-initiated) rotation waits for the new certificate's first use. */
export const AD_HOC_DEADLINE_SECONDS = 86_400;

type Failure = Extract<RotationResponseMessage, { status: 'FAILURE' }>;

/**
 * The edge's half of the rotation protocol, shared by MQTT and HTTPS: what request is
 * pending for a device, and handing a device's CSR to its rotation workflow (the
 * `submitCsrUpdate` update, so the answer — certificate or precise refusal — comes back on the
 * same exchange). The registry says which workflow waits (device_rotations); the workflow
 * decides everything else (CSR checks, issuance, idempotency on the CSR key).
 */
export function createEdgeRotation(deps: EdgeRotationDeps) {
  const now = deps.now ?? (() => new Date());
  // One CSR exchange per device at a time: each costs an issuance, and a device (or a loop in
  // its firmware) must not be able to queue them without bound.
  const busy = new Set<string>();

  /**
   * The request to show the device, unless none is pending or its deadline has passed. A
   * device presenting the rotation's new certificate has rotated already (that very use
   * confirms it): showing it the request again could make it supersede what it just confirmed.
   */
  async function pendingRequest(
    deviceId: string,
    presented: string | null,
  ): Promise<RotationRequestMessage | undefined> {
    const pending = await openRotation(deviceId, presented);
    return pending && requestMessage(pending);
  }

  async function openRotation(deviceId: string, presented: string | null) {
    const pending = await getPendingRotation(deps.db, deviceId);
    if (!pending || Date.parse(pending.deadline) <= now().getTime()) return undefined;
    if (pending.newFingerprint !== null && pending.newFingerprint === presented) return undefined;
    return pending;
  }

  /**
   * Parses and submits a RotationCsrMessage (any JSON) from the device, authenticated with
   * the certificate `presented` (SHA-256); never throws.
   */
  async function submitCsr(
    device: ProvisionedDevice,
    presented: string,
    body: unknown,
  ): Promise<RotationResponseMessage> {
    const rotationId = isRecord(body) && typeof body.rotationId === 'string' ? body.rotationId : '';
    if (!isRecord(body) || !rotationId || typeof body.csr !== 'string' || !body.csr.trim()) {
      return failure(rotationId, 'VALIDATION_FAILED', 'expected {"rotationId": string, "csr": PEM string}');
    }
    const csrPem = body.csr;
    return exclusive(device, rotationId, async () => {
      const pending = await openRotation(device.deviceId, presented);
      if (!pending || pending.tenantId !== device.tenantId) {
        return failure(rotationId, 'ROTATION_NOT_REQUESTED', 'no rotation is pending for this device');
      }
      if (pending.rotationId !== rotationId) {
        return failure(rotationId, 'ROTATION_NOT_REQUESTED', 'this rotation is not the pending one');
      }
      return submitTo(device, pending.workflowId, rotationId, csrPem);
    });
  }

  /**
   * EST simplereenroll: the CSR alone. With a rotation pending it answers that one; without,
   * it starts an ad hoc rotation and submits in one call (update-with-start), so the device
   * gets its certificate on this request and confirms it by using it.
   */
  async function reenroll(
    device: ProvisionedDevice,
    presented: string,
    csrPem: string,
  ): Promise<RotationResponseMessage> {
    return exclusive(device, '', async () => {
      const pending = await getPendingRotation(deps.db, device.deviceId);
      const open = pending && Date.parse(pending.deadline) > now().getTime();
      if (pending && open && pending.newFingerprint !== null && pending.newFingerprint === presented) {
        // Confirmed by this very request; the rotation is finishing. Ask again once it has.
        return failure(
          pending.rotationId,
          'ROTATION_IN_PROGRESS',
          'the previous rotation is finishing; retry',
        );
      }
      if (pending && open && pending.tenantId === device.tenantId) {
        return submitTo(device, pending.workflowId, pending.rotationId, csrPem);
      }
      const rotationId = newId();
      const input: RotateDeviceInput = {
        tenantId: device.tenantId,
        deviceId: device.deviceId,
        rotationId,
        runId: null,
        deadlineSeconds: AD_HOC_DEADLINE_SECONDS,
        issuingCaId: null,
        reason: 'device request (simplereenroll)',
      };
      const workflowId = rotateDeviceWorkflowId(device.tenantId, device.deviceId, rotationId);
      const start = new WithStartWorkflowOperation('rotateDeviceWorkflow', {
        workflowId,
        taskQueue: deps.taskQueue,
        args: [input],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        typedSearchAttributes: deviceSearchAttributes(device.tenantId, device.deviceId),
      });
      deps.logger.info({ deviceId: device.deviceId, workflowId }, 'ad hoc rotation requested by the device');
      return answer(device, rotationId, () =>
        deps.client.workflow.executeUpdateWithStart(submitCsrUpdate, {
          args: [{ csrPem }],
          startWorkflowOperation: start,
        }),
      );
    });
  }

  function submitTo(
    device: ProvisionedDevice,
    workflowId: string,
    rotationId: string,
    csrPem: string,
  ): Promise<RotationResponseMessage> {
    return answer(device, rotationId, () =>
      deps.client.workflow.getHandle(workflowId).executeUpdate(submitCsrUpdate, { args: [{ csrPem }] }),
    );
  }

  async function answer(
    device: ProvisionedDevice,
    rotationId: string,
    update: () => Promise<RotationIssued>,
  ): Promise<RotationResponseMessage> {
    try {
      const issued = await bounded(update(), deps.answerTimeoutMs);
      deps.logger.info(
        { deviceId: device.deviceId, rotationId, fingerprint: issued.fingerprintSha256 },
        'rotation certificate issued',
      );
      return {
        rotationId,
        status: 'SUCCESS',
        certificate: issued.certificatePem,
        certificateChain: issued.chainPem,
        fingerprintSha256: issued.fingerprintSha256,
        notAfter: issued.notAfter,
      };
    } catch (err) {
      const refused = refusalOf(err);
      if (refused) {
        deps.logger.info(
          { deviceId: device.deviceId, rotationId, code: refused.type },
          'rotation CSR refused',
        );
        return failure(rotationId, refused.type, refused.message);
      }
      if (err instanceof WorkflowNotFoundError) {
        return failure(rotationId, 'ROTATION_NOT_REQUESTED', 'the rotation has already ended');
      }
      deps.logger.error({ err, deviceId: device.deviceId, rotationId }, 'rotation CSR not handled');
      return failure(rotationId, 'DEPENDENCY_UNAVAILABLE', 'rotation is unavailable; retry later');
    }
  }

  async function exclusive(
    device: ProvisionedDevice,
    rotationId: string,
    work: () => Promise<RotationResponseMessage>,
  ): Promise<RotationResponseMessage> {
    if (busy.has(device.deviceId)) {
      return failure(rotationId, 'RATE_LIMITED', 'a CSR of this device is already being handled');
    }
    busy.add(device.deviceId);
    try {
      return await work();
    } finally {
      busy.delete(device.deviceId);
    }
  }

  return { pendingRequest, submitCsr, reenroll };
}

export type EdgeRotation = ReturnType<typeof createEdgeRotation>;

export function requestMessage(
  pending: Pick<PendingRotation, 'rotationId' | 'deadline'>,
): RotationRequestMessage {
  return { rotationId: pending.rotationId, deadline: pending.deadline, keyTypes: [...ACCEPTED_KEY_TYPES] };
}

function failure(rotationId: string, errorCode: string, errorMsg: string): Failure {
  return { rotationId, status: 'FAILURE', errorCode, errorMsg };
}

/** The ApplicationFailure a refused update carries (validator or handler), if any. */
function refusalOf(err: unknown): { type: string; message: string } | undefined {
  for (let cause: unknown = err; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof ApplicationFailure && cause.type)
      return { type: cause.type, message: cause.message };
  }
  return undefined;
}

function bounded<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  promise.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
