import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEdge } from '../support/jitp';
import { type TestPlatform, startTestPlatform } from '../support/platform';
import { eventually } from '../support/eventually';

describe('gateway provisioning (v1/gateway/connect)', () => {
  let p: TestPlatform;
  let edge: Awaited<ReturnType<typeof startTestEdge>>;
  let gatewayToken: string;
  let gatewayId: string;
  let plainToken: string;

  beforeAll(async () => {
    p = await startTestPlatform('sqlite');
    edge = await startTestEdge(p);
    const op = p.tenantA.keys.operator;
    const gwClass = (await (
      await p.call(op, 'POST', '/api/device-classes', {
        name: 'gateways',
        policy: {
          version: 1,
          rules: [
            {
              effect: 'allow',
              actions: ['publish'],
              topics: ['v1/gateway/connect', 'v1/devices/me/telemetry'],
            },
          ],
        },
      })
    ).json()) as { id: string };
    const gw = (await (
      await p.call(op, 'POST', '/api/devices', { name: 'gw-1', deviceClassId: gwClass.id, accessToken: {} })
    ).json()) as { device: { id: string }; accessToken: string };
    gatewayToken = gw.accessToken;
    gatewayId = gw.device.id;
    await p.call(op, 'POST', '/api/device-profiles', { name: 'sub-profile' });
    const plain = (await (
      await p.call(op, 'POST', '/api/devices', { name: 'not-a-gw', accessToken: {} })
    ).json()) as {
      accessToken: string;
    };
    plainToken = plain.accessToken;
  });
  afterAll(async () => {
    await edge?.dispose();
    await p?.stop();
  });

  const subDevices = () =>
    p.registry.db
      .selectFrom('devices')
      .selectAll()
      .where('gateway_id', '=', gatewayId)
      .orderBy('name')
      .execute();

  it('creates an announced sub-device under the gateway once, with the named profile', async () => {
    const gw = await mqtt.connectAsync(`mqtt://127.0.0.1:${edge.broker.ports.plain}`, {
      username: gatewayToken,
      reconnectPeriod: 0,
    });
    await gw.publishAsync('v1/gateway/connect', JSON.stringify({ device: 'sub-1', type: 'sub-profile' }), {
      qos: 1,
    });
    await gw.publishAsync('v1/gateway/connect', JSON.stringify({ device: 'sub-1', type: 'sub-profile' }), {
      qos: 1,
    });
    await gw.publishAsync('v1/gateway/connect', JSON.stringify({ device: 'bad/#' }), { qos: 1 });
    const rows = await eventually(subDevices, (r) => r.length >= 1);
    await new Promise((r) => setTimeout(r, 500));
    expect((await subDevices()).map((r) => r.name)).toEqual(['sub-1']);
    const profile = await p.registry.db
      .selectFrom('device_profiles')
      .select('id')
      .where('name', '=', 'sub-profile')
      .executeTakeFirstOrThrow();
    expect(rows[0]?.profile_id).toBe(profile.id);
    const audit = await p.registry.db
      .selectFrom('audit_events')
      .selectAll()
      .where('device_id', '=', rows[0]?.id ?? '')
      .execute();
    expect(audit.map((a) => [a.type, a.actor])).toEqual([['device.created', `gateway:${gatewayId}`]]);
    await gw.endAsync();
  });

  it('does not let an ordinary device act as a gateway', async () => {
    const dev = await mqtt.connectAsync(`mqtt://127.0.0.1:${edge.broker.ports.plain}`, {
      username: plainToken,
      reconnectPeriod: 0,
    });
    const closed = new Promise<void>((r) => dev.once('close', () => r()));
    dev.publish('v1/gateway/connect', JSON.stringify({ device: 'sneaky' }), { qos: 0 });
    await closed;
    await new Promise((r) => setTimeout(r, 500));
    expect(
      await p.registry.db.selectFrom('devices').select('id').where('name', '=', 'sneaky').execute(),
    ).toEqual([]);
  });
});

describe('device class policies', () => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await startTestPlatform('sqlite');
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('are validated when a class is created, naming the bad path', async () => {
    const res = await p.call(p.tenantA.keys.operator, 'POST', '/api/device-classes', {
      name: 'broken',
      policy: { version: 1, rules: [{ effect: 'allow', actions: ['publish'], topics: ['a/#/b'] }] },
    });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { code: string; errors: { field: string }[] };
    expect(problem.code).toBe('VALIDATION_FAILED');
    expect(problem.errors[0]?.field).toMatch(/^policy\.rules\.0\.topics\.0/);
  });
});
