import * as coap from 'coap';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type EmbeddedBroker, startBroker } from '../../api/mqtt/broker';
import { startCoapProvisioning, type CoapProvisioning } from '../../api/provisioning/coap';
import type { ProvisionHandler, ProvisionSource } from '../../api/provisioning/handler';
import { startExternalProvisioning } from '../../api/provisioning/mqtt-external';
import { failure } from '../../domain/provisioning';
import { ensureServerIdentity, type ServerIdentity } from '../../pki/server-identity';
import { insertDevice } from '../../registry/devices';
import { newId } from '../../registry/ids';
import { sha256Hex } from '../../registry/secrets';
import { createTenantWithAdminKey } from '../../registry/tenants';
import { freshRegistry } from '../support/registry';

const run = promisify(execFile);
const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fake handler: these tests are about transports, not provisioning rules. */
function fakeHandler() {
  const calls: { body: unknown; source: ProvisionSource }[] = [];
  const handler: ProvisionHandler = (body, source) => {
    calls.push({ body, source });
    if (typeof body !== 'object' || body === null)
      return Promise.resolve(failure('PROVISION_BAD_REQUEST', 'not JSON'));
    const b = body as { deviceName?: string; provisionDeviceSecret?: string };
    if (b.provisionDeviceSecret !== 'secret')
      return Promise.resolve(failure('PROVISION_BAD_KEY_OR_SECRET', 'bad'));
    const name = b.deviceName ?? 'anon';
    return Promise.resolve({
      status: 'SUCCESS',
      credentialsType: 'ACCESS_TOKEN',
      // `long…` devices get a 3000-character token: larger than one CoAP block.
      credentialsValue: name.startsWith('long')
        ? `token-for-${name}-`.padEnd(3000, 'x')
        : `token-for-${name}`,
      deviceId: `id-${name}`,
    });
  };
  return { handler, calls };
}

const json = (text: string): unknown => JSON.parse(text);
const request = (deviceName: string, secret = 'secret') =>
  JSON.stringify({ deviceName, provisionDeviceKey: 'key', provisionDeviceSecret: secret });

function connect(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(
    url,
    { reconnectPeriod: 0, connectTimeout: 5_000, protocolVersion: 4, ...opts },
    false,
  );
}

/** Collects what a client receives, with the packet (QoS, properties). */
function inbox(client: MqttClient) {
  const got: { topic: string; body: unknown; packet: IPublishPacket }[] = [];
  client.on('message', (topic, payload, packet) =>
    got.push({ topic, body: JSON.parse(payload.toString()), packet }),
  );
  return got;
}

/** SUBACK return codes as sent (mqtt.js rejects subscribeAsync when one is 0x80). */
function subackCodes(client: MqttClient, filters: string[]): Promise<number[]> {
  return new Promise((resolve) => {
    client.once('packetreceive', (packet) => {
      if (packet.cmd === 'suback') resolve(packet.granted as number[]);
    });
    client.subscribe(filters, () => undefined);
  });
}

async function until(check: () => boolean, ms = 3_000): Promise<void> {
  for (const start = Date.now(); !check(); await sleep(20)) {
    if (Date.now() - start > ms) throw new Error('timed out');
  }
}

