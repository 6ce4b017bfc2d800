import type { Kysely } from 'kysely';
import { isoNow } from './ids';
import type { Database, DeviceRotationRow } from './schema';

/**
 * The one rotation a device may have in progress (device_rotations). The row is the slot: it
 * is inserted when a rotation begins and deleted, in the transaction that ends the rotation,
 * only by the rotation that holds it.
 */
export interface PendingRotation {
  tenantId: string;
  deviceId: string;
  rotationId: string;
  /** The rotation workflow: the edge sends it the device's CSR (submitCsrUpdate). */
  workflowId: string;
  runId: string | null;
  /** `requested`: waiting for a CSR; `issued`: waiting for the first use of the new certificate. */
  state: 'requested' | 'issued';
  oldFingerprint: string;
  newFingerprint: string | null;
  deadline: string;
}

export function toPendingRotation(row: DeviceRotationRow): PendingRotation {
  return {
    tenantId: row.tenant_id,
    deviceId: row.device_id,
    rotationId: row.rotation_id,
    workflowId: row.workflow_id,
    runId: row.run_id,
    state: row.state as PendingRotation['state'],
    oldFingerprint: row.old_fingerprint,
    newFingerprint: row.new_fingerprint,
    deadline: row.deadline,
  };
}

/** The device's rotation in progress, if any. */
export async function getPendingRotation(
  db: Kysely<Database>,
  deviceId: string,
): Promise<PendingRotation | undefined> {
  const row = await getRotationRow(db, deviceId);
  return row && toPendingRotation(row);
}

export async function getRotationRow(
  db: Kysely<Database>,
  deviceId: string,
): Promise<DeviceRotationRow | undefined> {
  return db.selectFrom('device_rotations').selectAll().where('device_id', '=', deviceId).executeTakeFirst();
}

/**
 * Inside a transaction: the slot row if this rotation holds it, locked (an UPDATE takes the
 * row lock on PostgreSQL) so a concurrent end, issue or complete of the same rotation waits
 * for this transaction instead of interleaving with it. Undefined when not held.
 */
export async function lockRotationSlot(
  trx: Kysely<Database>,
  deviceId: string,
  rotationId: string,
): Promise<DeviceRotationRow | undefined> {
  const res = await trx
    .updateTable('device_rotations')
    .set({ updated_at: isoNow() })
    .where('device_id', '=', deviceId)
    .where('rotation_id', '=', rotationId)
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) === 0) return undefined;
  return getRotationRow(trx, deviceId);
}
