import type { Kysely } from 'kysely';
import { appendEdgeEvent } from './edge-events';
import { isUniqueViolation } from './errors';
import { isoNow } from './ids';
import { endRotationIn, rotationAudit, type WorkflowRef } from './rotation-steps';
import { getRotationRow } from './rotations';
import { setItemState } from './run-items';
import type { Database } from './schema';

/**
 * The first step of a device's rotation: claim its one rotation slot (device_rotations), mark
 * the run item in progress, tell the edge (`rotation.requested`). A refusal is an answer with a
 * code, written nowhere: the workflow records it by ending the rotation as failed.
 */
export interface BeginInput {
  tenantId: string;
  deviceId: string;
  rotationId: string;
  workflowId: string;
  runId: string | null;
  /** ISO-8601 deadline of this rotation. */
  deadline: string;
  issuingCaId: string | null;
  reason: string;
}

export type BeginAnswer =
  | { ok: true; deviceName: string; oldFingerprint: string; issuingCaId: string }
  | { ok: false; code: string; reason: string };

const refuse = (code: string, reason: string): BeginAnswer => ({ ok: false, code, reason });

/**
 * A slot still held this long after its rotation's deadline belongs to a workflow that ended
 * without releasing it (terminated by hand, say): a rotation that is alive ends at its deadline.
 * The next rotation takes it over instead of being refused forever.
 */
export const STALE_SLOT_GRACE_MS = 3_600_000;

export async function beginRotation(
  db: Kysely<Database>,
  input: BeginInput,
  wf: WorkflowRef,
): Promise<BeginAnswer> {
  try {
    return await db.transaction().execute((trx) => beginIn(trx, input, wf));
  } catch (err) {
    // A concurrent begin took the slot first: answer from what it wrote.
    if (!isUniqueViolation(err)) throw err;
    return db.transaction().execute((trx) => beginIn(trx, input, wf));
  }
}

async function beginIn(trx: Kysely<Database>, input: BeginInput, wf: WorkflowRef): Promise<BeginAnswer> {
  const device = await trx
    .selectFrom('devices as d')
    .leftJoin('device_profiles as p', 'p.id', 'd.profile_id')
    .select(['d.id', 'd.name', 'd.status', 'p.issuing_ca_ref'])
    .where('d.tenant_id', '=', input.tenantId)
    .where('d.id', '=', input.deviceId)
    .executeTakeFirst();
  if (!device) return refuse('DEVICE_NOT_FOUND', 'no such device in this tenant');
  let slot = await getRotationRow(trx, input.deviceId);
  if (slot?.rotation_id === input.rotationId) {
    return {
      ok: true,
      deviceName: device.name,
      oldFingerprint: slot.old_fingerprint,
      issuingCaId: slot.issuing_ca_id,
    };
  }
  if (device.status === 'revoked') return refuse('DEVICE_REVOKED', 'the device is revoked');
  if (device.status !== 'active') return refuse('ROTATION_WRONG_STATE', `the device is ${device.status}`);
  if (slot && Date.parse(slot.deadline) + STALE_SLOT_GRACE_MS < Date.now()) {
    await endRotationIn(
      trx,
      {
        tenantId: slot.tenant_id,
        deviceId: slot.device_id,
        rotationId: slot.rotation_id,
        workflowId: slot.workflow_id,
        runId: slot.run_id,
        state: 'failed',
        reason: `ABANDONED: its workflow left the device's rotation slot held past the deadline; taken over by rotation ${input.rotationId}`,
        oldFingerprint: slot.old_fingerprint,
      },
      wf,
    );
    slot = undefined;
  }
  if (slot) return refuse('ROTATION_IN_PROGRESS', `rotation ${slot.rotation_id} is in progress`);
  // The type is filtered here, not in SQL: a device has a handful of credentials, and the
  // (type, lookup_key) index is no help (see registry/selection.ts).
  const current = (
    await trx
      .selectFrom('device_credentials as c')
      .leftJoin('certificates as cert', 'cert.id', 'c.certificate_id')
      .select([
        'c.type',
        'c.lookup_key',
        'cert.id as certId',
        'cert.status as certStatus',
        'cert.issuing_ca_id',
      ])
      .where('c.device_id', '=', input.deviceId)
      .where('c.status', '=', 'active')
      .execute()
  ).filter((c) => c.type === 'X509_CERTIFICATE');
  if (current.length > 1) {
    return refuse('ROTATION_IN_PROGRESS', 'the device holds more than one active certificate');
  }
  const old = current[0];
  if (!old || old.certId === null || old.certStatus !== 'active') {
    return refuse('ROTATION_NO_CERTIFICATE', 'the device has no active stored certificate to rotate');
  }
  const issuingCaId = input.issuingCaId ?? old.issuing_ca_id ?? device.issuing_ca_ref;
  if (!issuingCaId) return refuse('ROTATION_NO_ISSUING_CA', 'no issuing CA for the new certificate');
  const ca = await trx
    .selectFrom('issuing_cas')
    .select('status')
    .where('tenant_id', '=', input.tenantId)
    .where('id', '=', issuingCaId)
    .executeTakeFirst();
  if (!ca) return refuse('ISSUING_CA_NOT_FOUND', 'no such issuing CA in this tenant');
  if (ca.status !== 'active') return refuse('ISSUING_CA_INACTIVE', `the issuing CA is ${ca.status}`);

  const now = isoNow();
  await trx
    .insertInto('device_rotations')
    .values({
      device_id: input.deviceId,
      tenant_id: input.tenantId,
      rotation_id: input.rotationId,
      workflow_id: input.workflowId,
      run_id: input.runId,
      state: 'requested',
      old_fingerprint: old.lookup_key,
      new_fingerprint: null,
      issuing_ca_id: issuingCaId,
      deadline: input.deadline,
      created_at: now,
      updated_at: now,
    })
    .execute();
  if (input.runId) {
    await setItemState(
      trx,
      { runId: input.runId, deviceId: input.deviceId },
      { state: 'in_progress', oldFingerprint: old.lookup_key },
      ['pending', 'in_progress'],
    );
  }
  await appendEdgeEvent(trx, {
    tenantId: input.tenantId,
    deviceId: input.deviceId,
    type: 'rotation.requested',
    fingerprint: old.lookup_key,
    data: { rotationId: input.rotationId, deadline: input.deadline, workflowId: input.workflowId },
  });
  await rotationAudit(trx, input, wf, 'rotation.started', `rotation.started:${input.rotationId}`, {
    reason: input.reason,
    oldFingerprint: old.lookup_key,
    issuingCaId,
    deadline: input.deadline,
  });
  return { ok: true, deviceName: device.name, oldFingerprint: old.lookup_key, issuingCaId };
}