describe('MQTT provisioning on the embedded broker', () => {
  let registry: Awaited<ReturnType<typeof freshRegistry>>;
  let broker: EmbeddedBroker;
  let identity: ServerIdentity;
  let dir: string;
  let url: string;
  let fake: ReturnType<typeof fakeHandler>;
  const token = 'a-device-token-for-provisioning-tests';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certflow-prov-'));
    registry = await freshRegistry('sqlite');
    const { tenant } = await createTenantWithAdminKey(registry.db, 't', 'test');
    await insertDevice(registry.db, {
      id: newId(),
      tenantId: tenant.id,
      name: 'known-dev',
      createdByWorkflow: 'test',
      accessTokenHash: sha256Hex(token),
    });
    identity = await ensureServerIdentity(join(dir, 'tls'), ['localhost', '127.0.0.1']);
    fake = fakeHandler();
    broker = await startBroker({
      db: registry.db,
      logger,
      host: '127.0.0.1',
      port: 0,
      tlsPort: 0,
      tls: identity,
      provision: (body, source) => fake.handler(body, source),
      provisionLimits: { maxRequests: 3, maxPayloadBytes: 4096 },
    });
    url = `mqtt://127.0.0.1:${broker.ports.plain}`;
  });
  beforeEach(() => {
    fake.calls.length = 0;
  });
  afterAll(async () => {
    await broker?.close();
    await registry?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a credential-less device on /provision/response, at the request QoS', async () => {
    const device = await connect(url);
    const got = inbox(device);
    expect((await device.subscribeAsync('/provision/response', { qos: 1 }))[0]?.qos).toBe(1);
    await device.publishAsync('/provision/request', request('dev-a'), { qos: 1 });
    await until(() => got.length === 1);
    expect(got[0]?.body).toEqual({
      status: 'SUCCESS',
      credentialsType: 'ACCESS_TOKEN',
      credentialsValue: 'token-for-dev-a',
      deviceId: 'id-dev-a',
    });
    expect(got[0]?.packet.qos).toBe(1);
    expect(fake.calls).toEqual([
      { body: json(request('dev-a')), source: { transport: 'mqtt', remote: '127.0.0.1' } },
    ]);
    await device.endAsync();
  });

  it('accepts username `provision` with any password, and plain TLS without a certificate', async () => {
    for (const [u, opts] of [
      [url, { username: 'provision', password: 'whatever' }],
      [`mqtts://localhost:${broker.ports.tls}`, { ca: identity.caPem, rejectUnauthorized: true }],
    ] as const) {
      const device = await connect(u, opts);
      const got = inbox(device);
      await device.subscribeAsync('/provision/response', { qos: 0 });
      await device.publishAsync('/provision/request', request('dev-b', 'wrong'), { qos: 0 });
      await until(() => got.length === 1);
      expect(got[0]?.body).toMatchObject({ status: 'NOT_FOUND', errorCode: 'PROVISION_BAD_KEY_OR_SECRET' });
      expect(got[0]?.packet.qos).toBe(0);
      await device.endAsync();
    }
  });

  it('confines a provisioning session to the two provisioning topics', async () => {
    const listener = await connect(url, { username: token });
    const heard = inbox(listener);
    // A real device listening on its own (subscribable) attributes topic.
    await listener.subscribeAsync('v1/devices/me/attributes');
    const device = await connect(url);
    const filters = [
      '/provision/response',
      '#',
      'v1/devices/me/telemetry',
      '/provision/request',
      '/provision/+',
    ];
    expect(await subackCodes(device, filters)).toEqual([0, 128, 128, 128, 128]);
    const closed = new Promise<void>((r) => device.once('close', () => r()));
    device.publish('v1/devices/me/attributes', '{"t":1}', { qos: 0 });
    await closed; // aedes drops a connection whose publish is refused
    await sleep(200);
    expect(heard).toEqual([]);
    expect(broker.deviceOf(device.options.clientId ?? '')).toBeUndefined();
    await listener.endAsync();
  });

  it('gives each of two provisioning clients only its own answer', async () => {
    const [a, b] = await Promise.all([connect(url), connect(url)]);
    const [gotA, gotB] = [inbox(a), inbox(b)];
    await Promise.all([a.subscribeAsync('/provision/response'), b.subscribeAsync('/provision/response')]);
    await a.publishAsync('/provision/request', request('dev-a'), { qos: 1 });
    await until(() => gotA.length === 1);
    await b.publishAsync('/provision/request', request('dev-b'), { qos: 1 });
    await until(() => gotB.length === 1);
    await sleep(200);
    expect(gotA.map((m) => m.body)).toMatchObject([{ credentialsValue: 'token-for-dev-a' }]);
    expect(gotB.map((m) => m.body)).toMatchObject([{ credentialsValue: 'token-for-dev-b' }]);
    await Promise.all([a.endAsync(), b.endAsync()]);
  });

  it('answers a device that publishes before subscribing, directly', async () => {
    const device = await connect(url);
    const got = inbox(device);
    await device.publishAsync('/provision/request', request('eager'), { qos: 1 });
    await until(() => got.length === 1);
    expect(got[0]).toMatchObject({ topic: '/provision/response', body: { status: 'SUCCESS' } });
    await device.endAsync();
  });

  it('passes non-JSON to the handler as text, answers oversized requests FAILURE, drops after N', async () => {
    const device = await connect(url);
    const got = inbox(device);
    await device.subscribeAsync('/provision/response');
    await device.publishAsync('/provision/request', 'not json', { qos: 1 });
    await device.publishAsync('/provision/request', 'x'.repeat(5000), { qos: 1 });
    await until(() => got.length === 2);
    expect(fake.calls.map((c) => c.body)).toEqual(['not json']);
    expect(got.map((m) => m.body)).toMatchObject([
      { status: 'FAILURE' },
      { status: 'FAILURE', errorCode: 'PROVISION_BAD_REQUEST' },
    ]);
    await device.publishAsync('/provision/request', request('third'), { qos: 1 });
    await until(() => got.length === 3);
    const closed = new Promise<void>((r) => device.once('close', () => r()));
    device.publish('/provision/request', request('fourth'), { qos: 0 });
    await closed;
    expect(fake.calls).toHaveLength(2);
  });

  it('keeps token devices working, and never lets an anonymous client take a device’s client id', async () => {
    const first = await connect(url, { username: token, clientId: 'dev-conn' });
    await expect(connect(url, { clientId: 'dev-conn' })).rejects.toMatchObject({ code: 2 });
    // A reconnect with the same id replaces the old session and keeps the device known.
    const second = await connect(url, { username: token, clientId: 'dev-conn' });
    await sleep(100);
    expect(broker.deviceOf('dev-conn')?.deviceName).toBe('known-dev');
    await second.publishAsync('v1/devices/me/telemetry', '{"t":1}', { qos: 1 });
    await Promise.all([first.endAsync(true), second.endAsync()]);
  });

  it('serves Debian’s mosquitto_rr (MQTT 3.1.1) as a ThingsBoard device would', async () => {
    const { stdout } = await run('mosquitto_rr', [
      ...['-V', 'mqttv311', '-h', '127.0.0.1', '-p', String(broker.ports.plain), '-u', 'provision'],
      ...['-t', '/provision/request', '-e', '/provision/response', '-q', '1', '-W', '5'],
      ...['-m', request('rr-dev')],
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'SUCCESS', credentialsValue: 'token-for-rr-dev' });
  });
});

