import type { Kysely } from 'kysely';
import { claimAuditEvent, type ClaimWorkflowInput } from '../domain/provisioning';
import { claimDevice, type ClaimResult } from '../registry/claims';
import type { Database } from '../registry/schema';
import { recordAudit } from './audit';
import { permanentOnDomainError } from './failures';

export interface ClaimActivityDeps {
  db: Kysely<Database>;
}

/**
 * Claim provisioning activities; idempotent on the claiming run (see `claimDevice`) and the
 * audit event's key. Except for a CSR claim, the claim appends its audit event too: one step
 * where there were two (each step costs the worker a workflow activation).
 */
export function createClaimActivities({ db }: ClaimActivityDeps) {
  return {
    async claimDevice(
      input: ClaimWorkflowInput & { runId: string; createdByWorkflow: string },
    ): Promise<ClaimResult> {
      return permanentOnDomainError(async () => {
        const claim = await claimDevice(db, {
          tenantId: input.tenantId,
          profile: input.profile,
          newDeviceId: input.newDeviceId,
          deviceName: input.deviceName,
          credential: input.credential.type === 'CSR' ? null : input.credential,
          runId: input.runId,
          createdByWorkflow: input.createdByWorkflow,
        });
        if (input.credential.type !== 'CSR')
          await recordAudit(db, claimAuditEvent(input, claim, input.runId));
        return claim;
      });
    },
  };
}

export type ClaimActivities = ReturnType<typeof createClaimActivities>;
