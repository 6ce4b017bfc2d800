import type { Kysely } from 'kysely';
import type { ClaimWorkflowInput } from '../domain/provisioning';
import { claimDevice, type ClaimResult } from '../registry/claims';
import type { Database } from '../registry/schema';
import { permanentOnDomainError } from './failures';

export interface ClaimActivityDeps {
  db: Kysely<Database>;
}

/** Claim provisioning activities; idempotent on the claiming run (see `claimDevice`). */
export function createClaimActivities({ db }: ClaimActivityDeps) {
  return {
    async claimDevice(
      input: ClaimWorkflowInput & { runId: string; createdByWorkflow: string },
    ): Promise<ClaimResult> {
      return permanentOnDomainError(() =>
        claimDevice(db, {
          tenantId: input.tenantId,
          profile: input.profile,
          newDeviceId: input.newDeviceId,
          deviceName: input.deviceName,
          credential: input.credential.type === 'CSR' ? null : input.credential,
          runId: input.runId,
          createdByWorkflow: input.createdByWorkflow,
        }),
      );
    },
  };
}

export type ClaimActivities = ReturnType<typeof createClaimActivities>;
