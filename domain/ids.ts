/**
 * Workflow ids, task queues and search attribute names, built in one place so that HTTP,
 * MQTT and the CLI start workflows identically (and so duplicates collide on purpose).
 */
export const DEFAULT_TASK_QUEUE = 'certflow';

/** Custom search attributes registered on the namespace (Keyword type). */
export const searchAttributes = {
  tenant: 'CertflowTenant',
  device: 'CertflowDevice',
} as const;

/**
 * One creation workflow per (tenant, device name): a second concurrent create of the same
 * name collides on the workflow id instead of racing in the registry.
 */
export function createDeviceWorkflowId(tenantId: string, deviceName: string): string {
  return `device-create/${tenantId}/${deviceName}`;
}

/**
 * One JITP workflow per (tenant, certificate): every concurrent first connect of a device
 * attaches to the same run.
 */
export function provisionX509WorkflowId(tenantId: string, certificateSha256: string): string {
  return `device-jitp/${tenantId}/${certificateSha256}`;
}

/** One claim (provision key/secret) workflow per (tenant, device name) at a time. */
export function claimDeviceWorkflowId(tenantId: string, deviceName: string): string {
  return `device-claim/${tenantId}/${deviceName}`;
}

/** One rotation workflow per (tenant, device, rotation attempt); a run's retry of a start collides. */
export function rotateDeviceWorkflowId(tenantId: string, deviceId: string, rotationId: string): string {
  return `device-rotate/${tenantId}/${deviceId}/${rotationId}`;
}

/** One workflow per fleet rotation run; it continues-as-new under the same id. */
export function rotationRunWorkflowId(tenantId: string, runId: string): string {
  return `rotation-run/${tenantId}/${runId}`;
}

/** One revocation workflow per request (the request id makes a retried API call idempotent). */
export function revokeWorkflowId(tenantId: string, deviceId: string, requestId: string): string {
  return `device-revoke/${tenantId}/${deviceId}/${requestId}`;
}

/** The Temporal Schedule that sweeps for certificates due for renewal (one per namespace). */
export const RENEWAL_SCHEDULE_ID = 'certflow-renewal-sweep';

/** Each sweep's workflow id is derived from the schedule's (Temporal appends the start time). */
export const RENEWAL_SWEEP_WORKFLOW_ID = 'renewal-sweep';

/** Visibility query listing every workflow that touched a device. */
export function deviceWorkflowsQuery(tenantId: string, deviceId: string): string {
  return `${searchAttributes.tenant} = ${quote(tenantId)} AND ${searchAttributes.device} = ${quote(deviceId)}`;
}

function quote(value: string): string {
  // Visibility queries are SQL-like; ids here are uuids, but escape defensively.
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
