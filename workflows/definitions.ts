import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { searchAttributes } from '../domain/ids';
import type { RotationIssued, RotationPhase, RunStatus } from '../domain/rotation';

/** Typed keys of certflow's custom search attributes (registered as Keyword). */
export const tenantSearchAttribute = defineSearchAttributeKey(
  searchAttributes.tenant,
  SearchAttributeType.KEYWORD,
);
export const deviceSearchAttribute = defineSearchAttributeKey(
  searchAttributes.device,
  SearchAttributeType.KEYWORD,
);

/** The search attributes every device workflow starts with, so its history is found by device. */
export function deviceSearchAttributes(tenantId: string, deviceId: string): TypedSearchAttributes {
  return new TypedSearchAttributes([
    { key: tenantSearchAttribute, value: tenantId },
    { key: deviceSearchAttribute, value: deviceId },
  ]);
}

// ---------------------------------------------------------------------------------------------
// Rotation messages. Kind suffixes (Signal/Update/Query) as in the Temporal samples.

/**
 * The device's CSR, delivered by the edge (MQTT or HTTPS). An update, not a signal: the edge
 * must hand the device its new certificate (or a precise refusal) on the same exchange, and a
 * bad CSR is refused by the validator without touching the history.
 */
export const submitCsrUpdate = defineUpdate<RotationIssued, [{ csrPem: string }]>('submitCsr');

/** The edge saw the device authenticate with this certificate (first use of the new one). */
export const certificateInUseSignal = defineSignal<[{ fingerprintSha256: string }]>('certificateInUse');

export const rotationPhaseQuery = defineQuery<RotationPhase>('rotationPhase');

/** Operator controls of a run; updates so the API answers with the status actually reached. */
export const pauseRunUpdate = defineUpdate<RunStatus, []>('pauseRun');
export const resumeRunUpdate = defineUpdate<RunStatus, []>('resumeRun');
export const cancelRunUpdate = defineUpdate<RunStatus, [{ reason: string }]>('cancelRun');

export interface RunState {
  status: RunStatus;
  inFlight: number;
  started: number;
  failures: number;
}
export const runStateQuery = defineQuery<RunState>('runState');