describe('MQTT 5 provisioning through an external broker (Mosquitto)', () => {
  const base = `/certflow-test/${randomUUID()}`;
  const requestTopic = `${base}/provision/request`;
  const prefix = `${base}/provision/response/`;
  const mosquitto = 'mqtt://127.0.0.1:1883';
  let fake: ReturnType<typeof fakeHandler>;
  let edges: { close(): Promise<void> }[];
  const perEdge = [0, 0];

  beforeAll(async () => {
    fake = fakeHandler();
    // Two edges in the same share group: each request is handled by exactly one of them.
    edges = await Promise.all(
      [0, 1].map((edge) =>
        startExternalProvisioning({
          url: mosquitto,
          handler: (body, source) => {
            perEdge[edge]! += 1;
            return fake.handler(body, source);
          },
          logger,
          requestTopic,
          responseTopicPrefix: prefix,
        }),
      ),
    );
  });
  beforeEach(() => {
    fake.calls.length = 0;
  });
  afterAll(async () => {
    await Promise.all(edges.map((e) => e.close()));
  });

  const device = () => connect(mosquitto, { protocolVersion: 5 });

  it('answers on the request’s response topic with its correlation data, and only there', async () => {
    const [a, b] = await Promise.all([device(), device()]);
    const [gotA, gotB] = [inbox(a), inbox(b)];
    const [topicA, topicB] = [`${prefix}${randomUUID()}`, `${prefix}${randomUUID()}`];
    await Promise.all([a.subscribeAsync(topicA, { qos: 1 }), b.subscribeAsync(topicB, { qos: 1 })]);
    const correlationData = Buffer.from(randomUUID());
    await a.publishAsync(requestTopic, request('ext-a'), {
      qos: 1,
      properties: { responseTopic: topicA, correlationData },
    });
    await until(() => gotA.length === 1);
    await sleep(300);
    expect(gotA[0]?.body).toMatchObject({ status: 'SUCCESS', credentialsValue: 'token-for-ext-a' });
    expect(gotA[0]?.packet.properties?.correlationData).toEqual(correlationData);
    expect(gotA[0]?.packet.qos).toBe(1);
    expect(gotB).toEqual([]);
    expect(fake.calls).toEqual([
      {
        body: json(request('ext-a')),
        source: { transport: 'mqtt-external', remote: '127.0.0.1:1883' },
      },
    ]);
    await Promise.all([a.endAsync(), b.endAsync()]);
  });

  it('does not answer requests without an allowed response topic', async () => {
    const d = await device();
    const got = inbox(d);
    await d.subscribeAsync(`${base}/#`);
    await d.publishAsync(requestTopic, request('no-topic'), { qos: 1 });
    await d.publishAsync(requestTopic, request('elsewhere'), {
      qos: 1,
      properties: { responseTopic: `${base}/other` },
    });
    await sleep(500);
    // It hears its own requests (it listens on everything under the test prefix), nothing else.
    expect(got.filter((m) => m.topic !== requestTopic)).toEqual([]);
    expect(fake.calls).toEqual([]);
    await d.endAsync();
  });

  it('splits requests across edges sharing the subscription, each handled once', async () => {
    const d = await device();
    const got = inbox(d);
    const topic = `${prefix}${randomUUID()}`;
    await d.subscribeAsync(topic, { qos: 1 });
    for (let i = 0; i < 10; i++) {
      await d.publishAsync(requestTopic, request(`many-${i}`), {
        qos: 1,
        properties: { responseTopic: topic },
      });
    }
    await until(() => got.length === 10);
    await sleep(200);
    expect(fake.calls).toHaveLength(10);
    expect(perEdge.every((n) => n > 0)).toBe(true);
    expect(new Set(got.map((m) => (m.body as { deviceId: string }).deviceId)).size).toBe(10);
    await d.endAsync();
  });

  it('serves Debian’s mosquitto_rr (MQTT 5 request/response)', async () => {
    const { stdout } = await run('mosquitto_rr', [
      ...['-V', '5', '-h', '127.0.0.1', '-p', '1883', '-q', '1', '-W', '5'],
      ...['-t', requestTopic, '-e', `${prefix}${randomUUID()}`, '-m', request('rr-ext')],
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'SUCCESS', credentialsValue: 'token-for-rr-ext' });
  });
});

