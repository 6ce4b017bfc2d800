import { proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { JitpActivities } from '../activities/jitp';
import type { ProvisionedDevice, ProvisionX509Input } from '../domain/device';

// A local activity: the step runs in the worker inside the workflow task and is recorded in the
// history as a marker, so a crash replays from the recorded result exactly as with an ordinary
// activity, while the server is spared an activity task round trip (the JITP storm and HTTP
// provisioning benchmarks were bound by the dev server's work per activity). One step rather
// than three: each step costs the worker a workflow activation.
const { provisionDeviceFromCertificate } = proxyLocalActivities<JitpActivities>({
  // A device is holding its CONNECT open for this: retry registry hiccups quickly, briefly.
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '100 milliseconds', backoffCoefficient: 2, maximumInterval: '2 seconds' },
});

/**
 * Just-in-time provisioning of a device presenting a certificate from a registered CA. The
 * workflow id is derived from tenant + certificate fingerprint and started with
 * "use existing" on conflict, so every concurrent first connect of one device waits on this
 * one run. Its one idempotent step checks the chain, creates the device and appends the audit
 * event; the history records the chain decision and the device.
 */
export async function provisionX509DeviceWorkflow(input: ProvisionX509Input): Promise<ProvisionedDevice> {
  const { device } = await provisionDeviceFromCertificate({
    ...input,
    createdByWorkflow: workflowInfo().workflowId,
  });
  return device;
}
