import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RevocationTarget } from '../../domain/rotation';
import { insertDevice } from '../../registry/devices';
import { newId } from '../../registry/ids';
import { revokeTarget } from '../../registry/revocations';
import { sha256Hex } from '../../registry/secrets';
import type { Edge } from '../../runtime/edge';
import { createDeviceCert, createRootCa, type DeviceCert, type TestCa } from '../support/device-pki';
import { eventually } from '../support/eventually';
import { type CaBody, registerCaViaApi, startTestEdge } from '../support/jitp';
import { type TestPlatform, startTestPlatform } from '../support/platform';
import { dialects } from '../support/registry';
import { openSession, type Session } from './edge-support';

describe.each(dialects)('edge: revocation takes effect at once (%s)', (dialect) => {
  let p: TestPlatform;
  let edge: Edge & { dispose(): Promise<void> };
  let root: TestCa;
  let rootId: string;
  const sessions: Session[] = [];

  beforeAll(async () => {
    p = await startTestPlatform(dialect);
    edge = await startTestEdge(p);
    root = await createRootCa({ name: `CN=Revocation Root ${dialect}` });
    const registered = await registerCaViaApi(p, p.tenantA.keys.operator, root);
    expect(registered.status).toBe(201);
    rootId = ((await registered.json()) as CaBody).id;
  });
  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.end()));
    await edge?.dispose();
    await p?.stop();
  });

  async function connected(identity: Parameters<typeof openSession>[1]): Promise<Session> {
    const session = await openSession(edge, identity);
    sessions.push(session);
    expect(session.code).toBe(0);
    return session;
  }

  const revoke = (deviceId: string, target: RevocationTarget) =>
    revokeTarget(
      p.registry.db,
      { tenantId: p.tenantA.id, target, reason: 'compromised', actor: 'test', requestId: randomUUID() },
      { workflowId: null, workflowRunId: null },
    ).then((result) => expect(result.deviceId).toBe(deviceId));

  const deviceIdOf = async (cert: DeviceCert) =>
    (
      await p.registry.db
        .selectFrom('device_credentials')
        .select('device_id')
        .where('lookup_key', '=', cert.fingerprintSha256)
        .executeTakeFirstOrThrow()
    ).device_id;

  /** A device with a stored certificate and an access token, inserted straight into the registry. */
  async function deviceWithCertAndToken(name: string) {
    const cert = await createDeviceCert(root, { cn: name });
    const token = `token-${randomUUID()}`;
    const id = newId();
    await insertDevice(p.registry.db, {
      id,
      tenantId: p.tenantA.id,
      name,
      createdByWorkflow: 'test',
      provisionState: 'provisioned',
      accessTokenHash: sha256Hex(token),
      certificate: {
        issuerCaId: rootId,
        serialHex: '01',
        fingerprintSha256: cert.fingerprintSha256,
        subject: `CN=${name}`,
        notBefore: '2020-01-01T00:00:00.000Z',
        notAfter: '2040-01-01T00:00:00.000Z',
        pem: cert.certPem,
      },
    });
    return { id, cert, token };
  }

  it('closes every session of a revoked device within seconds and refuses its next connect', async () => {
    const victim = await createDeviceCert(root, { cn: `revoke-me-${dialect}` });
    const bystander = await createDeviceCert(root, { cn: `bystander-${dialect}` });
    // Two sessions of the victim (JIT-provisioned on the first), one of another device.
    const first = await connected(victim);
    const second = await connected(victim);
    const other = await connected(bystander);
    const victimId = await deviceIdOf(victim);

    await revoke(victimId, { kind: 'device', deviceId: victimId });

    await eventually(
      () => Promise.resolve(first.isClosed() && second.isClosed()),
      (closed) => closed,
      10_000,
    );
    expect([first.isClosed(), second.isClosed()]).toEqual([true, true]);
    // The certificate no longer matches a live credential: refused (5), and no new device.
    expect((await openSession(edge, victim)).code).toBe(5);
    const devices = await p.registry.db
      .selectFrom('devices')
      .select(['status'])
      .where('name', '=', `revoke-me-${dialect}`)
      .execute();
    expect(devices).toEqual([{ status: 'revoked' }]);
    expect(other.isClosed()).toBe(false);
    expect((await openSession(edge, bystander)).code).toBe(0);
  });

  it('closes a token device’s session and refuses its token, even when just cached', async () => {
    const { id, token } = await deviceWithCertAndToken(`token-revoke-${dialect}`);
    const other = await deviceWithCertAndToken(`token-keep-${dialect}`);
    const session = await connected({ token });
    // A second connect right away is answered from the credential cache.
    const cachedSession = await connected({ token });
    const otherSession = await connected({ token: other.token });

    await revoke(id, { kind: 'device', deviceId: id });

    await eventually(
      () => Promise.resolve(session.isClosed() && cachedSession.isClosed()),
      (closed) => closed,
      10_000,
    );
    expect(session.isClosed() && cachedSession.isClosed()).toBe(true);
    // Within the cache TTL: the cache was evicted, so the registry refuses the token (4).
    expect((await openSession(edge, { token })).code).toBe(4);
    expect(otherSession.isClosed()).toBe(false);
  });

  it('revoking one certificate closes only the sessions that authenticated with it', async () => {
    const { id, cert, token } = await deviceWithCertAndToken(`cert-revoke-${dialect}`);
    const byCert = await connected(cert);
    const byToken = await connected({ token });

    await revoke(id, { kind: 'certificate', deviceId: id, fingerprintSha256: cert.fingerprintSha256 });

    await eventually(
      () => Promise.resolve(byCert.isClosed()),
      (closed) => closed,
      10_000,
    );
    expect(byCert.isClosed()).toBe(true);
    expect((await openSession(edge, cert)).code).toBe(5);
    // The device and its token are untouched: that session stays, and the token still works.
    expect(byToken.isClosed()).toBe(false);
    const again = await connected({ token });
    expect(again.code).toBe(0);
  });

  it('revocation through the operator API closes the session the same way', async () => {
    const { id, cert } = await deviceWithCertAndToken(`api-revoke-${dialect}`);
    const live = await connected(cert);
    const res = await p.call(p.tenantA.keys.operator, 'POST', `/api/devices/${id}/revoke`, {
      reason: 'stolen',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ deviceId: id, deviceRevoked: true });
    await eventually(
      () => Promise.resolve(live.isClosed()),
      (closed) => closed,
      10_000,
    );
    expect(live.isClosed()).toBe(true);
    expect((await openSession(edge, cert)).code).toBe(5);
  });
});
