import { proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { DeviceActivities } from '../activities/devices';
import type { CreateDeviceInput, DeviceView } from '../domain/device';

// A local activity: it runs in the worker inside the workflow task and is recorded in the
// history as a marker, so a crash replays from the recorded result exactly as with an ordinary
// activity, while the server is spared an activity task round trip (the JITP storm and HTTP
// provisioning benchmarks were bound by the dev server's work per activity).
const { createDevice } = proxyLocalActivities<DeviceActivities>({
  startToCloseTimeout: '30 seconds',
  // Registry outages are retried with backoff; domain errors are non-retryable failures.
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});

/**
 * Pre-provisions one device: one idempotent step writes it (and its optional access-token
 * credential) to the registry and appends the audit event; the workflow id (tenant + name)
 * makes concurrent duplicate requests collide instead of racing.
 */
export async function createDeviceWorkflow(input: CreateDeviceInput): Promise<DeviceView> {
  return createDevice({ ...input, createdByWorkflow: workflowInfo().workflowId });
}
