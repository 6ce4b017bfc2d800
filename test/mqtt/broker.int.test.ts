import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedBroker, startBroker } from '../../api/mqtt/broker';
import { ensureServerIdentity, type ServerIdentity } from '../../pki/server-identity';
import { insertDevice } from '../../registry/devices';
import { newId } from '../../registry/ids';
import { sha256Hex } from '../../registry/secrets';
import { createTenantWithAdminKey } from '../../registry/tenants';
import { freshRegistry } from '../support/registry';

type Connack = { returnCode?: number };

/** Connects and resolves with the CONNACK code (0 = accepted) and the client. */
function connect(url: string, opts: IClientOptions): Promise<{ code: number; client: MqttClient }> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, {
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      protocolVersion: 4,
      ...opts,
    });
    client.once('connect', (packet: Connack) => resolve({ code: packet.returnCode ?? 0, client }));
    client.once('error', (err: Error & { code?: number }) => {
      client.end(true);
      resolve({ code: typeof err.code === 'number' ? err.code : -1, client });
    });
  });
}

function subackCodes(client: MqttClient, filters: string[]): Promise<number[]> {
  return new Promise((resolve) => {
    client.once('packetreceive', (packet) => {
      if (packet.cmd === 'suback') resolve(packet.granted as number[]);
    });
    client.subscribe(filters, () => undefined);
  });
}

describe('embedded MQTT broker', () => {
  let registry: Awaited<ReturnType<typeof freshRegistry>>;
  let broker: EmbeddedBroker;
  let identity: ServerIdentity;
  let dir: string;
  const token = 'a-device-token-of-decent-length';
  const otherToken = 'another-device-token-of-decent-length';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certflow-broker-'));
    registry = await freshRegistry('sqlite');
    const { tenant } = await createTenantWithAdminKey(registry.db, 't', 'test');
    await insertDevice(registry.db, {
      id: newId(),
      tenantId: tenant.id,
      name: 'mqtt-dev',
      createdByWorkflow: 'test',
      accessTokenHash: sha256Hex(token),
    });
    await insertDevice(registry.db, {
      id: newId(),
      tenantId: tenant.id,
      name: 'mqtt-dev-2',
      createdByWorkflow: 'test',
      accessTokenHash: sha256Hex(otherToken),
    });
    identity = await ensureServerIdentity(join(dir, 'tls'), ['localhost', '127.0.0.1']);
    broker = await startBroker({
      db: registry.db,
      logger: pino({ level: 'silent' }),
      host: '127.0.0.1',
      port: 0,
      tlsPort: 0,
      tls: identity,
    });
  });
  afterAll(async () => {
    await broker?.close();
    await registry?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts a device by its access token and knows which device it is', async () => {
    const { code, client } = await connect(`mqtt://127.0.0.1:${broker.ports.plain}`, {
      username: token,
      clientId: 'c1',
    });
    expect(code).toBe(0);
    expect(broker.deviceOf('c1')?.deviceName).toBe('mqtt-dev');
    await client.endAsync();
  });

  it('keeps each device’s v1/devices/me topics its own', async () => {
    const { client: a } = await connect(`mqtt://127.0.0.1:${broker.ports.plain}`, {
      username: token,
      clientId: 'me-a',
    });
    const { client: b } = await connect(`mqtt://127.0.0.1:${broker.ports.plain}`, {
      username: otherToken,
      clientId: 'me-b',
    });
    const heardA: string[] = [];
    const heardB: string[] = [];
    a.on('message', (topic, payload) => heardA.push(`${topic} ${payload.toString()}`));
    b.on('message', (topic, payload) => heardB.push(`${topic} ${payload.toString()}`));
    await subackCodes(a, ['v1/devices/me/attributes']);
    await subackCodes(b, ['v1/devices/me/attributes']);
    await a.publishAsync('v1/devices/me/attributes', 'from-a', { qos: 1 });
    await new Promise((r) => setTimeout(r, 300));
    expect(heardA).toEqual(['v1/devices/me/attributes from-a']);
    expect(heardB).toEqual([]);
    await Promise.all([a.endAsync(), b.endAsync()]);
  });

  it('refuses client ids with topic syntax, control characters or huge lengths (CONNACK 2)', async () => {
    for (const clientId of ['a+b', 'a#', 'a/b', '$sys', 'nul\u0000', 'x'.repeat(129)]) {
      expect({
        clientId,
        code: (await connect(`mqtt://127.0.0.1:${broker.ports.plain}`, { username: token, clientId })).code,
      }).toEqual({ clientId, code: 2 });
    }
  });

  it('accepts the same device over TLS, verifying the server against the platform CA', async () => {
    const { code, client } = await connect(`mqtts://localhost:${broker.ports.tls}`, {
      username: token,
      ca: identity.caPem,
      rejectUnauthorized: true,
    });
    expect(code).toBe(0);
    await client.endAsync();
  });

  it('refuses unknown tokens (4) and anonymous connects (5)', async () => {
    expect((await connect(`mqtt://127.0.0.1:${broker.ports.plain}`, { username: 'nope' })).code).toBe(4);
    expect((await connect(`mqtt://127.0.0.1:${broker.ports.plain}`, {})).code).toBe(5);
  });

  it('grants the default (ThingsBoard) device topics only, and refuses wildcard escapes and $SYS', async () => {
    const { client } = await connect(`mqtt://127.0.0.1:${broker.ports.plain}`, { username: token });
    const codes = await subackCodes(client, [
      'v1/devices/me/attributes',
      'v1/devices/other/x',
      '#',
      '$SYS/#',
      'v1/devices/me/rpc/request/+',
      // Wider than what the policy grants (it would include the device's own telemetry).
      'v1/devices/me/#',
    ]);
    expect(codes).toEqual([0, 128, 128, 128, 0, 128]);
    await client.endAsync();
  });

  it('delivers a device’s own messages but drops publishes to foreign topics', async () => {
    const { client: listener } = await connect(`mqtt://127.0.0.1:${broker.ports.plain}`, { username: token });
    await subackCodes(listener, ['v1/devices/me/attributes']);
    const received: string[] = [];
    listener.on('message', (topic) => received.push(topic));
    const { client: sender } = await connect(`mqtt://127.0.0.1:${broker.ports.plain}`, { username: token });
    await sender.publishAsync('v1/devices/me/attributes', '{"t":1}', { qos: 1 });
    await sender.publishAsync('v1/devices/other/telemetry', '{"t":2}', { qos: 0 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    expect(received).toEqual(['v1/devices/me/attributes']);
    await Promise.all([listener.endAsync(), sender.endAsync(true)]);
  });
});