/**
 * libcoap's client: Debian's libcoap3-bin installs it as coap-client-notls (and -openssl,
 * -gnutls); other builds as coap-client.
 */
const coapClient = ['coap-client', 'coap-client-notls', 'coap-client-openssl', 'coap-client-gnutls']
  .flatMap((name) => (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, name)))
  .find((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });

/** Code, options (number → values) and payload of a raw CoAP message, for the Block2 checks. */
function parseCoap(msg: Buffer) {
  const options = new Map<number, Buffer[]>();
  let i = 4 + (msg[0]! & 0x0f);
  let number = 0;
  const ext = (n: number) =>
    n === 13 ? msg[i++]! + 13 : n === 14 ? ((i += 2), msg.readUInt16BE(i - 2) + 269) : n;
  while (i < msg.length && msg[i] !== 0xff) {
    const head = msg[i++]!;
    number += ext(head >> 4);
    const length = ext(head & 0x0f);
    options.set(number, [...(options.get(number) ?? []), msg.subarray(i, i + length)]);
    i += length;
  }
  const uint = (n: number) => options.get(n)?.[0]?.reduce((v, b) => v * 256 + b, 0);
  return { code: msg[1]!, options, uint, payload: msg.subarray(i + 1) };
}

describe('CoAP provisioning', () => {
  let server: CoapProvisioning;
  let agent: coap.Agent;
  let fake: ReturnType<typeof fakeHandler>;

  beforeAll(async () => {
    fake = fakeHandler();
    server = await startCoapProvisioning({ host: '127.0.0.1', port: 0, handler: fake.handler, logger });
    agent = new coap.Agent({ type: 'udp4' });
  });
  beforeEach(() => {
    fake.calls.length = 0;
  });
  afterAll(async () => {
    agent?.close();
    await server?.close();
  });

  function send(method: 'GET' | 'POST', pathname: string, payload?: string, block1 = false) {
    return new Promise<{ code: string; format: unknown; body: string; size1: unknown }>((resolve, reject) => {
      const req = agent.request({
        hostname: '127.0.0.1',
        port: server.port,
        method,
        pathname,
        confirmable: true,
      });
      if (block1) req.setOption('Block1', Buffer.of(0x06)); // 1024-byte blocks
      req.on('response', (res: coap.IncomingMessage) =>
        resolve({
          code: res.code,
          format: res.headers['Content-Format'],
          body: res.payload.toString(),
          size1: res.headers.Size1,
        }),
      );
      req.on('error', reject);
      req.end(payload === undefined ? undefined : Buffer.from(payload));
    });
  }

  it('answers POST /api/v1/provision with 2.05 application/json', async () => {
    const res = await send('POST', '/api/v1/provision', request('coap-dev'));
    expect(res).toMatchObject({ code: '2.05', format: 'application/json' });
    expect(JSON.parse(res.body)).toEqual({
      status: 'SUCCESS',
      credentialsType: 'ACCESS_TOKEN',
      credentialsValue: 'token-for-coap-dev',
      deviceId: 'id-coap-dev',
    });
    expect(fake.calls).toEqual([
      { body: json(request('coap-dev')), source: { transport: 'coap', remote: '127.0.0.1' } },
    ]);
  });

  it('sends an answer larger than one block block-wise (Block2)', async () => {
    const res = await send('POST', '/api/v1/provision', request('long-dev'));
    expect(res.code).toBe('2.05');
    expect(JSON.parse(res.body)).toMatchObject({ status: 'SUCCESS', deviceId: 'id-long-dev' });
    expect(res.body.length).toBeGreaterThan(3000);
  });

  it('accepts a block-wise request body and refuses one over 16 KiB with 4.13', async () => {
    const padded = JSON.stringify({ ...JSON.parse(request('big')), csr: 'c'.repeat(3000) });
    expect((await send('POST', '/api/v1/provision', padded, true)).code).toBe('2.05');
    expect(fake.calls[0]?.body).toMatchObject({ deviceName: 'big' });
    const huge = await send('POST', '/api/v1/provision', 'x'.repeat(20_000), true);
    expect(huge).toMatchObject({ code: '4.13', size1: 16384 });
    expect(fake.calls).toHaveLength(1);
  });

  it('answers other paths 4.04 and other methods 4.05', async () => {
    expect((await send('POST', '/api/v1/other', '{}')).code).toBe('4.04');
    expect((await send('GET', '/api/v1/provision')).code).toBe('4.05');
    expect(fake.calls).toEqual([]);
  });

  it('refuses a single oversized datagram and a forged far-away Block1 with 4.13', async () => {
    const path = Buffer.from([
      0xb3,
      ...Buffer.from('api'),
      0x02,
      ...Buffer.from('v1'),
      0x09,
      ...Buffer.from('provision'),
    ]);
    const single = Buffer.concat([
      Buffer.from([0x40, 0x02, 0x12, 0x34]),
      path,
      Buffer.from([0xff]),
      Buffer.alloc(17_000, 0x78),
    ]);
    // Block1 (option 27 = 11 + 16): block 1000 of 1024 bytes, last one, claiming a 1 MiB body.
    const block = Buffer.from([0xd2, 16 - 13, (16006 >> 8) & 0xff, 16006 & 0xff]);
    const forged = Buffer.concat([
      Buffer.from([0x40, 0x02, 0x12, 0x35]),
      path,
      block,
      Buffer.from([0xff, 0x78]),
    ]);
    for (const datagram of [single, forged]) {
      const socket = createSocket('udp4');
      const answer = new Promise<Buffer>((resolve) => socket.once('message', resolve));
      socket.send(datagram, server.port, '127.0.0.1');
      const reply = await answer;
      socket.close();
      expect(reply[1]).toBe((4 << 5) | 13); // 4.13
      expect(reply.subarray(2, 4)).toEqual(datagram.subarray(2, 4)); // piggybacked on the ACK
    }
    expect(fake.calls).toEqual([]);
  });

  it.skipIf(!coapClient)(
    `serves libcoap’s coap-client a ~3 KB answer block-wise, calling the handler once${coapClient ? '' : ' (SKIPPED: no coap-client* binary on PATH, install libcoap3-bin)'}`,
    async () => {
      const { stdout, stderr } = await run(coapClient!, [
        ...['-m', 'post', '-t', 'json', '-B', '10', '-e', request('long-libcoap')],
        `coap://127.0.0.1:${server.port}/api/v1/provision`,
      ]);
      expect(stderr).not.toMatch(/issue/);
      expect(JSON.parse(stdout)).toEqual({
        status: 'SUCCESS',
        credentialsType: 'ACCESS_TOKEN',
        credentialsValue: 'token-for-long-libcoap-'.padEnd(3000, 'x'),
        deviceId: 'id-long-libcoap',
      });
      expect(fake.calls).toEqual([
        { body: json(request('long-libcoap')), source: { transport: 'coap', remote: '127.0.0.1' } },
      ]);
    },
  );

  it('serves later blocks from the first answer, as libcoap asks them (new token, no body)', async () => {
    const socket = createSocket('udp4');
    const path = Buffer.from([
      0xb3,
      ...Buffer.from('api'),
      0x02,
      ...Buffer.from('v1'),
      0x09,
      ...Buffer.from('provision'),
    ]);
    const exchange = async (token: number, messageId: number, extra: Buffer, payload?: string) => {
      const answer = new Promise<Buffer>((resolve) => socket.once('message', resolve));
      const head = Buffer.from([0x41, 0x02, messageId >> 8, messageId & 0xff, token]);
      const body = payload === undefined ? [] : [Buffer.from([0xff]), Buffer.from(payload)];
      socket.send(Buffer.concat([head, path, extra, ...body]), server.port, '127.0.0.1');
      return parseCoap(await answer);
    };
    // Block2 (option 23 = 11 + 12): NUM << 4 | SZX 6 (1024 bytes).
    const block2 = (num: number) => Buffer.from([0xc1, (num << 4) | 6]);
    const blocks = [await exchange(1, 0x100, Buffer.alloc(0), request('long-raw'))];
    // Later blocks until one comes without M (at most 8: the answer is about 3 KB).
    while ((blocks.at(-1)!.uint(23)! & 8) !== 0 && blocks.length < 8) {
      const num = blocks.length;
      blocks.push(await exchange(num + 1, 0x100 + num, block2(num)));
    }
    const beyond = await exchange(9, 0x200, block2(blocks.length));
    socket.close();

    const etag = blocks[0]?.options.get(4)?.[0];
    expect(etag?.length).toBeGreaterThan(0);
    const size2 = Buffer.concat(blocks.map((b) => b.payload)).length;
    expect(blocks.length).toBe(Math.ceil(size2 / 1024));
    const last = blocks.length - 1;
    blocks.forEach((b, num) => {
      expect(b.code).toBe((2 << 5) | 5); // 2.05
      expect(b.uint(12)).toBe(50); // Content-Format application/json, on every block
      expect(b.options.get(4)?.[0]).toEqual(etag);
      expect(b.uint(23)).toBe((num << 4) | (num < last ? 8 : 0) | 6); // Block2 NUM/M/SZX
      expect(b.uint(28)).toBe(size2); // Size2
      if (num < last) expect(b.payload.length).toBe(1024);
    });
    expect(JSON.parse(Buffer.concat(blocks.map((b) => b.payload)).toString())).toMatchObject({
      deviceId: 'id-long-raw',
    });
    expect(beyond.code).toBe((4 << 5) | 2); // 4.02: no such block
    expect(fake.calls).toHaveLength(1);
  });

  it('answers a later block without an answer to take it from 4.08, without calling the handler', async () => {
    const socket = createSocket('udp4');
    const answer = new Promise<Buffer>((resolve) => socket.once('message', resolve));
    const path = Buffer.from([
      0xb3,
      ...Buffer.from('api'),
      0x02,
      ...Buffer.from('v1'),
      0x09,
      ...Buffer.from('provision'),
    ]);
    socket.send(
      Buffer.concat([Buffer.from([0x40, 0x02, 0x43, 0x21]), path, Buffer.from([0xc1, 0x16])]),
      server.port,
      '127.0.0.1',
    );
    const reply = await answer;
    socket.close();
    expect(reply[1]).toBe((4 << 5) | 8);
    expect(fake.calls).toEqual([]);
  });
});
