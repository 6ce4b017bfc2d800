import pino from 'pino';
import { describe, expect, it } from 'vitest';
import {
  createProvisioningSessions,
  isProvisioningConnect,
  parseProvisionPayload,
  ProvisionSession,
  provisionPublishAllowed,
  provisionSubscribeAllowed,
  responseQos,
  type ProvisioningClient,
  type RequestPacket,
} from '../../api/mqtt/provisioning';
import type { ProvisionSource } from '../../api/provisioning/handler';
import type { ProvisionResponseWire } from '../../domain/provisioning';

const success: ProvisionResponseWire = {
  status: 'SUCCESS',
  credentialsType: 'ACCESS_TOKEN',
  credentialsValue: 'tok',
  deviceId: 'd1',
};

function fakeClient(closed = false) {
  const sent: { topic: string; payload: string; qos: number; retain: boolean }[] = [];
  const client: ProvisioningClient = {
    id: 'c1',
    closed,
    publish: (packet, done) => {
      sent.push({ ...packet, payload: packet.payload.toString() });
      done();
    },
  };
  return { client, sent };
}

function request(payload: string, qos = 1, topic = '/provision/request'): RequestPacket {
  return { topic, payload: Buffer.from(payload), qos, retain: true };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('provisioning session rules', () => {
  it.each([
    [undefined, false, true],
    ['', false, true],
    ['provision', false, true],
    ['provision', true, true],
    [undefined, true, false],
    ['a-device-token', false, false],
  ] as const)('username %s with certificate %s → provisioning %s', (username, cert, expected) => {
    expect(isProvisioningConnect(username, cert)).toBe(expected);
  });

  it('allows exactly the two provisioning topics, no wildcards', () => {
    expect(provisionSubscribeAllowed('/provision/response')).toBe(true);
    for (const f of ['/provision/#', '#', '/provision/+', '/provision/request', 'v1/devices/me/#']) {
      expect(provisionSubscribeAllowed(f)).toBe(false);
    }
    expect(provisionPublishAllowed('/provision/request')).toBe(true);
    for (const t of ['/provision/response', 'v1/devices/me/telemetry', 'provision/request']) {
      expect(provisionPublishAllowed(t)).toBe(false);
    }
  });

  it('parses JSON and passes anything else through as text', () => {
    expect(parseProvisionPayload(Buffer.from('{"deviceName":"d"}'))).toEqual({ deviceName: 'd' });
    expect(parseProvisionPayload(Buffer.from('not json'))).toBe('not json');
  });

  it('answers at the request QoS, capped at 1', () => {
    expect([0, 1, 2].map(responseQos)).toEqual([0, 1, 1]);
  });

  it('bounds requests per session and payload size', () => {
    const session = new ProvisionSession('10.0.0.1', { maxRequests: 2, maxPayloadBytes: 10 });
    expect(session.admit(11)).toBe('too-large');
    expect(session.admit(10)).toBe('accept');
    expect(session.admit(1)).toBe('too-many');
  });
});

describe('provisioning sessions', () => {
  function setup() {
    const calls: { body: unknown; source: ProvisionSource }[] = [];
    const sessions = createProvisioningSessions({
      logger: pino({ level: 'silent' }),
      limits: { maxRequests: 2, maxPayloadBytes: 64 },
      provision: (body, source) => {
        calls.push({ body, source });
        return Promise.resolve(success);
      },
    });
    return { sessions, calls };
  }

  it('hands the parsed request to the handler and writes the answer to that client only', async () => {
    const { sessions, calls } = setup();
    const { client, sent } = fakeClient();
    sessions.open(client, '10.0.0.1');
    const packet = request('{"provisionDeviceKey":"k"}', 1);
    expect(sessions.acceptPublish(client, packet)).toBeNull();
    // The secret does not travel on through the broker, and is never retained.
    expect(packet.payload.length).toBe(0);
    expect(packet.retain).toBe(false);
    await tick();
    expect(calls).toEqual([
      { body: { provisionDeviceKey: 'k' }, source: { transport: 'mqtt', remote: '10.0.0.1' } },
    ]);
    expect(sent).toEqual([
      {
        topic: '/provision/response',
        payload: JSON.stringify(success),
        qos: 1,
        retain: false,
        cmd: 'publish',
        dup: false,
      },
    ]);
  });

  it('answers an oversized request with FAILURE without calling the handler', async () => {
    const { sessions, calls } = setup();
    const { client, sent } = fakeClient();
    sessions.open(client, '10.0.0.1');
    expect(sessions.acceptPublish(client, request('x'.repeat(65), 0))).toBeNull();
    await tick();
    expect(calls).toHaveLength(0);
    expect(JSON.parse(sent[0]?.payload ?? '{}')).toMatchObject({
      status: 'FAILURE',
      errorCode: 'PROVISION_BAD_REQUEST',
    });
    expect(sent[0]?.qos).toBe(0);
  });

  it('refuses other topics and requests beyond the per-session budget', () => {
    const { sessions } = setup();
    const { client } = fakeClient();
    sessions.open(client, '10.0.0.1');
    expect(sessions.acceptPublish(client, request('{}', 0, 'v1/devices/me/telemetry'))).toBeInstanceOf(Error);
    expect(sessions.acceptPublish(client, request('{}'))).toBeNull();
    expect(sessions.acceptPublish(client, request('{}'))).toBeNull();
    expect(sessions.acceptPublish(client, request('{}'))).toBeInstanceOf(Error);
  });

  it('knows only the clients it opened, by object', () => {
    const { sessions } = setup();
    const a = fakeClient().client;
    const sameId = fakeClient().client;
    sessions.open(a, '10.0.0.1');
    expect(sessions.isProvisioning(a)).toBe(true);
    expect(sessions.isProvisioning(sameId)).toBe(false);
    expect(sessions.acceptPublish(sameId, request('{}'))).toBeInstanceOf(Error);
  });

  it('refuses a will (published as the connection closes)', () => {
    const { sessions, calls } = setup();
    const { client } = fakeClient(true);
    sessions.open(client, '10.0.0.1');
    expect(sessions.acceptPublish(client, request('{}'))).toBeInstanceOf(Error);
    expect(calls).toHaveLength(0);
  });

  it('drops the answer when the client goes before it', async () => {
    const { sessions, calls } = setup();
    const { client, sent } = fakeClient();
    sessions.open(client, '10.0.0.1');
    sessions.acceptPublish(client, request('{}'));
    Object.assign(client, { closed: true });
    await tick();
    expect(calls).toHaveLength(1);
    expect(sent).toHaveLength(0);
  });
});
