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

/** Visibility query listing every workflow that touched a device. */
export function deviceWorkflowsQuery(tenantId: string, deviceId: string): string {
  return `${searchAttributes.tenant} = ${quote(tenantId)} AND ${searchAttributes.device} = ${quote(deviceId)}`;
}

function quote(value: string): string {
  // Visibility queries are SQL-like; ids here are uuids, but escape defensively.
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
