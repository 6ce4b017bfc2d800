import type {
  ItemCounts,
  ItemState,
  RevokeInput,
  RevokeResult,
  RotationIssued,
  RotationOptions,
  RunStatus,
} from '../domain/rotation';
// Type-only: erased, so workflows that proxy these signatures bundle no registry code.
import type { BeginAnswer, BeginInput } from '../registry/rotation-begin';
import type { CompleteInput, EndInput } from '../registry/rotation-steps';

/**
 * Signatures of the rotation, run, revocation and renewal activities: what workflows proxy
 * (type-only import) and what `activities/rotation.ts`, `runs.ts`, `revocation.ts` and
 * `renewal.ts` implement. Every activity is idempotent on its business key (rotation id, run
 * id, request id): Temporal retries them, and a worker killed mid-activity runs it again.
 * Permanent failures are non-retryable ApplicationFailures typed with a domain/errors code.
 */
export interface RotationActivities {
  /**
   * Claims the device's one rotation slot (device_rotations) for this rotation, marks the run
   * item in progress, records the old certificate, and emits `rotation.requested` for the edge.
   * A refusal is an answer, not a throw: no active certificate, device revoked or unknown,
   * no issuing CA, another rotation in progress.
   */
  beginDeviceRotation(input: BeginInput): Promise<BeginAnswer>;

  /**
   * Signs the CSR under the issuing CA (the same CSR checks as provisioning; the subject comes
   * from the registry), stores the certificate and an active credential whose
   * `pending_rotation` is the workflow id, and moves device_rotations to `issued`. The same
   * CSR key again returns the same certificate; a different key supersedes (revokes) the
   * never-used certificate issued earlier in this rotation. Throws CSR_INVALID / CSR_REJECTED /
   * ISSUING_* as non-retryable failures.
   */
  issueRotationCertificate(input: {
    tenantId: string;
    deviceId: string;
    deviceName: string;
    rotationId: string;
    workflowId: string;
    issuingCaId: string;
    csrPem: string;
  }): Promise<RotationIssued>;

  /**
   * Make-before-break, final step, in one transaction: revoke the old certificate and its
   * credential (reason `superseded`), clear `pending_rotation` on the new one, free the
   * rotation slot, set the run item `succeeded`, emit `credential.revoked` for the old
   * certificate and record the audit event.
   */
  completeDeviceRotation(input: CompleteInput): Promise<void>;

  /**
   * Ends a rotation without switching: revokes the new certificate and credential if one was
   * issued (the old one stays active), frees the slot (only if this rotation holds it), sets
   * the run item to `state` with `reason`, emits `credential.revoked` / `rotation.ended`, audits.
   */
  endDeviceRotation(input: EndInput): Promise<void>;
}

export interface RunActivities {
  /**
   * Creates the run's items from its stored selection (pages of 1,000, heartbeating the last
   * device id so a retry resumes), sets `total` and `materialized`. Idempotent.
   */
  materializeRun(input: { tenantId: string; runId: string }): Promise<{ total: number }>;

  /** Pending items with seq > afterSeq, ascending, at most `limit`. */
  nextRunItems(input: {
    runId: string;
    afterSeq: number;
    limit: number;
  }): Promise<{ deviceId: string; seq: number }[]>;

  /**
   * Of the devices in flight, those whose rotation has ended, with its outcome: each device
   * rotation writes its outcome to its item, and the run reads it here (no signal per device).
   */
  settledRunItems(input: {
    runId: string;
    deviceIds: string[];
  }): Promise<{ deviceId: string; state: ItemState }[]>;

  /** Records the run's status (paused, running, …) with an audit event. */
  setRunStatus(input: {
    tenantId: string;
    runId: string;
    status: RunStatus;
    reason: string | null;
  }): Promise<void>;

  /**
   * Marks these items `failed` with the reason where they are still pending or in progress (a
   * child rotation that never wrote its outcome); returns how many changed.
   */
  failLostItems(input: { runId: string; deviceIds: string[]; reason: string }): Promise<number>;

  /**
   * Marks every still-pending item `cancelled` with the reason, except those of devices whose
   * rotation was started (it ends itself, rolled back); returns how many.
   */
  cancelPendingItems(input: { runId: string; reason: string; exceptDeviceIds?: string[] }): Promise<number>;

  /** Writes the final status, finished_at and the report (counts); returns the counts. */
  finishRun(input: {
    tenantId: string;
    runId: string;
    status: Extract<RunStatus, 'completed' | 'cancelled' | 'aborted'>;
    reason: string | null;
  }): Promise<ItemCounts>;
}

export interface RevocationActivities {
  /**
   * Revokes a device (status `revoked`, every credential and certificate) or one certificate,
   * in one transaction with its audit event and the edge event that evicts caches and
   * disconnects live sessions. Idempotent on the request id; already-revoked is not an error.
   * Throws DEVICE_NOT_FOUND / CERTIFICATE_NOT_FOUND (non-retryable).
   */
  revokeInRegistry(input: RevokeInput): Promise<RevokeResult>;
}

export interface RenewalActivities {
  /**
   * For every device class with renewal enabled, finds devices whose active certificate is in
   * its renewal window (with the per-device jitter of domain/rotation.ts) and that are not
   * already rotating or in an unfinished run, and creates one run per (tenant, class) with
   * source `schedule` and an explicit device list, materialized. Idempotent on `sweepId`
   * (run ids derive from it). Returns the runs to start.
   */
  planRenewalRuns(input: { sweepId: string; now: string }): Promise<
    {
      tenantId: string;
      runId: string;
      options: RotationOptions;
    }[]
  >;
}
