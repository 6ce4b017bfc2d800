import mqtt, { type IClientOptions } from 'mqtt';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionX509WorkflowId } from '../../domain/ids';
import type { Edge } from '../../runtime/edge';
import {
  createDeviceCert,
  createIntermediateCa,
  createRootCa,
  type DeviceCert,
  type TestCa,
} from '../support/device-pki';
import { type CaBody, registerCaViaApi, startTestEdge } from '../support/jitp';
import { type TestPlatform, startTestPlatform } from '../support/platform';
import { countRows, dialects } from '../support/registry';

const run = promisify(execFile);

/** Connects over TLS with a client certificate (and chain); resolves with the CONNACK code. */
function tlsConnect(
  edge: Edge,
  ca: string,
  device: DeviceCert,
  chain: TestCa[] = [],
  extra: IClientOptions = {},
) {
  return new Promise<number>((resolve) => {
    const client = mqtt.connect(`mqtts://localhost:${edge.broker.ports.tls}`, {
      ca,
      cert: device.certPem + chain.map((c) => c.certPem).join(''),
      key: device.keyPem,
      reconnectPeriod: 0,
      connectTimeout: 30_000,
      protocolVersion: 4,
      ...extra,
    });
    client.once('connect', () => {
      client.end(true);
      resolve(0);
    });
    client.once('error', (err: Error & { code?: number }) => {
      client.end(true);
      resolve(typeof err.code === 'number' ? err.code : -1);
    });
  });
}

function httpsConnect(edge: Edge, ca: string, device?: DeviceCert, chain: TestCa[] = []) {
  return new Promise<{ status: number; body: Record<string, unknown>; retryAfter?: string }>(
    (resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          servername: 'localhost',
          port: edge.deviceHttpsPort,
          path: '/device/v1/connect',
          method: 'POST',
          ca,
          ...(device
            ? { cert: device.certPem + chain.map((c) => c.certPem).join(''), key: device.keyPem }
            : {}),
        },
        (res) => {
          let data = '';
          res.on('data', (d: Buffer) => (data += d.toString()));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: JSON.parse(data) as Record<string, unknown>,
              retryAfter: res.headers['retry-after'],
            }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    },
  );
}

