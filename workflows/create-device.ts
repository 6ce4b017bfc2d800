import { proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { AuditActivities } from '../activities/audit';
import type { DeviceActivities } from '../activities/devices';
import type { CreateDeviceInput, DeviceView } from '../domain/device';

// Local activities: each step runs in the worker inside the workflow task and is recorded in the
// history as a marker, so a crash replays from the recorded results exactly as with ordinary
// activities, while the server is spared an activity task round trip per step (the JITP storm
// and HTTP provisioning benchmarks were bound by the dev server's work per activity).
const { createDevice, recordAuditEvent } = proxyLocalActivities<DeviceActivities & AuditActivities>({
  startToCloseTimeout: '30 seconds',
  // Registry outages are retried with backoff; domain errors are non-retryable failures.
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});

/**
 * Pre-provisions one device: writes it (and its optional access-token credential) to the
 * registry, then records the audit event. Both activities are idempotent, so a crash between
 * them is healed by the retry; the workflow id (tenant + name) makes concurrent duplicate
 * requests collide instead of racing.
 */
export async function createDeviceWorkflow(input: CreateDeviceInput): Promise<DeviceView> {
  const device = await createDevice({ ...input, createdByWorkflow: workflowInfo().workflowId });
  await recordAuditEvent({
    tenantId: input.tenantId,
    eventKey: `device.created/${device.id}`,
    type: 'device.created',
    actor: input.requestedBy,
    deviceId: device.id,
    data: {
      name: device.name,
      productId: device.productId,
      cohortId: device.cohortId,
      deviceClassId: device.deviceClassId,
      tags: device.tags,
      credential: input.accessTokenHash ? 'ACCESS_TOKEN' : null,
    },
  });
  return device;
}
