import { type Client } from '@temporalio/client';
import type { CreateDeviceInput, DeviceView } from '../../domain/device';
import { CertflowError, type ErrorCode } from '../../domain/errors';
import { createDeviceWorkflowId } from '../../domain/ids';
import { newId } from '../../registry/ids';
import { randomSecret, sha256Hex } from '../../registry/secrets';
import { deviceSearchAttributes } from '../../workflows/definitions';
import { asCertflowError } from '../failures';
import { awaitAnswer } from './workflow-answer';

export interface DeviceRequest {
  name: string;
  label?: string | null;
  productId?: string | null;
  cohortId?: string | null;
  deviceClassId?: string | null;
  profileId?: string | null;
  tags?: string[];
  attributes?: Record<string, string | number | boolean>;
  /** The gateway the device sits behind (set by gateway provisioning, not by operators). */
  gatewayId?: string | null;
  /** Give the device an access token: supplied by the caller, or generated when `token` is absent. */
  accessToken?: { token?: string };
}

export interface CreateDeviceDeps {
  client: Client;
  taskQueue: string;
  /** See `FirstConnectDeps.eagerStart`. */
  eagerStart?: boolean;
  answerTimeoutMs: number;
}

export interface CreatedDevice {
  device: DeviceView;
  /** The access token in clear, returned once when the server generated it. */
  accessToken?: string;
  workflowId: string;
}

/**
 * Starts the creation workflow and waits (bounded) for its answer. The device id is made
 * here so the workflow can carry it as a search attribute from its first event; the token is
 * hashed here so it never enters workflow history.
 */
export async function createDevice(
  deps: CreateDeviceDeps,
  tenantId: string,
  requestedBy: string,
  req: DeviceRequest,
): Promise<CreatedDevice> {
  const deviceId = newId();
  const generated = req.accessToken && req.accessToken.token === undefined ? randomSecret(24) : undefined;
  const token = req.accessToken?.token ?? generated;
  const input: CreateDeviceInput = {
    tenantId,
    deviceId,
    name: req.name,
    label: req.label ?? null,
    productId: req.productId ?? null,
    cohortId: req.cohortId ?? null,
    deviceClassId: req.deviceClassId ?? null,
    profileId: req.profileId ?? null,
    tags: req.tags ?? [],
    attributes: req.attributes ?? {},
    accessTokenHash: token === undefined ? null : sha256Hex(token),
    gatewayId: req.gatewayId ?? null,
    requestedBy,
  };
  const workflowId = createDeviceWorkflowId(tenantId, req.name);
  const handle = await deps.client.workflow.start('createDeviceWorkflow', {
    workflowId,
    taskQueue: deps.taskQueue,
    requestEagerStart: deps.eagerStart === true,
    args: [input],
    typedSearchAttributes: deviceSearchAttributes(tenantId, deviceId),
  });
  const device = await awaitAnswer<DeviceView>(handle, deps.answerTimeoutMs);
  return { device, workflowId, ...(generated ? { accessToken: generated } : {}) };
}

export type BulkItemResult =
  | ({ index: number; name: string; status: 'created' } & CreatedDevice)
  | { index: number; name: string; status: 'failed'; error: { code: ErrorCode; detail: string } };

/**
 * Creates many devices, each through its own workflow, `concurrency` at a time. One item's
 * failure does not stop the others; every item gets a result in request order.
 */
export async function createDevicesInBulk(
  deps: CreateDeviceDeps,
  tenantId: string,
  requestedBy: string,
  items: DeviceRequest[],
  concurrency = 16,
): Promise<BulkItemResult[]> {
  const results: BulkItemResult[] = new Array<BulkItemResult>(items.length);
  const seen = new Set<string>();
  let next = 0;
  const one = async (index: number, item: DeviceRequest): Promise<BulkItemResult> => {
    if (seen.has(item.name)) {
      return failed(
        index,
        item.name,
        new CertflowError('DEVICE_NAME_TAKEN', 'the name appears twice in this request'),
      );
    }
    seen.add(item.name);
    try {
      return {
        index,
        name: item.name,
        status: 'created',
        ...(await createDevice(deps, tenantId, requestedBy, item)),
      };
    } catch (err) {
      const known = asCertflowError(err);
      if (!known) throw err;
      return failed(index, item.name, known);
    }
  };
  const lane = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await one(i, items[i] as DeviceRequest);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return results;
}

function failed(index: number, name: string, err: CertflowError): BulkItemResult {
  return { index, name, status: 'failed', error: { code: err.code, detail: err.message } };
}
