import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateDeviceWorkflowId } from '../../domain/ids';
import { newId } from '../../registry/ids';
import { findDeviceByCertificate } from '../../registry/devices';
import { getPendingRotation } from '../../registry/rotations';
import { createRotationRun, getRotationRun, listRunItems } from '../../registry/runs';
import type { Registry } from '../../registry/connect';
import { dialects, freshRegistry } from '../support/registry';
import {
  activeCertificates,
  createWorld,
  edgeEvents,
  failureCode,
  makeCsr,
  seedDevices,
  type World,
} from './rotation-fixture';

const DEADLINE = '2099-01-01T00:00:00.000Z';

describe.each(dialects)('device rotation in the registry on %s', (dialect) => {
  let r: Registry & { dispose(): Promise<void> };
  let w: World;
  beforeAll(async () => {
    r = await freshRegistry(dialect);
    w = await createWorld(r.db);
  });
  afterAll(async () => {
    await r?.dispose();
  });

  function rotation(deviceId: string, runId: string | null = null) {
    const rotationId = newId();
    const workflowId = rotateDeviceWorkflowId(w.tenantId, deviceId, rotationId);
    return {
      tenantId: w.tenantId,
      deviceId,
      rotationId,
      workflowId,
      runId,
      deadline: DEADLINE,
      issuingCaId: null,
      reason: 'test',
    };
  }

  async function runWith(deviceIds: string[]): Promise<string> {
    const runId = newId();
    await createRotationRun(r.db, {
      id: runId,
      tenantId: w.tenantId,
      source: 'api',
      selection: { deviceIds },
      options: {
        concurrency: 5,
        ratePerMinute: null,
        deadlineSeconds: 60,
        abortAfterFailures: null,
        issuingCaId: null,
      },
      createdBy: 'test',
      workflowId: `rotation-run/${w.tenantId}/${runId}`,
    });
    await w.activities.materializeRun({ tenantId: w.tenantId, runId });
    return runId;
  }

  it('rotates make-before-break: both certificates valid during the overlap, then only the new one', async () => {
    const [dev] = await seedDevices(r.db, 1, { tenantId: w.tenantId, issuingCaId: w.issuingCaId });
    const runId = await runWith([dev!.deviceId]);
    const rot = rotation(dev!.deviceId, runId);
    const begun = await w.activities.beginDeviceRotation(rot);
    expect(begun).toEqual({
      ok: true,
      deviceName: dev!.name,
      oldFingerprint: dev!.fingerprint,
      issuingCaId: w.issuingCaId,
    });
    expect(await w.activities.beginDeviceRotation(rot)).toEqual(begun);
    expect(await getPendingRotation(r.db, dev!.deviceId)).toMatchObject({
      rotationId: rot.rotationId,
      workflowId: rot.workflowId,
      state: 'requested',
      oldFingerprint: dev!.fingerprint,
      newFingerprint: null,
    });
    expect((await listRunItems(r.db, w.tenantId, runId, { limit: 10 }))[0]).toMatchObject({
      state: 'in_progress',
      oldFingerprint: dev!.fingerprint,
    });

    const csr = await makeCsr('evil-name');
    const issue = { ...rot, deviceName: dev!.name, issuingCaId: w.issuingCaId, csrPem: csr.pem };
    const issued = await w.activities.issueRotationCertificate(issue);
    expect(issued.chainPem.startsWith(issued.certificatePem)).toBe(true);
    expect(issued.chainPem.split('BEGIN CERTIFICATE').length - 1).toBe(2);
    // A retry (same key) returns the stored certificate; nothing is signed twice.
    expect(await w.activities.issueRotationCertificate(issue)).toEqual(issued);
    const certs = await r.db
      .selectFrom('certificates')
      .selectAll()
      .where('device_id', '=', dev!.deviceId)
      .execute();
    expect(certs).toHaveLength(2);
    const fresh = certs.find((c) => c.fingerprint_sha256 === issued.fingerprintSha256)!;
    expect(fresh).toMatchObject({
      subject: `CN=${dev!.name}`,
      issuing_ca_id: w.issuingCaId,
      status: 'active',
    });
    expect(fresh.id).toContain(csr.keyHash.slice(0, 32));
    // The overlap: the old certificate still connects; the new one connects and names the workflow.
    expect(await findDeviceByCertificate(r.db, dev!.fingerprint)).toMatchObject({ pendingRotation: null });
    expect(await findDeviceByCertificate(r.db, issued.fingerprintSha256)).toMatchObject({
      deviceId: dev!.deviceId,
      pendingRotation: rot.workflowId,
    });
    expect(await getPendingRotation(r.db, dev!.deviceId)).toMatchObject({
      state: 'issued',
      newFingerprint: issued.fingerprintSha256,
    });

    const complete = { ...rot, oldFingerprint: dev!.fingerprint, newFingerprint: issued.fingerprintSha256 };
    await w.activities.completeDeviceRotation(complete);
    const eventsAfter = await edgeEvents(r.db, dev!.deviceId);
    await w.activities.completeDeviceRotation(complete);
    expect(await edgeEvents(r.db, dev!.deviceId)).toEqual(eventsAfter);

    expect(await activeCertificates(r.db, dev!.deviceId)).toEqual([issued.fingerprintSha256]);
    expect(await findDeviceByCertificate(r.db, dev!.fingerprint)).toBeUndefined();
    expect(await findDeviceByCertificate(r.db, issued.fingerprintSha256)).toMatchObject({
      pendingRotation: null,
    });
    expect(await getPendingRotation(r.db, dev!.deviceId)).toBeUndefined();
    expect(eventsAfter.map((e) => [e.type, e.fingerprint])).toEqual([
      ['rotation.requested', dev!.fingerprint],
      ['credential.revoked', dev!.fingerprint],
      ['rotation.ended', issued.fingerprintSha256],
    ]);
    expect(eventsAfter[0]!.data).toEqual({
      rotationId: rot.rotationId,
      deadline: DEADLINE,
      workflowId: rot.workflowId,
    });
    const progress = await getRotationRun(r.db, w.tenantId, runId);
    expect(progress).toMatchObject({ total: 1, counts: { succeeded: 1, in_progress: 0, pending: 0 } });
    const audit = await r.db
      .selectFrom('audit_events')
      .select('type')
      .where('device_id', '=', dev!.deviceId)
      .orderBy('seq')
      .execute();
    expect(audit.map((a) => a.type)).toEqual(['rotation.started', 'rotation.issued', 'rotation.completed']);
  });

  it('supersedes the never-used certificate when the device sends a CSR for another key', async () => {
    const [dev] = await seedDevices(r.db, 1, { tenantId: w.tenantId, issuingCaId: w.issuingCaId });
    const rot = rotation(dev!.deviceId);
    await w.activities.beginDeviceRotation(rot);
    const base = { ...rot, deviceName: dev!.name, issuingCaId: w.issuingCaId };
    const first = await w.activities.issueRotationCertificate({ ...base, csrPem: (await makeCsr()).pem });
    const second = await w.activities.issueRotationCertificate({ ...base, csrPem: (await makeCsr()).pem });
    expect(second.fingerprintSha256).not.toBe(first.fingerprintSha256);
    expect(await activeCertificates(r.db, dev!.deviceId)).toEqual(
      [dev!.fingerprint, second.fingerprintSha256].sort(),
    );
    expect(await getPendingRotation(r.db, dev!.deviceId)).toMatchObject({
      newFingerprint: second.fingerprintSha256,
    });
  });

  it('rolls back: revokes the new certificate, keeps the old, records why, and a retry changes nothing', async () => {
    const [dev] = await seedDevices(r.db, 1, { tenantId: w.tenantId, issuingCaId: w.issuingCaId });
    const runId = await runWith([dev!.deviceId]);
    const rot = rotation(dev!.deviceId, runId);
    await w.activities.beginDeviceRotation(rot);
    const issued = await w.activities.issueRotationCertificate({
      ...rot,
      deviceName: dev!.name,
      issuingCaId: w.issuingCaId,
      csrPem: (await makeCsr()).pem,
    });
    const end = {
      ...rot,
      state: 'rolled_back' as const,
      reason: 'DEADLINE: the device did not connect with its new certificate',
      oldFingerprint: dev!.fingerprint,
    };
    await w.activities.endDeviceRotation(end);
    const events = await edgeEvents(r.db, dev!.deviceId);
    await w.activities.endDeviceRotation(end);
    expect(await edgeEvents(r.db, dev!.deviceId)).toEqual(events);

    expect(await activeCertificates(r.db, dev!.deviceId)).toEqual([dev!.fingerprint]);
    expect(await findDeviceByCertificate(r.db, issued.fingerprintSha256)).toBeUndefined();
    expect(await findDeviceByCertificate(r.db, dev!.fingerprint)).toMatchObject({ deviceId: dev!.deviceId });
    expect(await getPendingRotation(r.db, dev!.deviceId)).toBeUndefined();
    expect(events.map((e) => [e.type, e.fingerprint])).toEqual([
      ['rotation.requested', dev!.fingerprint],
      ['credential.revoked', issued.fingerprintSha256],
      ['rotation.ended', null],
    ]);
    expect((await listRunItems(r.db, w.tenantId, runId, { limit: 10 }))[0]).toMatchObject({
      state: 'rolled_back',
      reason: end.reason,
      oldFingerprint: dev!.fingerprint,
      newFingerprint: issued.fingerprintSha256,
    });
    // A late CSR for the ended rotation is refused.
    const late = { ...rot, deviceName: dev!.name, issuingCaId: w.issuingCaId, csrPem: (await makeCsr()).pem };
    expect(await failureCode(() => w.activities.issueRotationCertificate(late))).toBe('ROTATION_WRONG_STATE');
    expect(await activeCertificates(r.db, dev!.deviceId)).toEqual([dev!.fingerprint]);
  });

  it('refuses a second rotation while one is in progress, and the refused one frees nothing', async () => {
    const [dev] = await seedDevices(r.db, 1, { tenantId: w.tenantId, issuingCaId: w.issuingCaId });
    const first = rotation(dev!.deviceId);
    const second = rotation(dev!.deviceId);
    expect(await w.activities.beginDeviceRotation(first)).toMatchObject({ ok: true });
    expect(await w.activities.beginDeviceRotation(second)).toMatchObject({
      ok: false,
      code: 'ROTATION_IN_PROGRESS',
    });
    await w.activities.endDeviceRotation({
      ...second,
      state: 'failed',
      reason: 'ROTATION_IN_PROGRESS',
      oldFingerprint: null,
    });
    expect(await getPendingRotation(r.db, dev!.deviceId)).toMatchObject({ rotationId: first.rotationId });
    // Only the holder of the slot may issue.
    const csrPem = (await makeCsr()).pem;
    const wrong = { ...second, deviceName: dev!.name, issuingCaId: w.issuingCaId, csrPem };
    expect(await failureCode(() => w.activities.issueRotationCertificate(wrong))).toBe(
      'ROTATION_WRONG_STATE',
    );
    const bad = { ...first, deviceName: dev!.name, issuingCaId: w.issuingCaId, csrPem: 'not a csr' };
    expect(await failureCode(() => w.activities.issueRotationCertificate(bad))).toBe('CSR_INVALID');
    expect(await activeCertificates(r.db, dev!.deviceId)).toEqual([dev!.fingerprint]);
  });

  it('takes over a slot its workflow left held past the deadline, revoking what that rotation issued', async () => {
    const [dev] = await seedDevices(r.db, 1, { tenantId: w.tenantId, issuingCaId: w.issuingCaId });
    // A rotation whose workflow was terminated after issuing: its deadline passed over an hour ago.
    const lost = { ...rotation(dev!.deviceId), deadline: new Date(Date.now() - 2 * 3_600_000).toISOString() };
    expect(await w.activities.beginDeviceRotation(lost)).toMatchObject({ ok: true });
    const unused = await w.activities.issueRotationCertificate({
      ...lost,
      deviceName: dev!.name,
      issuingCaId: w.issuingCaId,
      csrPem: (await makeCsr()).pem,
    });
    expect(await activeCertificates(r.db, dev!.deviceId)).toHaveLength(2);

    const next = rotation(dev!.deviceId);
    expect(await w.activities.beginDeviceRotation(next)).toMatchObject({
      ok: true,
      oldFingerprint: dev!.fingerprint,
    });
    expect(await getPendingRotation(r.db, dev!.deviceId)).toMatchObject({ rotationId: next.rotationId });
    // The abandoned rotation's never-used certificate is revoked; the factory one stays.
    expect(await activeCertificates(r.db, dev!.deviceId)).toEqual([dev!.fingerprint]);
    expect(await findDeviceByCertificate(r.db, unused.fingerprintSha256)).toBeUndefined();
    // A slot within its deadline (+ grace) is still refused.
    expect(await w.activities.beginDeviceRotation(rotation(dev!.deviceId))).toMatchObject({
      ok: false,
      code: 'ROTATION_IN_PROGRESS',
    });
  });

  it('refuses what cannot be rotated, with a code', async () => {
    const [noCa] = await seedDevices(r.db, 1, { tenantId: w.tenantId });
    expect(await w.activities.beginDeviceRotation(rotation(noCa!.deviceId))).toMatchObject({
      ok: false,
      code: 'ROTATION_NO_ISSUING_CA',
    });
    const [disabled] = await seedDevices(r.db, 1, {
      tenantId: w.tenantId,
      issuingCaId: w.issuingCaId,
      status: 'revoked',
    });
    expect(await w.activities.beginDeviceRotation(rotation(disabled!.deviceId))).toMatchObject({
      ok: false,
      code: 'DEVICE_REVOKED',
    });
    expect(
      await w.activities.beginDeviceRotation({ ...rotation(noCa!.deviceId), tenantId: w.otherTenantId }),
    ).toMatchObject({ ok: false, code: 'DEVICE_NOT_FOUND' });
    expect(await getPendingRotation(r.db, noCa!.deviceId)).toBeUndefined();
  });

  it('never re-activates a device revoked during its rotation', async () => {
    const [dev] = await seedDevices(r.db, 1, { tenantId: w.tenantId, issuingCaId: w.issuingCaId });
    const rot = rotation(dev!.deviceId);
    await w.activities.beginDeviceRotation(rot);
    const issued = await w.activities.issueRotationCertificate({
      ...rot,
      deviceName: dev!.name,
      issuingCaId: w.issuingCaId,
      csrPem: (await makeCsr()).pem,
    });
    await w.activities.revokeInRegistry({
      tenantId: w.tenantId,
      target: { kind: 'device', deviceId: dev!.deviceId },
      reason: 'stolen',
      actor: 'test',
      requestId: newId(),
    });
    const complete = { ...rot, oldFingerprint: dev!.fingerprint, newFingerprint: issued.fingerprintSha256 };
    expect(await failureCode(() => w.activities.completeDeviceRotation(complete))).toBe('DEVICE_REVOKED');
    await w.activities.endDeviceRotation({
      ...rot,
      state: 'failed',
      reason: 'DEVICE_REVOKED',
      oldFingerprint: null,
    });
    expect(await activeCertificates(r.db, dev!.deviceId)).toEqual([]);
    expect(await getPendingRotation(r.db, dev!.deviceId)).toBeUndefined();
    const device = await r.db
      .selectFrom('devices')
      .select('status')
      .where('id', '=', dev!.deviceId)
      .executeTakeFirst();
    expect(device?.status).toBe('revoked');
  });
});
