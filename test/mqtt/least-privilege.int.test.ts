import mqtt, { type IClientOptions, type MqttClient, type Packet } from 'mqtt';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeviceCert, createRootCa } from '../support/device-pki';
import { startTestEdge } from '../support/jitp';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { dialects } from '../support/registry';

/*
 * Least privilege on the embedded broker, end to end: real platform (registry + Temporal), real
 * edge, real mqtt.js clients. A "probe" is a second connection that listens where a leak would
 * show up; every negative check has a positive control so that silence means something.
 */

const QUIET_MS = 400;
const AUTH_CACHE_TTL_MS = 5_000; // api/mqtt/device-auth.ts: positive cache of device lookups
const settle = (ms = QUIET_MS) => new Promise((r) => setTimeout(r, ms));

type Msg = { topic: string; payload: string };
type Conn = { code: number; client: MqttClient; sessionPresent?: boolean };

/** Everything the client received since it connected (queued messages can share a read with CONNACK). */
const inboxes = new WeakMap<MqttClient, Msg[]>();
const inbox = (client: MqttClient): Msg[] => inboxes.get(client) ?? [];

/** Connects and resolves with the CONNACK code (0 = accepted, -1 = no CONNACK) and the client. */
function connect(url: string, opts: IClientOptions): Promise<Conn> {
  return new Promise((resolve) => {
    const got: Msg[] = [];
    const client = mqtt.connect(url, {
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      protocolVersion: 4,
      ...opts,
    });
    inboxes.set(client, got);
    client.on('message', (topic, payload) => got.push({ topic, payload: payload.toString() }));
    client.once('connect', (packet: { returnCode?: number; sessionPresent?: boolean }) =>
      resolve({ code: packet.returnCode ?? 0, client, sessionPresent: packet.sessionPresent }),
    );
    client.once('error', (err: Error & { code?: number }) => {
      client.end(true);
      resolve({ code: typeof err.code === 'number' ? err.code : -1, client });
    });
    client.once('close', () => resolve({ code: -1, client }));
  });
}

function subackCodes(client: MqttClient, filters: string[], qos: 0 | 1 = 0): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const onPacket = (packet: Packet) => {
      if (packet.cmd !== 'suback') return;
      client.off('packetreceive', onPacket);
      resolve(packet.granted as number[]);
    };
    client.on('packetreceive', onPacket);
    // mqtt.js answers a SUBACK with 128s through err; only a filter it refuses to send is an error.
    client.subscribe(filters, { qos }, (err) => {
      if (err && !('packet' in err)) reject(err);
    });
  });
}

/** A QoS 1 publish: 'acked', or 'refused' when the broker drops the connection instead. */
function attempt(client: MqttClient, topic: string, payload: string, retain = false) {
  return new Promise<'acked' | 'refused'>((resolve) => {
    client.once('close', () => resolve('refused'));
    client.publish(topic, payload, { qos: 1, retain }, (err) => resolve(err ? 'refused' : 'acked'));
  });
}

const end = (...clients: MqttClient[]) => Promise.all(clients.map((c) => c.endAsync(true)));

