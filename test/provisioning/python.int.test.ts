import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDeviceByCredential } from '../../registry/devices';
import { mqttBasicLookupKey, sha256Hex } from '../../registry/secrets';
import { startTestEdge } from '../support/jitp';
import { startTestPlatform, type TestPlatform } from '../support/platform';

/**
 * The ThingsBoard promise, from the device's side: Python device code written the way
 * ThingsBoard documents it (requests for HTTP, paho-mqtt for MQTT; test/python/) provisions
 * itself against a real edge and then connects with what it got.
 */

const root = resolve(__dirname, '../..');
const scripts = join(root, 'test', 'python');
/** paho-mqtt and requests, installed here once (git-ignored), never into the system Python. */
const pythonDeps = join(root, '.python-deps');
const pythonEnv = { ...process.env, PYTHONPATH: pythonDeps, PYTHONDONTWRITEBYTECODE: '1' };
const run = promisify(execFile);

/** Installs paho-mqtt and requests into .python-deps unless they already import from there. */
async function ensurePythonDeps(): Promise<void> {
  try {
    await run('python3', ['-c', 'import paho.mqtt.client, requests'], { env: pythonEnv });
    return;
  } catch {
    // Not installed yet (or broken): install below.
  }
  await run(
    'python3',
    [
      ...['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--upgrade'],
      ...['--target', pythonDeps, 'paho-mqtt', 'requests'],
    ],
    { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }, timeout: 300_000 },
  );
}

interface Ran {
  code: number;
  lines: string[];
  stderr: string;
}

/** Runs a script to its end; a non-zero exit is a result here, not an exception. */
async function python(script: string, args: string[]): Promise<Ran> {
  const opts = { env: pythonEnv, timeout: 90_000 };
  const done = await run('python3', [join(scripts, script), ...args], opts).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (err: { code?: number | string; stdout?: string; stderr?: string }) => {
      if (typeof err.code !== 'number') throw err as Error;
      return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
    },
  );
  return { code: done.code, lines: done.stdout.split('\n').filter(Boolean), stderr: done.stderr };
}

type Answer = {
  status: string;
  credentialsType?: string;
  credentialsValue?: unknown;
  deviceId?: string;
  errorMsg?: string;
  errorCode?: string;
};

const answerOf = (ran: Ran): Answer => JSON.parse(ran.lines[0] ?? 'null') as Answer;

