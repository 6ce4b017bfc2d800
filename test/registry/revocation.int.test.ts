import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from '../../registry/connect';
import { findCredentialHolders, findDeviceByCertificate } from '../../registry/devices';
import {
  appendEdgeEvent,
  latestEdgeEventSeq,
  pruneEdgeEvents,
  readEdgeEvents,
} from '../../registry/edge-events';
import { newId } from '../../registry/ids';
import { listDeviceCertificates } from '../../registry/revocations';
import { dialects, freshRegistry } from '../support/registry';
import {
  activeCertificates,
  createWorld,
  edgeEvents,
  failureCode,
  seedDevices,
  type World,
} from './rotation-fixture';

describe.each(dialects)('revocation in the registry on %s', (dialect) => {
  let r: Registry & { dispose(): Promise<void> };
  let w: World;
  beforeAll(async () => {
    r = await freshRegistry(dialect);
    w = await createWorld(r.db);
  });
  afterAll(async () => {
    await r?.dispose();
  });

  const revoke = (
    target:
      | { kind: 'device'; deviceId: string }
      | { kind: 'certificate'; deviceId: string; fingerprintSha256: string },
    requestId = newId(),
    tenantId?: string,
  ) =>
    w.activities.revokeInRegistry({
      tenantId: tenantId ?? w.tenantId,
      target,
      reason: 'key compromised',
      actor: 'api-key:test',
      requestId,
    });

  it('revokes one certificate at once: refused at connect, an edge event, idempotent on the request', async () => {
    const [dev] = await seedDevices(r.db, 1, { tenantId: w.tenantId, issuingCaId: w.issuingCaId });
    expect(await findDeviceByCertificate(r.db, dev!.fingerprint)).toMatchObject({ deviceId: dev!.deviceId });
    const target = {
      kind: 'certificate' as const,
      deviceId: dev!.deviceId,
      fingerprintSha256: dev!.fingerprint,
    };
    const requestId = newId();
    const result = await revoke(target, requestId);
    expect(result).toEqual({
      deviceId: dev!.deviceId,
      deviceRevoked: false,
      revokedCertificates: [dev!.fingerprint],
      revokedCredentials: 1,
    });
    expect(await revoke(target, requestId)).toEqual(result);
    expect(await revoke(target)).toMatchObject({ revokedCertificates: [], revokedCredentials: 0 });
    expect(await findDeviceByCertificate(r.db, dev!.fingerprint)).toBeUndefined();
    expect(await findCredentialHolders(r.db, 'X509_CERTIFICATE', [dev!.fingerprint])).toEqual([]);
    expect(await edgeEvents(r.db, dev!.deviceId)).toEqual([
      { type: 'credential.revoked', fingerprint: dev!.fingerprint, data: { reason: 'key compromised' } },
    ]);
    expect(await listDeviceCertificates(r.db, w.tenantId, dev!.deviceId)).toMatchObject([
      {
        fingerprintSha256: dev!.fingerprint,
        status: 'revoked',
        revocationReason: 'key compromised',
        issuingCaId: w.issuingCaId,
        pendingRotation: false,
      },
    ]);
    const audit = await r.db
      .selectFrom('audit_events')
      .selectAll()
      .where('device_id', '=', dev!.deviceId)
      .execute();
    expect(audit.map((a) => [a.type, a.actor])).toEqual([
      ['certificate.revoked', 'api-key:test'],
      ['certificate.revoked', 'api-key:test'],
    ]);
  });

  it('revokes a whole device: every credential, the device, one device.revoked event', async () => {
    const [dev, other] = await seedDevices(r.db, 2, { tenantId: w.tenantId });
    await r.db
      .insertInto('device_credentials')
      .values({
        id: `${dev!.deviceId}/token`,
        tenant_id: w.tenantId,
        device_id: dev!.deviceId,
        type: 'ACCESS_TOKEN',
        lookup_key: `hash-${dev!.deviceId}`,
        secret_hash: null,
        certificate_id: null,
        status: 'active',
        created_at: new Date().toISOString(),
        revoked_at: null,
        revocation_reason: null,
        pending_rotation: null,
      })
      .execute();
    const requestId = newId();
    const result = await revoke({ kind: 'device', deviceId: dev!.deviceId }, requestId);
    expect(result).toEqual({
      deviceId: dev!.deviceId,
      deviceRevoked: true,
      revokedCertificates: [dev!.fingerprint],
      revokedCredentials: 2,
    });
    expect(await revoke({ kind: 'device', deviceId: dev!.deviceId }, requestId)).toEqual(result);
    expect(await revoke({ kind: 'device', deviceId: dev!.deviceId })).toMatchObject({ deviceRevoked: false });
    expect(await findDeviceByCertificate(r.db, dev!.fingerprint)).toBeUndefined();
    expect(await findCredentialHolders(r.db, 'ACCESS_TOKEN', [`hash-${dev!.deviceId}`])).toEqual([]);
    expect(await activeCertificates(r.db, dev!.deviceId)).toEqual([]);
    expect((await edgeEvents(r.db, dev!.deviceId)).map((e) => e.type)).toEqual([
      'credential.revoked',
      'device.revoked',
    ]);
    // Its neighbour is untouched.
    expect(await findDeviceByCertificate(r.db, other!.fingerprint)).toMatchObject({
      deviceId: other!.deviceId,
    });
    expect(
      await w.activities.beginDeviceRotation({
        tenantId: w.tenantId,
        deviceId: dev!.deviceId,
        rotationId: newId(),
        workflowId: 'wf',
        runId: null,
        deadline: '2099-01-01T00:00:00.000Z',
        issuingCaId: w.issuingCaId,
        reason: 'test',
      }),
    ).toMatchObject({ ok: false, code: 'DEVICE_REVOKED' });
  });

  it('answers unknown targets with a code, also across tenants', async () => {
    const [dev] = await seedDevices(r.db, 1, { tenantId: w.tenantId });
    expect(await failureCode(() => revoke({ kind: 'device', deviceId: newId() }))).toBe('DEVICE_NOT_FOUND');
    expect(
      await failureCode(() => revoke({ kind: 'device', deviceId: dev!.deviceId }, newId(), w.otherTenantId)),
    ).toBe('DEVICE_NOT_FOUND');
    const missing = {
      kind: 'certificate' as const,
      deviceId: dev!.deviceId,
      fingerprintSha256: 'ab'.repeat(32),
    };
    expect(await failureCode(() => revoke(missing))).toBe('CERTIFICATE_NOT_FOUND');
    expect(await failureCode(() => listDeviceCertificates(r.db, w.otherTenantId, dev!.deviceId))).toBe(
      'DEVICE_NOT_FOUND',
    );
    expect(await findDeviceByCertificate(r.db, dev!.fingerprint)).toMatchObject({ deviceId: dev!.deviceId });
  });

  it('feeds edge events in order from a cursor, and prunes old ones', async () => {
    const start = await latestEdgeEventSeq(r.db);
    await appendEdgeEvent(r.db, {
      tenantId: w.tenantId,
      deviceId: null,
      type: 'device.revoked',
      fingerprint: null,
    });
    await appendEdgeEvent(r.db, {
      tenantId: w.tenantId,
      deviceId: 'd1',
      type: 'rotation.requested',
      fingerprint: 'f1',
      data: { rotationId: 'x' },
    });
    const events = await readEdgeEvents(r.db, start, 10);
    expect(events.map((e) => [e.type, e.deviceId, e.fingerprint, e.data])).toEqual([
      ['device.revoked', null, null, {}],
      ['rotation.requested', 'd1', 'f1', { rotationId: 'x' }],
    ]);
    expect(events[1]!.seq).toBeGreaterThan(events[0]!.seq);
    expect(await latestEdgeEventSeq(r.db)).toBe(events[1]!.seq);
    expect(await readEdgeEvents(r.db, events[0]!.seq, 10)).toHaveLength(1);
    expect(await pruneEdgeEvents(r.db, '2000-01-01T00:00:00.000Z')).toBe(0);
    expect(await pruneEdgeEvents(r.db, '2999-01-01T00:00:00.000Z')).toBeGreaterThanOrEqual(2);
    expect(await readEdgeEvents(r.db, 0, 10)).toEqual([]);
  });
});
