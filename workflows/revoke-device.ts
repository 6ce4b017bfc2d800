import type { RevokeInput, RevokeResult } from '../domain/rotation';
import { revocationActivities } from './rotation-activities';

const { revokeInRegistry } = revocationActivities;

/**
 * Revokes a device or one of its certificates. One transactional activity does the work (the
 * registry rows, the audit event and the edge event that evicts caches and disconnects live
 * sessions); the workflow gives it an idempotent id per request and a durable record, and the
 * API waits for its answer.
 */
export async function revokeDeviceWorkflow(input: RevokeInput): Promise<RevokeResult> {
  return revokeInRegistry(input);
}