describe.each(dialects)('least-privilege MQTT on %s', (dialect) => {
  let p: TestPlatform;
  let edge: Awaited<ReturnType<typeof startTestEdge>>;
  let plain: string;
  let op: string;
  let opB: string;

  beforeAll(async () => {
    p = await startTestPlatform(dialect);
    edge = await startTestEdge(p);
    plain = `mqtt://127.0.0.1:${edge.broker.ports.plain}`;
    op = p.tenantA.keys.operator;
    opB = p.tenantB.keys.operator;
  });
  afterAll(async () => {
    await edge?.dispose();
    await p?.stop();
  });

  async function makeClass(key: string, name: string, policy: unknown): Promise<string> {
    const res = await p.call(key, 'POST', '/api/device-classes', { name, policy });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }

  async function makeDevice(key: string, name: string, extra: Record<string, unknown> = {}) {
    const token = `tok-${randomUUID()}`;
    const res = await p.call(key, 'POST', '/api/devices', { name, accessToken: { token }, ...extra });
    expect(res.status).toBe(201);
    return { id: ((await res.json()) as { device: { id: string } }).device.id, name, token };
  }

  /** A connection of the device with this token; must be accepted. */
  async function open(token: string, extra: IClientOptions = {}): Promise<MqttClient> {
    const { code, client } = await connect(plain, {
      username: token,
      clientId: `c-${randomUUID()}`,
      ...extra,
    });
    expect(code).toBe(0);
    return client;
  }

  async function provisionProfile(name: string) {
    const res = await p.call(op, 'POST', '/api/device-profiles', {
      name,
      allowedCredentialTypes: ['ACCESS_TOKEN', 'MQTT_BASIC', 'X509_CERTIFICATE'],
      allowReprovision: true,
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { profile: { provisionKey: string }; provisionSecret: string };
    return (req: Record<string, unknown>) =>
      p
        .call(undefined, 'POST', '/api/v1/provision', {
          provisionDeviceKey: body.profile.provisionKey,
          provisionDeviceSecret: body.provisionSecret,
          ...req,
        })
        .then((r) => r.json() as Promise<{ status: string; deviceId?: string; credentialsValue?: unknown }>);
  }

  // One class for the topic-variable tests: every variable, a mailbox others may write to.
  const scoped = {
    version: 1,
    rules: [
      {
        effect: 'allow',
        actions: ['publish', 'subscribe'],
        topics: [
          'tenants/${tenant}/devices/${device.name}/#',
          'devices/${device.id}/cmd',
          'regions/${attributes.region}/alerts',
        ],
      },
      { effect: 'allow', actions: ['publish'], topics: ['tenants/${tenant}/mail/+'] },
      { effect: 'allow', actions: ['subscribe'], topics: ['tenants/${tenant}/mail/${device.name}'] },
    ],
    retain: false,
  };

  describe('topic rules with variables', () => {
    let T: string;
    let one: { id: string; name: string; token: string };
    let two: { id: string; name: string; token: string };
    let cls: string;
    beforeAll(async () => {
      T = p.tenantA.id;
      cls = await makeClass(op, 'scoped', scoped);
      one = await makeDevice(op, 'lp-one', { deviceClassId: cls, attributes: { region: 'eu' } });
      two = await makeDevice(op, 'lp-two', { deviceClassId: cls, attributes: { region: 'us' } });
    });

    it('grants each device exactly its own topics; other devices, #, + escapes and $SYS get SUBACK 128', async () => {
      const c = await open(one.token);
      const own = [
        `tenants/${T}/devices/lp-one/#`,
        `devices/${one.id}/cmd`,
        'regions/eu/alerts',
        `tenants/${T}/mail/lp-one`,
      ];
      const foreign = [
        `tenants/${T}/devices/lp-two/#`,
        `devices/${two.id}/cmd`,
        'regions/us/alerts',
        `tenants/${T}/mail/lp-two`,
      ];
      const escapes = [
        '#',
        '+/#',
        'tenants/#',
        `tenants/${T}/devices/+/#`,
        `tenants/+/devices/lp-one/#`,
        `+/${one.id}/cmd`,
        'regions/+/alerts',
        `tenants/${T}/mail/+`,
        '$SYS/#',
        '$SYS/+/new/clients',
      ];
      expect(await subackCodes(c, [...own, ...foreign, ...escapes])).toEqual([
        ...own.map(() => 0),
        ...[...foreign, ...escapes].map(() => 128),
      ]);
      await end(c);
    });

    it('drops publishes to another device’s topics: its probe hears only its own traffic', async () => {
      const probe = await open(two.token);
      await subackCodes(probe, [
        `tenants/${T}/devices/lp-two/#`,
        `devices/${two.id}/cmd`,
        'regions/us/alerts',
      ]);
      const heard = inbox(probe);
      for (const topic of [
        `tenants/${T}/devices/lp-two/events`,
        `devices/${two.id}/cmd`,
        'regions/us/alerts',
      ]) {
        const intruder = await open(one.token);
        expect(await attempt(intruder, topic, 'from-one')).toBe('refused');
        await end(intruder);
      }
      // Positive control: the device itself, from a second connection, is heard.
      const self = await open(two.token);
      expect(await attempt(self, `tenants/${T}/devices/lp-two/events`, 'from-two')).toBe('acked');
      // The mailbox: lp-one may write to lp-two's, and only lp-two may read it.
      await subackCodes(probe, [`tenants/${T}/mail/lp-two`]);
      const writer = await open(one.token);
      expect(await attempt(writer, `tenants/${T}/mail/lp-two`, 'mail')).toBe('acked');
      await settle();
      expect(heard).toEqual([
        { topic: `tenants/${T}/devices/lp-two/events`, payload: 'from-two' },
        { topic: `tenants/${T}/mail/lp-two`, payload: 'mail' },
      ]);
      await end(probe, self, writer);
    });

    it('refuses wildcard-injecting device names (400); an attribute holding "/#" makes its rule unusable', async () => {
      for (const name of ['a+b', 'a#', 'a/b', '$SYS', 'x\u0000y', 'n'.repeat(300)]) {
        const res = await p.call(op, 'POST', '/api/devices', { name });
        expect(res.status, JSON.stringify(name)).toBe(400);
      }
      const sly = await makeDevice(op, 'lp-sly', { deviceClassId: cls, attributes: { region: 'eu/#' } });
      const c = await open(sly.token); // its own name still works; the region rule is gone
      expect(
        await subackCodes(c, [`tenants/${T}/devices/lp-sly/x`, 'regions/eu/#', 'regions/eu/alerts']),
      ).toEqual([0, 128, 128]);
      const euProbe = await open(one.token);
      await subackCodes(euProbe, ['regions/eu/alerts']);
      const heard = inbox(euProbe);
      expect(await attempt(c, 'regions/eu/alerts', 'spoof')).toBe('refused');
      await settle();
      expect(heard).toEqual([]);
      await end(c, euProbe);
    });

    it('refuses an invalid class policy at creation (docs/policies.md: parsePolicy runs then)', async () => {
      const res = await p.call(op, 'POST', '/api/device-classes', {
        name: 'broken',
        policy: { version: 1, rules: [{ effect: 'allow', actions: ['publish'], topics: ['a/#/b'] }] },
      });
      expect(res.status).toBe(400);
    });
  });

  it('isolates tenants: same device name, same policy text; only a tenant-less topic is shared', async () => {
    const policy = {
      version: 1,
      rules: [
        {
          effect: 'allow',
          actions: ['publish', 'subscribe'],
          topics: [
            'tenants/${tenant}/devices/${device.name}/#',
            'tenants/${tenant}/broadcast',
            'fleet/broadcast',
          ],
        },
      ],
      retain: false,
    };
    const a = await makeDevice(op, 'twin', { deviceClassId: await makeClass(op, 'twins', policy) });
    const clsB = await makeClass(opB, 'twins', policy);
    const b = await makeDevice(opB, 'twin', { deviceClassId: clsB });
    // A class of another tenant cannot be attached.
    expect((await p.call(op, 'POST', '/api/devices', { name: 'twin-x', deviceClassId: clsB })).status).toBe(
      422,
    );

    const topics = (t: string) => [
      `tenants/${t}/devices/twin/data`,
      `tenants/${t}/broadcast`,
      'fleet/broadcast',
    ];
    const probeA = await open(a.token);
    const probeB = await open(b.token);
    expect(
      await subackCodes(probeA, [
        `tenants/${p.tenantA.id}/devices/twin/#`,
        `tenants/${p.tenantA.id}/broadcast`,
        'fleet/broadcast',
        `tenants/${p.tenantB.id}/#`,
      ]),
    ).toEqual([0, 0, 0, 128]);
    expect(
      await subackCodes(probeB, [
        `tenants/${p.tenantB.id}/devices/twin/#`,
        `tenants/${p.tenantB.id}/broadcast`,
        'fleet/broadcast',
        `tenants/${p.tenantA.id}/#`,
      ]),
    ).toEqual([0, 0, 0, 128]);
    const heardA = inbox(probeA);
    const heardB = inbox(probeB);
    const senderB = await open(b.token);
    for (const topic of topics(p.tenantB.id)) expect(await attempt(senderB, topic, 'from-B')).toBe('acked');
    const senderA = await open(a.token);
    for (const topic of topics(p.tenantA.id)) expect(await attempt(senderA, topic, 'from-A')).toBe('acked');
    // Writing into the other tenant's tree is refused outright.
    expect(await attempt(await open(a.token), `tenants/${p.tenantB.id}/devices/twin/data`, 'x')).toBe(
      'refused',
    );
    await settle();
    // The broker's topic tree is global: a rule without ${tenant} (fleet/broadcast) is a meeting
    // point for every device, of every tenant, whose class grants it. Only that is shared.
    expect(heardA.filter((m) => m.payload === 'from-B').map((m) => m.topic)).toEqual(['fleet/broadcast']);
    expect(heardB.filter((m) => m.payload === 'from-A').map((m) => m.topic)).toEqual(['fleet/broadcast']);
    expect(heardA.filter((m) => m.payload === 'from-A').map((m) => m.topic)).toEqual(topics(p.tenantA.id));
    expect(heardB.filter((m) => m.payload === 'from-B').map((m) => m.topic)).toEqual(topics(p.tenantB.id));
    await end(probeA, probeB, senderA, senderB);
  });

  describe('ThingsBoard v1/devices/me/… (default policy)', () => {
    const ATTR = 'v1/devices/me/attributes';

    it('scopes "me" to the device: another device’s (or tenant’s) me traffic never arrives', async () => {
      const a = await makeDevice(op, 'me-a');
      const b = await makeDevice(op, 'me-b');
      const c = await makeDevice(opB, 'me-a'); // same name, other tenant
      const [selfA, probeB, probeC] = await Promise.all([open(a.token), open(b.token), open(c.token)]);
      for (const probe of [selfA, probeB, probeC])
        expect(await subackCodes(probe, [ATTR, 'v1/devices/me/rpc/request/+'])).toEqual([0, 0]);
      const [heardA, heardB, heardC] = [inbox(selfA), inbox(probeB), inbox(probeC)];
      const sender = await open(a.token);
      expect(await attempt(sender, ATTR, '{"from":"a"}')).toBe('acked');
      await settle();
      expect(heardA).toEqual([{ topic: ATTR, payload: '{"from":"a"}' }]); // shown back as "me"
      expect(heardB).toEqual([]);
      expect(heardC).toEqual([]);
      await end(selfA, probeB, probeC, sender);
    });

    it('stops delivery after UNSUBSCRIBE of a me topic', async () => {
      const a = await makeDevice(op, 'me-unsub');
      const listener = await open(a.token);
      await subackCodes(listener, [ATTR]);
      const heard = inbox(listener);
      await listener.unsubscribeAsync(ATTR);
      const sender = await open(a.token);
      expect(await attempt(sender, ATTR, 'after-unsubscribe')).toBe('acked');
      await settle();
      expect(heard).toEqual([]);
      await end(listener, sender);
    });
  });

  // The broker keeps no persistent sessions (every CONNECT is made clean): a session is keyed by
  // client id only, so it could outlive its device's authorisation or be picked up by another
  // device presenting the same id. These pin that down.
  describe('sessions and client ids', () => {
    it('treats clean=false as clean: nothing is queued or restored, sessionPresent is 0', async () => {
      const a = await makeDevice(op, 'persist-dev');
      const clientId = `persist-${randomUUID()}`;
      const first = await open(a.token, { clientId, clean: false });
      expect(await subackCodes(first, ['v1/devices/me/attributes'], 1)).toEqual([1]);
      await first.endAsync();
      const sender = await open(a.token);
      expect(await attempt(sender, 'v1/devices/me/attributes', 'while-offline')).toBe('acked');
      const back = await connect(plain, { username: a.token, clientId, clean: false });
      expect([back.code, back.sessionPresent]).toEqual([0, false]);
      expect(await attempt(sender, 'v1/devices/me/attributes', 'not-resubscribed')).toBe('acked');
      await settle();
      expect(inbox(back.client)).toEqual([]);
      await end(back.client, sender);
    });

    it('a persistent session’s queued messages do not go to another device (of another tenant) reusing its client id', async () => {
      const cls = await makeClass(op, 'mailboxes', scoped);
      const owner = await makeDevice(op, 'mb-owner', { deviceClassId: cls });
      const writer = await makeDevice(op, 'mb-writer', { deviceClassId: cls });
      const other = await makeDevice(opB, 'mb-other');
      const clientId = `shared-${randomUUID()}`;
      const first = await open(owner.token, { clientId, clean: false });
      expect(await subackCodes(first, [`tenants/${p.tenantA.id}/mail/mb-owner`], 1)).toEqual([1]);
      await first.endAsync();
      const w = await open(writer.token);
      expect(await attempt(w, `tenants/${p.tenantA.id}/mail/mb-owner`, 'secret')).toBe('acked');
      const thief = await open(other.token, { clientId, clean: false });
      const heard = inbox(thief);
      await settle();
      expect(heard).toEqual([]);
      await end(thief, w);
    });

    it('a filter refused in a persistent session’s SUBSCRIBE receives nothing, not even while offline', async () => {
      const dev = await makeDevice(op, 'mixed-sub');
      const clientId = `mixed-${randomUUID()}`;
      const first = await open(dev.token, { clientId, clean: false });
      expect(await subackCodes(first, ['v1/devices/me/attributes', '#'], 1)).toEqual([1, 128]);
      await first.endAsync();
      const elsewhere = await makeDevice(opB, 'mixed-elsewhere', {
        deviceClassId: await makeClass(opB, 'mixed', scoped),
      });
      const w = await open(elsewhere.token);
      expect(await attempt(w, `tenants/${p.tenantB.id}/devices/mixed-elsewhere/x`, 'tenant-b')).toBe('acked');
      const back = await open(dev.token, { clientId, clean: false });
      await settle();
      expect(inbox(back)).toEqual([]);
      await end(back, w);
    });

    it('another device cannot knock a connected device off by reusing its client id', async () => {
      const victim = await makeDevice(op, 'cid-victim');
      const other = await makeDevice(opB, 'cid-other');
      const clientId = `taken-${randomUUID()}`;
      const v = await open(victim.token, { clientId });
      let kicked = false;
      v.on('close', () => (kicked = true));
      const { code, client } = await connect(plain, { username: other.token, clientId });
      expect(code).toBe(2);
      await settle();
      expect(kicked).toBe(false);
      await end(v, client);
    });
  });

  describe('retained messages and wills', () => {
    let dev: { id: string; name: string; token: string };
    let own: string;
    beforeAll(async () => {
      dev = await makeDevice(op, 'will-dev', { deviceClassId: await makeClass(op, 'no-retain', scoped) });
      own = `tenants/${p.tenantA.id}/devices/will-dev/status`;
    });

    it('refuses a retained publish on an allowed topic when the policy says retain: false', async () => {
      const probe = await open(dev.token);
      await subackCodes(probe, [own]);
      const heard = inbox(probe);
      expect(await attempt(await open(dev.token), own, 'kept', true)).toBe('refused');
      const late = await open(dev.token); // a retained message would arrive on subscribe
      const lateHeard = inbox(late);
      await subackCodes(late, [own]);
      await settle();
      expect([heard, lateHeard]).toEqual([[], []]);
      await end(probe, late);
    });

    it('refuses a will on a foreign topic, or retained, with CONNACK 5', async () => {
      const other = `tenants/${p.tenantA.id}/devices/lp-other/status`;
      const foreign = await connect(plain, {
        username: dev.token,
        will: { topic: other, payload: 'x', qos: 0, retain: false },
      });
      expect(foreign.code).toBe(5);
      const retained = await connect(plain, {
        username: dev.token,
        will: { topic: own, payload: 'x', qos: 0, retain: true },
      });
      expect(retained.code).toBe(5);
      await end(foreign.client, retained.client);
    });

    it('accepts a will on an allowed topic and delivers it on abrupt disconnect', async () => {
      const probe = await open(dev.token);
      await subackCodes(probe, [own]);
      const heard = inbox(probe);
      const dying = await open(dev.token, { will: { topic: own, payload: 'gone', qos: 1, retain: false } });
      dying.stream.destroy();
      await settle();
      expect(heard).toEqual([{ topic: own, payload: 'gone' }]);
      await end(probe, dying);
    });

    it('keeps a me-topic will private to the device', async () => {
      const a = await makeDevice(op, 'will-me-a');
      const b = await makeDevice(op, 'will-me-b');
      const [selfA, probeB] = await Promise.all([open(a.token), open(b.token)]);
      await Promise.all([
        subackCodes(selfA, ['v1/devices/me/attributes']),
        subackCodes(probeB, ['v1/devices/me/attributes']),
      ]);
      const [heardA, heardB] = [inbox(selfA), inbox(probeB)];
      const dying = await open(a.token, {
        will: { topic: 'v1/devices/me/attributes', payload: '{"online":false}', qos: 0, retain: false },
      });
      dying.stream.destroy();
      await settle();
      expect(heardA).toEqual([{ topic: 'v1/devices/me/attributes', payload: '{"online":false}' }]);
      expect(heardB).toEqual([]);
      await end(selfA, probeB, dying);
    });
  });

  describe('provisioned credentials in use', () => {
    let provision: Awaited<ReturnType<typeof provisionProfile>>;
    beforeAll(async () => {
      provision = await provisionProfile('lp-creds');
    });

    it('MQTT basic (client id + username + password) connects and publishes; a wrong password gets CONNACK 4', async () => {
      const creds = {
        credentialsType: 'MQTT_BASIC',
        clientId: 'basic-cid',
        username: 'basic-user',
        password: 'basic-pw',
      };
      expect((await provision({ deviceName: 'basic-dev', ...creds })).status).toBe('SUCCESS');
      const c = await open('basic-user', { clientId: 'basic-cid', password: 'basic-pw' });
      expect(edge.broker.deviceOf('basic-cid')?.deviceName).toBe('basic-dev');
      expect(await attempt(c, 'v1/devices/me/telemetry', '{"t":1}')).toBe('acked');
      await end(c);
      const wrong = await connect(plain, { clientId: 'basic-cid', username: 'basic-user', password: 'nope' });
      expect(wrong.code).toBe(4);
      await end(wrong.client);
    });

    it('MQTT basic with a client id only connects without a username', async () => {
      const res = await provision({
        deviceName: 'cid-only-dev',
        credentialsType: 'MQTT_BASIC',
        clientId: 'only-cid-1',
      });
      expect(res.status).toBe('SUCCESS');
      const { code, client } = await connect(plain, { clientId: 'only-cid-1' });
      expect(code).toBe(0);
      expect(edge.broker.deviceOf('only-cid-1')?.deviceName).toBe('cid-only-dev');
      await end(client);
    });

    it('MQTT basic credentials authenticate as their own device even when the username is another device’s token', async () => {
      const basic = await provision({
        deviceName: 'collide-basic',
        credentialsType: 'MQTT_BASIC',
        username: 'collide-name-0001',
        password: 'pw-1',
      });
      const reg = (await (
        await p.call(opB, 'POST', '/api/device-profiles', { name: 'collide-b' })
      ).json()) as { profile: { provisionKey: string }; provisionSecret: string };
      const token = await p.call(undefined, 'POST', '/api/v1/provision', {
        provisionDeviceKey: reg.profile.provisionKey,
        provisionDeviceSecret: reg.provisionSecret,
        deviceName: 'collide-token',
        credentialsType: 'ACCESS_TOKEN',
        token: 'collide-name-0001',
      });
      // Either refusing the colliding token, or resolving the basic credentials to their device, is correct.
      if (((await token.json()) as { status: string }).status === 'SUCCESS') {
        const c = await open('collide-name-0001', { clientId: 'collide-cid', password: 'pw-1' });
        expect(edge.broker.deviceOf('collide-cid')?.deviceId).toBe(basic.deviceId);
        await end(c);
      }
    });

    it('an X.509 credential provisioned by hash connects over TLS with that certificate (no registered CA)', async () => {
      const cert = await createDeviceCert(await createRootCa({ name: 'CN=Unregistered Vendor' }), {
        cn: 'x509-lp',
      });
      expect(
        (await provision({ deviceName: 'x509-lp', credentialsType: 'X509_CERTIFICATE', hash: cert.certPem }))
          .status,
      ).toBe('SUCCESS');
      const { code, client } = await connect(`mqtts://localhost:${edge.broker.ports.tls}`, {
        ca: readFileSync(edge.caFile, 'utf8'),
        cert: cert.certPem,
        key: cert.keyPem,
        clientId: 'x509-lp-cid',
      });
      expect(code).toBe(0);
      expect(edge.broker.deviceOf('x509-lp-cid')?.deviceName).toBe('x509-lp');
      await end(client);
    });

    it(`refuses a re-provisioned (revoked) token at the next connect after the ${AUTH_CACHE_TTL_MS} ms auth cache`, async () => {
      const first = await provision({ deviceName: 'reprov-dev' });
      const oldToken = first.credentialsValue as string;
      await end(await open(oldToken)); // now cached
      const second = await provision({ deviceName: 'reprov-dev' });
      expect(second).toMatchObject({ status: 'SUCCESS', deviceId: first.deviceId });
      await settle(AUTH_CACHE_TTL_MS + 500);
      const refused = await connect(plain, { username: oldToken });
      expect(refused.code).toBe(4);
      await end(refused.client, await open(second.credentialsValue as string));
    });
  });

  describe('client ids', () => {
    let token: string;
    beforeAll(async () => {
      token = (await makeDevice(op, 'cid-dev')).token;
    });

    it.each([
      ['+', 'a+b'],
      ['#', 'a#b'],
      ['/', 'a/b'],
      ['$', '$a'],
      ['NUL', 'a\u0000b'],
      ['129 characters', 'c'.repeat(129)],
    ])('refuses a client id with %s: CONNACK 2 (identifier rejected)', async (_what, clientId) => {
      const { code, client } = await connect(plain, { username: token, clientId });
      expect(code).toBe(2);
      await end(client);
    });

    it('accepts a 128-character client id', async () => {
      await end(await open(token, { clientId: 'c'.repeat(128) }));
    });

    it('refuses at provisioning an MQTT basic client id the broker would reject', async () => {
      const provision = await provisionProfile('lp-cid');
      for (const clientId of ['a/b', 'a+b', 'x'.repeat(200)]) {
        const res = await provision({
          deviceName: `bad-cid-${clientId.length}-${clientId[1]}`,
          credentialsType: 'MQTT_BASIC',
          clientId,
        });
        expect(res.status, clientId).toBe('FAILURE');
      }
    });
  });
});
