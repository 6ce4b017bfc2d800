import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { randomUUID } from 'node:crypto';
import { CertflowError } from '../../domain/errors';
import { rotateDeviceWorkflowId } from '../../domain/ids';
import { DEFAULT_ROTATION_OPTIONS, type RotateDeviceInput } from '../../domain/rotation';
import { getDeviceById } from '../../registry/devices';
import { getPendingRotation } from '../../registry/rotations';
import type { Database } from '../../registry/schema';
import { deviceSearchAttributes } from '../../workflows/definitions';

export interface RotateDeviceDeps {
  db: Kysely<Database>;
  client: Client;
  taskQueue: string;
}

/**
 * Starts an ad hoc rotation of one device (outside any run) and answers at once: the rotation
 * waits for the device, possibly for days. Obvious refusals are answered here; the workflow's
 * first activity decides for good (it owns the device's one rotation slot).
 */
export async function rotateDevice(
  deps: RotateDeviceDeps,
  tenantId: string,
  deviceId: string,
  req: { deadlineSeconds?: number; issuingCaId?: string | null },
): Promise<{ rotationId: string; workflowId: string }> {
  const device = await getDeviceById(deps.db, tenantId, deviceId);
  if (!device) throw new CertflowError('DEVICE_NOT_FOUND', `no device ${deviceId} in this tenant`);
  if (device.status === 'revoked') throw new CertflowError('DEVICE_REVOKED', `device ${deviceId} is revoked`);
  if (req.issuingCaId) {
    const ca = await deps.db
      .selectFrom('issuing_cas')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', req.issuingCaId)
      .executeTakeFirst();
    if (!ca) {
      throw new CertflowError(
        'REFERENCE_NOT_FOUND',
        `issuingCaId ${req.issuingCaId} does not exist in this tenant`,
        [{ field: 'issuingCaId', message: 'does not exist in this tenant' }],
      );
    }
  }
  const pending = await getPendingRotation(deps.db, deviceId);
  if (pending) {
    throw new CertflowError(
      'ROTATION_IN_PROGRESS',
      `device ${deviceId} is already rotating (${pending.workflowId})`,
    );
  }
  const rotationId = randomUUID();
  const workflowId = rotateDeviceWorkflowId(tenantId, deviceId, rotationId);
  const input: RotateDeviceInput = {
    tenantId,
    deviceId,
    rotationId,
    runId: null,
    deadlineSeconds: req.deadlineSeconds ?? DEFAULT_ROTATION_OPTIONS.deadlineSeconds,
    issuingCaId: req.issuingCaId ?? null,
    reason: 'operator request',
  };
  await deps.client.workflow.start('rotateDeviceWorkflow', {
    workflowId,
    taskQueue: deps.taskQueue,
    args: [input],
    typedSearchAttributes: deviceSearchAttributes(tenantId, deviceId),
  });
  return { rotationId, workflowId };
}
