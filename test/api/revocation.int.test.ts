import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDeviceByCertificate } from '../../registry/devices';
import { eventually } from '../support/eventually';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { dialects } from '../support/registry';
import { type Fleet, provisionFleet } from './fleet-fixture';

type Problem = { code: string; errors?: { field: string }[] };
type RevokeResult = {
  deviceId: string;
  deviceRevoked: boolean;
  revokedCertificates: string[];
  revokedCredentials: number;
};
type Certificate = { fingerprintSha256: string; status: string; revocationReason: string | null };

describe.each(dialects)('revocation and ad hoc rotation API on %s', (dialect) => {
  let p: TestPlatform;
  let fleet: Fleet;
  let op: string;

  beforeAll(async () => {
    p = await startTestPlatform(dialect);
    op = p.tenantA.keys.operator;
    fleet = await provisionFleet(p, op, `rev-${dialect}`, 4);
  });
  afterAll(async () => {
    await p?.stop();
  });

  const device = (i: number) => fleet.devices[i] as Fleet['devices'][number];
  const revokeDevice = (id: string, body: unknown, key = op, idempotencyKey?: string) =>
    p.app.request(`/api/devices/${id}/revoke`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
      },
      body: JSON.stringify(body),
    });
  const certificates = async (id: string, key = op) =>
    (
      (await (await p.call(key, 'GET', `/api/devices/${id}/certificates`)).json()) as {
        certificates: Certificate[];
      }
    ).certificates;

  it('lists a device’s certificates for every role, within the tenant only', async () => {
    const d = device(0);
    const listed = await certificates(d.id, p.tenantA.keys.auditor);
    expect(listed).toEqual([
      expect.objectContaining({ fingerprintSha256: d.fingerprint, status: 'active', pendingRotation: false }),
    ]);
    const foreign = await p.call(p.tenantB.keys.admin, 'GET', `/api/devices/${d.id}/certificates`);
    expect(foreign.status).toBe(404);
    expect(((await foreign.json()) as Problem).code).toBe('DEVICE_NOT_FOUND');
  });

  it('refuses revocations without a reason, from auditors and from other tenants', async () => {
    const d = device(0);
    const noReason = await revokeDevice(d.id, {});
    expect(noReason.status).toBe(400);
    expect(((await noReason.json()) as Problem).errors?.map((e) => e.field)).toEqual(['reason']);
    expect((await revokeDevice(d.id, { reason: '   ' })).status).toBe(400);
    expect((await revokeDevice(d.id, { reason: 'x'.repeat(501) })).status).toBe(400);
    const badKey = await revokeDevice(d.id, { reason: 'ok' }, op, 'has spaces');
    expect(((await badKey.json()) as Problem).code).toBe('VALIDATION_FAILED');

    const auditor = await revokeDevice(d.id, { reason: 'nope' }, p.tenantA.keys.auditor);
    expect(auditor.status).toBe(403);
    const foreign = await revokeDevice(d.id, { reason: 'nope' }, p.tenantB.keys.operator);
    expect(foreign.status).toBe(404);
    expect(((await foreign.json()) as Problem).code).toBe('DEVICE_NOT_FOUND');
    const unknown = await revokeDevice('no-such-device', { reason: 'nope' });
    expect(unknown.status).toBe(404);

    expect(await findDeviceByCertificate(p.registry.db, d.fingerprint)).toMatchObject({ deviceId: d.id });
    expect((await certificates(d.id))[0]?.status).toBe('active');
  });

  it('revokes a device at once, and answers a retry with the same Idempotency-Key identically', async () => {
    const d = device(1);
    const first = await revokeDevice(d.id, { reason: 'stolen from the warehouse' }, op, `req-${dialect}-1`);
    expect(first.status).toBe(200);
    const result = (await first.json()) as RevokeResult;
    expect(result).toEqual({
      deviceId: d.id,
      deviceRevoked: true,
      revokedCertificates: [d.fingerprint],
      revokedCredentials: 1,
    });

    const row = await p.registry.db
      .selectFrom('devices')
      .select('status')
      .where('id', '=', d.id)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('revoked');
    expect(await certificates(d.id)).toEqual([
      expect.objectContaining({
        status: 'revoked',
        revocationReason: expect.stringContaining('stolen') as unknown,
      }),
    ]);
    const creds = await p.registry.db
      .selectFrom('device_credentials')
      .select('status')
      .where('device_id', '=', d.id)
      .execute();
    expect(creds.map((c) => c.status)).toEqual(['revoked']);
    // The edge's lookup refuses it from the next connect on, and is told to cut live sessions.
    expect(await findDeviceByCertificate(p.registry.db, d.fingerprint)).toBeUndefined();
    const events = await p.registry.db
      .selectFrom('edge_events')
      .select('type')
      .where('device_id', '=', d.id)
      .execute();
    expect(events.map((e) => e.type)).toContain('device.revoked');
    const shown = (await (await p.call(op, 'GET', `/api/devices/${d.id}`)).json()) as { status: string };
    expect(shown.status).toBe('revoked');

    const auditBefore = await p.registry.db
      .selectFrom('audit_events')
      .select('id')
      .where('device_id', '=', d.id)
      .execute();
    const retry = await revokeDevice(d.id, { reason: 'stolen from the warehouse' }, op, `req-${dialect}-1`);
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual(result);
    const auditAfter = await p.registry.db
      .selectFrom('audit_events')
      .select('id')
      .where('device_id', '=', d.id)
      .execute();
    expect(auditAfter).toHaveLength(auditBefore.length);

    // A new request on a revoked device is not an error; it revokes nothing more.
    const again = await revokeDevice(d.id, { reason: 'again' });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ revokedCertificates: [], revokedCredentials: 0 });

    const rotate = await p.call(op, 'POST', `/api/devices/${d.id}/rotate`, {});
    expect(rotate.status).toBe(409);
    expect(((await rotate.json()) as Problem).code).toBe('DEVICE_REVOKED');
  });

  it('revokes one certificate and leaves the device active', async () => {
    const d = device(2);
    const path = (fp: string) => `/api/devices/${d.id}/certificates/${fp}/revoke`;
    const unknown = await p.call(op, 'POST', path('ab'.repeat(32)), { reason: 'compromised key' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as Problem).code).toBe('CERTIFICATE_NOT_FOUND');
    const malformed = await p.call(op, 'POST', path('not-a-fingerprint'), { reason: 'compromised key' });
    expect(malformed.status).toBe(400);
    // Another device's certificate is not this device's.
    const other = await p.call(op, 'POST', path(device(3).fingerprint), { reason: 'compromised key' });
    expect(other.status).toBe(404);

    const res = await p.call(op, 'POST', path(d.fingerprint.toUpperCase()), { reason: 'compromised key' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      deviceId: d.id,
      deviceRevoked: false,
      revokedCertificates: [d.fingerprint],
    });
    expect(await certificates(d.id)).toEqual([
      expect.objectContaining({
        status: 'revoked',
        revocationReason: expect.stringContaining('compromised') as unknown,
      }),
    ]);
    const row = await p.registry.db
      .selectFrom('devices')
      .select('status')
      .where('id', '=', d.id)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('active');
    expect(await findDeviceByCertificate(p.registry.db, d.fingerprint)).toBeUndefined();
    const events = await p.registry.db
      .selectFrom('edge_events')
      .select(['type', 'fingerprint'])
      .where('device_id', '=', d.id)
      .execute();
    expect(events).toContainEqual({ type: 'credential.revoked', fingerprint: d.fingerprint });
  });

  it('starts an ad hoc rotation that asks the device, and refuses a second one meanwhile', async () => {
    const d = device(3);
    expect((await p.call(op, 'POST', '/api/devices/no-such-device/rotate', {})).status).toBe(404);
    expect((await p.call(p.tenantA.keys.auditor, 'POST', `/api/devices/${d.id}/rotate`, {})).status).toBe(
      403,
    );
    const bad = await p.call(op, 'POST', `/api/devices/${d.id}/rotate`, { deadlineSeconds: 1 });
    expect(((await bad.json()) as Problem).errors?.map((e) => e.field)).toEqual(['deadlineSeconds']);

    const res = await p.call(op, 'POST', `/api/devices/${d.id}/rotate`, { deadlineSeconds: 600 });
    expect(res.status).toBe(202);
    const started = (await res.json()) as { rotationId: string; workflowId: string };
    expect(started.workflowId).toBe(`device-rotate/${p.tenantA.id}/${d.id}/${started.rotationId}`);
    const slot = await eventually(
      () =>
        p.registry.db
          .selectFrom('device_rotations')
          .selectAll()
          .where('device_id', '=', d.id)
          .executeTakeFirst(),
      (r) => r !== undefined,
      30_000,
    );
    expect(slot).toMatchObject({
      workflow_id: started.workflowId,
      state: 'requested',
      old_fingerprint: d.fingerprint,
    });
    const events = await p.registry.db
      .selectFrom('edge_events')
      .select('type')
      .where('device_id', '=', d.id)
      .execute();
    expect(events.map((e) => e.type)).toContain('rotation.requested');

    const second = await p.call(op, 'POST', `/api/devices/${d.id}/rotate`, {});
    expect(second.status).toBe(409);
    expect(((await second.json()) as Problem).code).toBe('ROTATION_IN_PROGRESS');
    await p.client.workflow.getHandle(started.workflowId).cancel();
  });
});
