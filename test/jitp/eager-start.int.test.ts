import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionX509WorkflowId } from '../../domain/ids';
import { openSession } from '../rotation/edge-support';
import { createDeviceCert, createRootCa, type TestCa } from '../support/device-pki';
import { registerCaViaApi, startTestEdge } from '../support/jitp';
import { type TestPlatform, startTestPlatform } from '../support/platform';

interface Start {
  type: string;
  eager: boolean;
}

/** Wraps `client.workflow.start` to record, per start, whether the server started it eagerly. */
function recordStarts(client: Client): Start[] {
  const starts: Start[] = [];
  const original = client.workflow.start.bind(client.workflow);
  client.workflow.start = (async (
    type: Parameters<typeof original>[0],
    options: Parameters<typeof original>[1],
  ) => {
    const handle = await original(type, options);
    starts.push({ type: typeof type === 'string' ? type : type.name, eager: handle.eagerlyStarted });
    return handle;
  }) as typeof client.workflow.start;
  return starts;
}

async function createProfile(p: TestPlatform, name: string) {
  const res = await p.call(p.tenantA.keys.operator, 'POST', '/api/device-profiles', { name });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { profile: { provisionKey: string }; provisionSecret: string };
  return { key: body.profile.provisionKey, secret: body.provisionSecret };
}

// The all-in-one builds the edge's client on its worker's connection (workers/all-in-one.ts):
// the server answers the start with the first workflow task, which this process runs at once.
describe('eager workflow start when the edge shares its worker’s connection', () => {
  let p: TestPlatform;
  let edge: Awaited<ReturnType<typeof startTestEdge>>;
  let starts: Start[];
  let root: TestCa;

  beforeAll(async () => {
    p = await startTestPlatform('sqlite', { eagerStart: true });
    starts = recordStarts(p.client);
    edge = await startTestEdge(p);
    root = await createRootCa({ name: 'CN=Eager Root,O=Acme' });
    expect((await registerCaViaApi(p, p.tenantA.keys.operator, root)).status).toBe(201);
  });
  afterAll(async () => {
    await edge?.dispose();
    await p?.stop();
  });

  it('provisions on a first TLS connect through an eagerly started workflow', async () => {
    const device = await createDeviceCert(root, { cn: 'eager-1', o: 'Acme' });
    const session = await openSession(edge, device);
    expect(session.code).toBe(0);
    await session.end();

    const fingerprint = device.fingerprintSha256;
    const described = await p.client.workflow
      .getHandle(provisionX509WorkflowId(p.tenantA.id, fingerprint))
      .describe();
    expect(described.status.name).toBe('COMPLETED');
    expect(starts).toContainEqual({ type: 'provisionX509DeviceWorkflow', eager: true });
    const rows = await p.registry.db
      .selectFrom('certificates')
      .innerJoin('devices', 'devices.id', 'certificates.device_id')
      .select(['devices.name', 'certificates.status'])
      .where('certificates.fingerprint_sha256', '=', fingerprint)
      .execute();
    expect(rows).toEqual([{ name: 'eager-1', status: 'active' }]);
  });

  it('starts key/secret provisioning and operator device creation eagerly too', async () => {
    const prof = await createProfile(p, 'eager-profile');
    const provisioned = await p.call(undefined, 'POST', '/api/v1/provision', {
      deviceName: 'eager-claim-1',
      provisionDeviceKey: prof.key,
      provisionDeviceSecret: prof.secret,
    });
    expect(provisioned.status).toBe(200);
    expect(await provisioned.json()).toMatchObject({ status: 'SUCCESS', credentialsType: 'ACCESS_TOKEN' });

    const created = await p.call(p.tenantA.keys.operator, 'POST', '/api/devices', { name: 'eager-api-1' });
    expect(created.status).toBe(201);

    expect(starts).toContainEqual({ type: 'provisionClaimDeviceWorkflow', eager: true });
    expect(starts).toContainEqual({ type: 'createDeviceWorkflow', eager: true });
    expect(starts.every((s) => s.eager)).toBe(true);
  });
});

describe('a separate edge (its own client connection) starts workflows the normal way', () => {
  let p: TestPlatform;
  let starts: Start[];
  beforeAll(async () => {
    p = await startTestPlatform('sqlite');
    starts = recordStarts(p.client);
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('creates the device without asking for eager start', async () => {
    const created = await p.call(p.tenantA.keys.operator, 'POST', '/api/devices', { name: 'plain-api-1' });
    expect(created.status).toBe(201);
    expect(starts).toEqual([{ type: 'createDeviceWorkflow', eager: false }]);
  });
});