describe('ThingsBoard-style Python devices (requests, paho-mqtt) against a real edge', () => {
  let p: TestPlatform;
  let edge: Awaited<ReturnType<typeof startTestEdge>>;
  let dir: string;
  let prof: { id: string; key: string; secret: string };
  const hostArgs = (port: number) => ['--host', '127.0.0.1', '--port', String(port)];
  const http = () => hostArgs(edge.httpPort);
  const mqtt = () => hostArgs(edge.broker.ports.plain);
  // `--name=value`: a generated key or secret may begin with '-', which argparse would take for an option.
  const auth = () => [`--key=${prof.key}`, `--secret=${prof.secret}`];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certflow-python-'));
    const installing = ensurePythonDeps();
    p = await startTestPlatform('sqlite');
    edge = await startTestEdge(p);
    const res = await fetch(`http://127.0.0.1:${edge.httpPort}/api/device-profiles`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${p.tenantA.keys.operator}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        name: 'python-devices',
        allowedCredentialTypes: ['ACCESS_TOKEN', 'MQTT_BASIC'],
      }),
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as {
      profile: { id: string; provisionKey: string };
      provisionSecret: string;
    };
    prof = { id: created.profile.id, key: created.profile.provisionKey, secret: created.provisionSecret };
    await installing;
  });
  afterAll(async () => {
    await edge?.dispose();
    await p?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function deviceRow(id: string | undefined) {
    return p.registry.db
      .selectFrom('devices')
      .selectAll()
      .where('id', '=', id ?? '')
      .executeTakeFirst();
  }

  it('provisions over HTTP with a server-generated token, which then publishes over MQTT', async () => {
    const saved = join(dir, 'http-credentials.json');
    const ran = await python('provision_http.py', [
      ...http(),
      ...auth(),
      ...['--device-name', 'py-http-1', '--credentials-file', saved],
    ]);
    expect(ran.code, ran.stderr).toBe(0);
    const answer = answerOf(ran);
    expect(answer).toMatchObject({ status: 'SUCCESS', credentialsType: 'ACCESS_TOKEN' });
    const token = answer.credentialsValue as string;
    expect(token).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(await findDeviceByCredential(p.registry.db, 'ACCESS_TOKEN', sha256Hex(token))).toMatchObject({
      tenantId: p.tenantA.id,
      deviceName: 'py-http-1',
      deviceId: answer.deviceId,
    });
    expect(await deviceRow(answer.deviceId)).toMatchObject({
      provision_state: 'provisioned',
      profile_id: prof.id,
    });

    // Like ThingsBoard's example on its next start: credentials from the file, token as user name.
    const device = await python('provision_mqtt.py', [...mqtt(), '--credentials-file', saved]);
    expect(device, device.stderr).toMatchObject({ code: 0, lines: ['telemetry published'] });
  });

  it('provisions over MQTT with MQTT basic credentials, reconnects with them and publishes telemetry', async () => {
    const ran = await python('provision_mqtt.py', [
      ...mqtt(),
      ...auth(),
      ...['--device-name', 'py-mqtt-1', '--credentials-type', 'MQTT_BASIC'],
      ...['--client-id', 'py-client-1', '--username', 'py-user-1', '--password', 'py-pass-1'],
    ]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(answerOf(ran)).toMatchObject({
      status: 'SUCCESS',
      credentialsType: 'MQTT_BASIC',
      credentialsValue: { clientId: 'py-client-1', userName: 'py-user-1', password: 'py-pass-1' },
    });
    expect(ran.lines[1]).toBe('telemetry published');
    const deviceId = answerOf(ran).deviceId;
    const credential = await p.registry.db
      .selectFrom('device_credentials')
      .selectAll()
      .where('lookup_key', '=', mqttBasicLookupKey('py-client-1', 'py-user-1'))
      .executeTakeFirstOrThrow();
    expect(credential).toMatchObject({ type: 'MQTT_BASIC', status: 'active', device_id: deviceId });
    expect(credential.secret_hash).toMatch(/^scrypt\$/);
    expect(await deviceRow(deviceId)).toMatchObject({
      name: 'py-mqtt-1',
      provision_state: 'provisioned',
      profile_id: prof.id,
    });

    // The telemetry step above is not vacuous: a wrong password is refused at CONNECT.
    const forged = join(dir, 'forged.json');
    writeFileSync(
      forged,
      JSON.stringify({
        status: 'SUCCESS',
        credentialsType: 'MQTT_BASIC',
        credentialsValue: { clientId: 'py-client-1', userName: 'py-user-1', password: 'wrong' },
      }),
    );
    const refused = await python('provision_mqtt.py', [...mqtt(), '--credentials-file', forged]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/connection refused/i);
  });

  it('prints NOT_FOUND for a wrong secret, over HTTP and MQTT, and creates nothing', async () => {
    const wrong = [`--key=${prof.key}`, '--secret=not-the-secret', '--device-name', 'py-intruder'];
    const overHttp = await python('provision_http.py', [...http(), ...wrong]);
    const overMqtt = await python('provision_mqtt.py', [...mqtt(), ...wrong]);
    for (const ran of [overHttp, overMqtt]) {
      expect(ran.code, ran.stderr).toBe(1);
      expect(answerOf(ran)).toEqual({
        status: 'NOT_FOUND',
        errorMsg: 'Provision data was not found!',
        errorCode: 'PROVISION_BAD_KEY_OR_SECRET',
      });
    }
    expect(overMqtt.lines).toHaveLength(1);
    const row = await p.registry.db
      .selectFrom('devices')
      .select('id')
      .where('name', '=', 'py-intruder')
      .executeTakeFirst();
    expect(row).toBeUndefined();
  });
});
