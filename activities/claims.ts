import type { Kysely } from 'kysely';
import { claimAuditEvent, type ClaimWorkflowInput } from '../domain/provisioning';
import { claimDevice, type ClaimResult } from '../registry/claims';
import type { Database } from '../registry/schema';
import { stamped } from './audit';
import { permanentOnDomainError } from './failures';

export interface ClaimActivityDeps {
  db: Kysely<Database>;
}

/**
 * Claim provisioning activities; idempotent on the claiming run (see `claimDevice`). Except
 * for a CSR claim, the claim's transaction appends its audit event too: one step where there
 * were two (each step costs the worker a workflow activation).
 */
export function createClaimActivities({ db }: ClaimActivityDeps) {
  return {
    async claimDevice(
      input: ClaimWorkflowInput & { runId: string; createdByWorkflow: string },
    ): Promise<ClaimResult> {
      return permanentOnDomainError(() =>
        claimDevice(
          db,
          {
            tenantId: input.tenantId,
            profile: input.profile,
            newDeviceId: input.newDeviceId,
            deviceName: input.deviceName,
            credential: input.credential.type === 'CSR' ? null : input.credential,
            runId: input.runId,
            createdByWorkflow: input.createdByWorkflow,
          },
          // A CSR claim's workflow appends the event once the certificate is issued.
          input.credential.type === 'CSR'
            ? undefined
            : (claim) => stamped(claimAuditEvent(input, claim, input.runId)),
        ),
      );
    },
  };
}

export type ClaimActivities = ReturnType<typeof createClaimActivities>;
