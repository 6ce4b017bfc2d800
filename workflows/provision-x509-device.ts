import { proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { AuditActivities } from '../activities/audit';
import type { JitpActivities } from '../activities/jitp';
import type { ProvisionedDevice, ProvisionX509Input } from '../domain/device';

// Local activities: each step runs in the worker inside the workflow task and is recorded in the
// history as a marker, so a crash replays from the recorded results exactly as with ordinary
// activities, while the server is spared an activity task round trip per step (the JITP storm
// and HTTP provisioning benchmarks were bound by the dev server's work per activity).
const { validateDeviceCertificate, createProvisionedDevice, recordAuditEvent } = proxyLocalActivities<
  JitpActivities & AuditActivities
>({
  // A device is holding its CONNECT open for this: retry registry hiccups quickly, briefly.
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '100 milliseconds', backoffCoefficient: 2, maximumInterval: '2 seconds' },
});

/**
 * Just-in-time provisioning of a device presenting a certificate from a registered CA. The
 * workflow id is derived from tenant + certificate fingerprint and started with
 * "use existing" on conflict, so every concurrent first connect of one device waits on this
 * one run. Each step is an idempotent activity; the history records the chain decision, the
 * device created and the audit event.
 */
export async function provisionX509DeviceWorkflow(input: ProvisionX509Input): Promise<ProvisionedDevice> {
  const validated = await validateDeviceCertificate({
    tenantId: input.tenantId,
    leafPem: input.leafPem,
    intermediatePems: input.intermediatePems,
  });
  const device = await createProvisionedDevice({
    tenantId: input.tenantId,
    deviceId: input.deviceId,
    leafPem: input.leafPem,
    validated,
    createdByWorkflow: workflowInfo().workflowId,
  });
  await recordAuditEvent({
    tenantId: input.tenantId,
    eventKey: `device.provisioned/${device.deviceId}/${validated.fingerprintSha256}`,
    type: 'device.provisioned',
    actor: `device:${validated.fingerprintSha256}`,
    deviceId: device.deviceId,
    caId: validated.caId,
    data: {
      via: input.via,
      name: device.deviceName,
      certificate: {
        fingerprintSha256: validated.fingerprintSha256,
        serialHex: validated.serialHex,
        notAfter: validated.notAfter,
      },
      chain: validated.chain,
    },
  });
  return device;
}
