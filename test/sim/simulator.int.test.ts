import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Edge } from '../../runtime/edge';
import { createManufacturerCa } from '../../sim/credentials';
import type { SimulatedDevice } from '../../sim/device';
import { createSimulatedFleet, type SimulatedFleet } from '../../sim/fleet';
import {
  createIssuingCa,
  httpOperatorApi,
  type OperatorCall,
  registerManufacturerCa,
} from '../../sim/operator-api';
import { eventually } from '../support/eventually';
import { startTestEdge } from '../support/jitp';
import { startTestPlatform, type TestPlatform } from '../support/platform';

/*
 * The simulator against a real platform: real edge (MQTT over TLS), real worker and Temporal,
 * real registry. SQLite only: the simulator exercises transports and the protocol; the registry
 * tests cover both dialects.
 */

const COUNT = 10;

describe('device simulator against a real edge', () => {
  let p: TestPlatform;
  let edge: Edge & { dispose(): Promise<void> };
  let fleet: SimulatedFleet;
  let call: OperatorCall;
  let issuingCaId: string;

  beforeAll(async () => {
    p = await startTestPlatform('sqlite');
    edge = await startTestEdge(p);
    call = (method, path, body) => p.call(p.tenantA.keys.operator, method, path, body);
    const manufacturer = await createManufacturerCa('simtest manufacturer CA');
    // Over the edge's real HTTP port, as `npm run sim` does (the test edge has no KEK, so the
    // issuing CA below is created through the platform's in-process app, which has the worker's).
    const overHttp = httpOperatorApi(`http://127.0.0.1:${edge.httpPort}`, p.tenantA.keys.operator);
    await registerManufacturerCa(overHttp, manufacturer, { enabled: true, tags: ['sim'] });
    issuingCaId = (await createIssuingCa(call, 'simtest rotation CA')).id;
    fleet = await createSimulatedFleet({
      mqttsUrl: `mqtts://localhost:${edge.broker.ports.tls}`,
      serverCaPem: readFileSync(edge.caFile, 'utf8'),
      manufacturer,
      count: COUNT,
      namePrefix: 'simtest',
      // 4 sends a bad CSR first, 5 is slow, 6 and 7 never confirm, 8 and 9 are offline.
      behaviours: { offline: 2, neverConfirm: 2, badCsr: 1, slow: { count: 1, delayMs: 1_500 } },
      reconnect: { minMs: 200, maxMs: 1_000 },
    });
  });
  afterAll(async () => {
    await fleet?.stop();
    await edge?.dispose();
    await p?.stop();
  });

  const device = (i: number): SimulatedDevice => fleet.devices[i]!;
  const deviceRow = (name: string) =>
    p.registry.db
      .selectFrom('devices')
      .select(['id', 'tenant_id'])
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
  const activeCertificates = async (deviceId: string) =>
    (
      await p.registry.db
        .selectFrom('device_credentials')
        .select('lookup_key')
        .where('device_id', '=', deviceId)
        .where('type', '=', 'X509_CERTIFICATE')
        .where('status', '=', 'active')
        .execute()
    ).map((r) => r.lookup_key);
  const certificateStatus = async (fingerprint: string) =>
    (
      await p.registry.db
        .selectFrom('certificates')
        .select('status')
        .where('fingerprint_sha256', '=', fingerprint)
        .executeTakeFirst()
    )?.status;
  const rotate = async (deviceId: string, deadlineSeconds: number) => {
    const res = await call('POST', `/api/devices/${deviceId}/rotate`, { deadlineSeconds, issuingCaId });
    expect(res.status).toBe(202);
    return (await res.json()) as { rotationId: string; workflowId: string };
  };

  it('provisions every online device on its first connect, and none of the offline ones', async () => {
    const summary = await fleet.connectAll();
    expect(summary.states).toMatchObject({ connected: COUNT - 2, offline: 2 });
    const rows = await p.registry.db
      .selectFrom('devices')
      .select('name')
      .where('tenant_id', '=', p.tenantA.id)
      .orderBy('name')
      .execute();
    expect(rows.map((r) => r.name)).toEqual(fleet.devices.filter((d) => d.online).map((d) => d.name));
    const first = await deviceRow(device(0).name);
    expect(await activeCertificates(first.id)).toEqual([device(0).fingerprint]);
  });

  it('connects an offline device once it comes online', async () => {
    expect(device(9).state).toBe('offline');
    await device(9).setOnline(true);
    expect(device(9).state).toBe('connected');
    expect((await deviceRow(device(9).name)).tenant_id).toBe(p.tenantA.id);
  });

  it('rotates a device: CSR over MQTT, reconnect with the new certificate, old one revoked', async () => {
    const d = device(0);
    const old = d.fingerprint;
    const { id } = await deviceRow(d.name);
    const { workflowId } = await rotate(id, 300);
    await fleet.waitUntil(() => d.rotations === 1 && d.state === 'connected', 60_000);
    const result = (await p.client.workflow.getHandle(workflowId).result()) as { state: string };
    expect(result.state).toBe('succeeded');
    expect(d.fingerprint).not.toBe(old);
    expect(d.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['request', 'csr_sent', 'response', 'reconnected_with_new']),
    );
    expect(await activeCertificates(id)).toEqual([d.fingerprint]);
    expect(await certificateStatus(old)).toBe('revoked');
  });

  it('rotates a slow device and one whose first CSR is refused as invalid', async () => {
    const slow = device(5);
    const bad = device(4);
    expect([slow.behaviour.slowMs, bad.behaviour.badCsr]).toEqual([1_500, true]);
    const started = await Promise.all(
      [slow, bad].map(async (d) => ({
        d,
        old: d.fingerprint,
        ...(await rotate((await deviceRow(d.name)).id, 300)),
      })),
    );
    await fleet.waitUntil(() => slow.rotations === 1 && bad.rotations === 1, 60_000);
    for (const { d, old, workflowId } of started) {
      expect(((await p.client.workflow.getHandle(workflowId).result()) as { state: string }).state).toBe(
        'succeeded',
      );
      expect(await certificateStatus(old)).toBe('revoked');
      expect(await activeCertificates((await deviceRow(d.name)).id)).toEqual([d.fingerprint]);
    }
    expect(bad.failures.map((f) => f.errorCode)).toEqual(['CSR_INVALID']);
    expect(bad.eventsOf('csr_sent')).toHaveLength(2);
    expect(slow.failures).toEqual([]);
    const request = slow.eventsOf('request')[0]?.at ?? 0;
    expect((slow.eventsOf('csr_sent')[0]?.at ?? 0) - request).toBeGreaterThanOrEqual(1_400);
  });

  it('a never-confirming device keeps its old certificate; the rotation rolls back at the deadline', async () => {
    const d = device(6);
    expect(d.behaviour.neverConfirm).toBe(true);
    const old = d.fingerprint;
    const { id } = await deviceRow(d.name);
    const { workflowId } = await rotate(id, 20);
    await fleet.waitUntil(() => d.unconfirmed !== null, 30_000);
    const result = (await p.client.workflow.getHandle(workflowId).result()) as {
      state: string;
      reason: string;
    };
    expect(result.state).toBe('rolled_back');
    expect(result.reason).toMatch(/^DEADLINE/);
    const unused = d.unconfirmed?.fingerprintSha256;
    expect(unused).toMatch(/^[0-9a-f]{64}$/);
    expect(d.fingerprint).toBe(old);
    expect(d.rotations).toBe(0);
    expect(await activeCertificates(id)).toEqual([old]);
    expect(await certificateStatus(unused ?? '')).toBe('revoked');
  });

  it('a revoked device is disconnected at once and refused when it reconnects', async () => {
    const d = device(1);
    const { id } = await deviceRow(d.name);
    const res = await call('POST', `/api/devices/${id}/revoke`, { reason: 'simulator test' });
    expect(res.status).toBe(200);
    const refused = await eventually(
      () => Promise.resolve(d.eventsOf('refused').map((e) => e.detail)),
      (codes) => codes.length > 0,
      30_000,
    );
    expect(d.eventsOf('disconnected_by_server')).toHaveLength(1);
    expect(refused[0]).toBe('5');
    expect(device(2).state).toBe('connected');
  });
  it('a device offline when the rotation starts rotates once it is back', async () => {
    const d = device(9);
    await d.setOnline(false);
    const old = d.fingerprint;
    const { id } = await deviceRow(d.name);
    const { workflowId } = await rotate(id, 300);
    expect(d.eventsOf('request')).toEqual([]);
    await d.setOnline(true);
    await fleet.waitUntil(() => d.rotations === 1 && d.state === 'connected', 60_000);
    expect(((await p.client.workflow.getHandle(workflowId).result()) as { state: string }).state).toBe(
      'succeeded',
    );
    expect(await activeCertificates(id)).toEqual([d.fingerprint]);
    expect(await certificateStatus(old)).toBe('revoked');
  });
});
