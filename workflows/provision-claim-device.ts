import { proxyLocalActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { AuditActivities } from '../activities/audit';
import type { ClaimActivities } from '../activities/claims';
import type { IssuanceActivities } from '../activities/issuance';
import { claimAuditEvent, type ClaimWorkflowInput, type ClaimWorkflowResult } from '../domain/provisioning';
import { deviceSearchAttribute } from './definitions';

// Local activities: each step runs in the worker inside the workflow task and is recorded in the
// history as a marker, so a crash replays from the recorded results exactly as with ordinary
// activities, while the server is spared an activity task round trip per step (the JITP storm
// and HTTP provisioning benchmarks were bound by the dev server's work per activity). As few
// steps as possible: each costs the worker a workflow activation.
const { claimDevice, issueCertificateFromCsr, recordAuditEvent } = proxyLocalActivities<
  ClaimActivities & IssuanceActivities & AuditActivities
>({
  // The device waits on its connection for the answer: retry registry hiccups quickly.
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '100 milliseconds', backoffCoefficient: 2, maximumInterval: '2 seconds' },
});

/**
 * Provisions a device that presented its profile's provision key and secret (ThingsBoard
 * claim provisioning). The edge has checked the secret and hashed every device secret, so
 * the history holds no secret in clear. Steps: claim the device under the profile's strategy
 * (with its credential) and record the audit event; for a CSR, sign it, then record the audit
 * event with the certificate.
 */
export async function provisionClaimDeviceWorkflow(input: ClaimWorkflowInput): Promise<ClaimWorkflowResult> {
  const { runId, workflowId } = workflowInfo();
  const claim = await claimDevice({ ...input, runId, createdByWorkflow: workflowId });
  // The device may have existed (pre-provisioned): make the history findable by its real id.
  if (claim.deviceId !== input.newDeviceId)
    upsertSearchAttributes([{ key: deviceSearchAttribute, value: claim.deviceId }]);
  let certificateChainPem: string | undefined;
  if (input.credential.type === 'CSR') {
    const issued = await issueCertificateFromCsr({
      tenantId: input.tenantId,
      deviceId: claim.deviceId,
      deviceName: claim.deviceName,
      issuingCaId: input.profile.issuingCaId,
      csrPem: input.credential.csrPem,
      runId,
    });
    certificateChainPem = issued.certificateChainPem;
    const certificate = {
      serialHex: issued.serialHex,
      fingerprintSha256: issued.fingerprintSha256,
      notAfter: issued.notAfter,
    };
    // The claim step appended the audit event of every other credential type itself.
    await recordAuditEvent(claimAuditEvent(input, claim, runId, certificate));
  }
  return {
    deviceId: claim.deviceId,
    deviceName: claim.deviceName,
    created: claim.created,
    certificateChainPem,
  };
}
