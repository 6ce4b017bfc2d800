import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { randomUUID } from 'node:crypto';
import { CertflowError } from '../../domain/errors';
import { revokeWorkflowId } from '../../domain/ids';
import type { RevocationTarget, RevokeInput, RevokeResult } from '../../domain/rotation';
import { getDeviceById } from '../../registry/devices';
import { listDeviceCertificates } from '../../registry/revocations';
import type { Database } from '../../registry/schema';
import { deviceSearchAttributes } from '../../workflows/definitions';
import { awaitAnswer } from './workflow-answer';

export interface RevokeDeps {
  db: Kysely<Database>;
  client: Client;
  taskQueue: string;
  answerTimeoutMs: number;
}

/** An `Idempotency-Key`: what a client may safely put into a workflow id. */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,64}$/;

/** A SHA-256 fingerprint as the registry stores it: 64 lower-case hex digits (colons allowed in). */
export function normalizeFingerprint(raw: string): string | undefined {
  const hex = raw.replace(/:/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

/**
 * Revokes a device or one of its certificates through the revocation workflow, and waits
 * (bounded) for its result. The workflow id carries the request id, so a retried request
 * with the same `Idempotency-Key` attaches to the first one, or, once that has finished,
 * gets its result again instead of revoking twice.
 */
export async function revoke(
  deps: RevokeDeps,
  tenantId: string,
  actor: string,
  target: RevocationTarget,
  reason: string,
  idempotencyKey: string | undefined,
): Promise<RevokeResult> {
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw new CertflowError(
      'VALIDATION_FAILED',
      'Idempotency-Key must be 1-64 characters of A-Z a-z 0-9 . _ : -',
      [{ field: 'Idempotency-Key', message: 'must be 1-64 characters of A-Z a-z 0-9 . _ : -' }],
    );
  }
  // Checked here for a precise 404 before any workflow exists; the activity checks again.
  const device = await getDeviceById(deps.db, tenantId, target.deviceId);
  if (!device) throw new CertflowError('DEVICE_NOT_FOUND', `no device ${target.deviceId} in this tenant`);
  if (target.kind === 'certificate') {
    const certificates = await listDeviceCertificates(deps.db, tenantId, target.deviceId);
    if (!certificates.some((c) => c.fingerprintSha256 === target.fingerprintSha256)) {
      throw new CertflowError(
        'CERTIFICATE_NOT_FOUND',
        `device ${target.deviceId} has no certificate ${target.fingerprintSha256}`,
      );
    }
  }

  const requestId = idempotencyKey ?? randomUUID();
  const workflowId = revokeWorkflowId(tenantId, target.deviceId, requestId);
  const input: RevokeInput = { tenantId, target, reason, actor: actor, requestId };
  let handle;
  try {
    handle = await deps.client.workflow.start('revokeDeviceWorkflow', {
      workflowId,
      taskQueue: deps.taskQueue,
      args: [input],
      typedSearchAttributes: deviceSearchAttributes(tenantId, target.deviceId),
      // Running: attach. Finished: refuse to start again, and read the first result below.
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    handle = deps.client.workflow.getHandle(workflowId);
  }
  return awaitAnswer<RevokeResult>(handle, deps.answerTimeoutMs);
}