describe.each(dialects)('X.509 just-in-time provisioning on first connect (%s)', (dialect) => {
  let p: TestPlatform;
  let edge: Edge & { dispose(): Promise<void> };
  let serverCa: string;
  let root: TestCa;
  let line: TestCa;
  let productId: string;
  const dir = mkdtempSync(join(tmpdir(), 'certflow-jitp-'));

  beforeAll(async () => {
    p = await startTestPlatform(dialect);
    edge = await startTestEdge(p);
    serverCa = serverCaOf(edge);
    root = await createRootCa({ name: 'CN=Acme Root,O=Acme' });
    line = await createIntermediateCa(root, { name: 'CN=Acme Line 1,O=Acme' });
    productId = (
      (await (await p.call(p.tenantA.keys.operator, 'POST', '/api/products', { name: 'meter' })).json()) as {
        id: string;
      }
    ).id;
    const registered = await registerCaViaApi(p, p.tenantA.keys.operator, root, {
      enabled: true,
      productId,
      tags: ['jitp'],
      descriptionTemplate: '{{o}} device {{cn}} ({{ou}})',
    });
    expect(registered.status).toBe(201);
  });
  afterAll(async () => {
    await edge?.dispose();
    await p?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const devicesNamed = (name: string) =>
    p.registry.db.selectFrom('devices').selectAll().where('name', '=', name).execute();

  it('provisions an unknown device and lets that same MQTT connection in', async () => {
    const device = await createDeviceCert(line, { cn: 'meter-0001', o: 'Acme', ou: 'Line 1' });
    expect(await tlsConnect(edge, serverCa, device, [line])).toBe(0);
    const [row] = await devicesNamed('meter-0001');
    expect(row).toMatchObject({
      tenant_id: p.tenantA.id,
      provision_state: 'provisioned',
      product_id: productId,
      label: 'Acme device meter-0001 (Line 1)',
    });
    expect(JSON.parse(row?.tags ?? '[]')).toEqual(['jitp']);
    const cred = await p.registry.db
      .selectFrom('device_credentials')
      .selectAll()
      .where('device_id', '=', row?.id ?? '')
      .execute();
    expect(cred).toEqual([
      expect.objectContaining({ type: 'X509_CERTIFICATE', lookup_key: device.fingerprintSha256 }),
    ]);

    const wf = await p.client.workflow
      .getHandle(provisionX509WorkflowId(p.tenantA.id, device.fingerprintSha256))
      .describe();
    expect(wf.status.name).toBe('COMPLETED');
    const audit = await p.registry.db
      .selectFrom('audit_events')
      .selectAll()
      .where('device_id', '=', row?.id ?? '')
      .execute();
    expect(audit.map((a) => a.type)).toEqual(['device.provisioned']);

    // Reconnect: recognised from the registry, no second workflow run.
    expect(await tlsConnect(edge, serverCa, device, [line])).toBe(0);
    const runs = p.client.workflow.list({
      query: `WorkflowId = '${provisionX509WorkflowId(p.tenantA.id, device.fingerprintSha256)}'`,
    });
    let count = 0;
    for await (const _ of runs) count++;
    expect(count).toBe(1);
  });

  it('turns 50 simultaneous first connects of one device into one device and one run', async () => {
    const device = await createDeviceCert(line, { cn: 'meter-storm' });
    const codes = await Promise.all(
      Array.from({ length: 50 }, () => tlsConnect(edge, serverCa, device, [line])),
    );
    expect(codes.every((c) => c === 0)).toBe(true);
    expect(await devicesNamed('meter-storm')).toHaveLength(1);
    const runs = p.client.workflow.list({
      query: `WorkflowId = '${provisionX509WorkflowId(p.tenantA.id, device.fingerprintSha256)}'`,
    });
    let count = 0;
    for await (const _ of runs) count++;
    expect(count).toBe(1);
  });

  it('works with mosquitto_pub (--cert/--key/--cafile)', async () => {
    const device = await createDeviceCert(line, { cn: 'meter-mosquitto' });
    writeFileSync(join(dir, 'dev.pem'), device.certPem + line.certPem);
    writeFileSync(join(dir, 'dev.key'), device.keyPem);
    writeFileSync(join(dir, 'ca.pem'), serverCa);
    await run('mosquitto_pub', [
      '-h',
      'localhost',
      '-p',
      String(edge.broker.ports.tls),
      '-V',
      'mqttv311',
      '--cafile',
      join(dir, 'ca.pem'),
      '--cert',
      join(dir, 'dev.pem'),
      '--key',
      join(dir, 'dev.key'),
      '-t',
      'v1/devices/me/telemetry',
      '-m',
      '{"t":21}',
      '-q',
      '1',
    ]);
    expect(await devicesNamed('meter-mosquitto')).toHaveLength(1);
  });

  it('provisions over HTTPS with a client certificate, then recognises the device', async () => {
    const device = await createDeviceCert(line, { cn: 'meter-https' });
    const first = await httpsConnect(edge, serverCa, device, [line]);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      deviceName: 'meter-https',
      tenantId: p.tenantA.id,
      provisioned: true,
    });
    const again = await httpsConnect(edge, serverCa, device, [line]);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ provisioned: false, deviceId: first.body.deviceId });
    const none = await httpsConnect(edge, serverCa);
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ code: 'DEVICE_CERTIFICATE_REQUIRED' });
  });

  it('refuses bad chains and identities with CONNACK 5, creating nothing', async () => {
    const before = await countRows(p.registry, 'devices');
    const stranger = await createRootCa({ name: 'CN=Stranger Root' });
    const notCa = await createIntermediateCa(root, { name: 'CN=Posing Intermediate', isCa: false });
    const tight = await createIntermediateCa(root, { name: 'CN=Tight', pathLen: 0 });
    const below = await createIntermediateCa(tight, { name: 'CN=Below Tight' });
    let deep = line;
    const tower: TestCa[] = [];
    for (let i = 0; i < 10; i++) {
      deep = await createIntermediateCa(deep, { name: `CN=Level ${i}` });
      tower.unshift(deep);
    }
    const cases: [string, DeviceCert, TestCa[]][] = [
      ['unregistered CA', await createDeviceCert(stranger, { cn: 'x-stranger' }), []],
      ['non-CA intermediate', await createDeviceCert(notCa, { cn: 'x-notca' }), [notCa]],
      ['pathLen violation', await createDeviceCert(below, { cn: 'x-pathlen' }), [below, tight]],
      [
        'expired leaf',
        await createDeviceCert(line, { cn: 'x-expired', notAfter: new Date('2025-01-01T00:00:00Z') }),
        [line],
      ],
      ['server-only EKU', await createDeviceCert(line, { cn: 'x-eku', eku: 'serverAuth' }), [line]],
      ['over-long chain', await createDeviceCert(deep, { cn: 'x-deep' }), [...tower, line]],
    ];
    for (const [why, device, chain] of cases) {
      expect({ why, code: await tlsConnect(edge, serverCa, device, chain) }).toEqual({ why, code: 5 });
    }
    expect(await countRows(p.registry, 'devices')).toBe(before);
    const https = await httpsConnect(edge, serverCa, cases[0]?.[1], []);
    expect(https).toMatchObject({ status: 403, body: { code: 'JITP_UNKNOWN_CA' } });
  });

  it('refuses devices of an inactive CA and of a CA with JITP disabled', async () => {
    const off = await createRootCa({ name: 'CN=Disabled JITP' });
    await registerCaViaApi(p, p.tenantA.keys.operator, off, { enabled: false });
    const offDevice = await createDeviceCert(off, { cn: 'x-jitp-off' });
    expect(await tlsConnect(edge, serverCa, offDevice)).toBe(5);
    expect(await httpsConnect(edge, serverCa, offDevice)).toMatchObject({
      status: 403,
      body: { code: 'JITP_DISABLED' },
    });

    const paused = await createRootCa({ name: 'CN=Paused' });
    const ca = (await (await registerCaViaApi(p, p.tenantA.keys.operator, paused)).json()) as CaBody;
    await p.call(p.tenantA.keys.operator, 'PATCH', `/api/cas/${ca.id}`, { status: 'inactive' });
    // The edge may still hold the CA as active in its cache; the workflow's own check, against
    // the registry as it is now, refuses.
    const pausedDevice = await createDeviceCert(paused, { cn: 'x-paused' });
    expect(await httpsConnect(edge, serverCa, pausedDevice)).toMatchObject({
      status: 403,
      body: { code: 'JITP_CA_INACTIVE' },
    });
    expect(await devicesNamed('x-paused')).toHaveLength(0);
  });

  it('refuses a name already taken in the tenant; the same name in another tenant is fine', async () => {
    await p.call(p.tenantA.keys.operator, 'POST', '/api/devices', { name: 'meter-taken' });
    const taken = await createDeviceCert(line, { cn: 'meter-taken' });
    expect(await tlsConnect(edge, serverCa, taken, [line])).toBe(5);
    expect(
      await p.registry.db
        .selectFrom('certificates')
        .select('id')
        .where('fingerprint_sha256', '=', taken.fingerprintSha256)
        .execute(),
    ).toHaveLength(0);

    const rootB = await createRootCa({ name: 'CN=Globex Root' });
    await registerCaViaApi(p, p.tenantB.keys.operator, rootB);
    const inB = await createDeviceCert(rootB, { cn: 'meter-taken' });
    expect(await tlsConnect(edge, serverCa, inB)).toBe(0);
    const rows = await devicesNamed('meter-taken');
    expect(rows.map((r) => r.tenant_id).sort()).toEqual([p.tenantA.id, p.tenantB.id].sort());
  });

  it('names devices by the CA’s pattern when it has one', async () => {
    const patterned = await createRootCa({ name: 'CN=Patterned' });
    await registerCaViaApi(p, p.tenantA.keys.operator, patterned, {
      enabled: true,
      deviceNamePattern: '^SN-(\\w+)$',
    });
    expect(await tlsConnect(edge, serverCa, await createDeviceCert(patterned, { cn: 'SN-abc123' }))).toBe(0);
    expect(await devicesNamed('abc123')).toHaveLength(1);
    expect(await tlsConnect(edge, serverCa, await createDeviceCert(patterned, { cn: 'nope' }))).toBe(5);
  });

  it('rate-limits first connects per CA with a retryable refusal', async () => {
    const limited = await startTestEdge(p, { perCa: { perSecond: 0.001, burst: 1 } });
    try {
      const a = await createDeviceCert(line, { cn: 'rl-1' });
      const b = await createDeviceCert(line, { cn: 'rl-2' });
      expect(await tlsConnect(limited, serverCaOf(limited), a, [line])).toBe(0);
      expect(await tlsConnect(limited, serverCaOf(limited), b, [line])).toBe(3);
      const https = await httpsConnect(limited, serverCaOf(limited), b, [line]);
      expect(https.status).toBe(429);
      expect(Number(https.retryAfter)).toBeGreaterThan(0);
      // A known device is not a first connect and is not limited.
      expect(await tlsConnect(limited, serverCaOf(limited), a, [line])).toBe(0);
    } finally {
      await limited.dispose();
    }
  });
});

function serverCaOf(edge: Edge): string {
  return readFileSync(edge.caFile, 'utf8');
}
