import { Client, Connection } from '@temporalio/client';
import mqtt from 'mqtt';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports';

const root = resolve(__dirname, '../..');

interface Started {
  child: ChildProcess;
  output: () => string;
}

/** Runs `npm start` in its own process group, as a terminal would, and waits for its banner. */
async function npmStart(env: Record<string, string>): Promise<Started> {
  const { TEMPORAL_ADDRESS: _ignored, ...inherited } = process.env;
  const child = spawn('npm', ['start'], { cwd: root, env: { ...inherited, ...env }, detached: true });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 150_000;
  while (!out.includes('certflow is running')) {
    if (child.exitCode !== null) throw new Error(`npm start exited early:\n${out}`);
    if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  await new Promise((r) => setTimeout(r, 200)); // the rest of the banner
  return { child, output: () => out };
}

/**
 * Ctrl-C: SIGINT to the whole process group, as a terminal sends it. npm itself then ends by
 * the signal; what matters is that certflow drained and that nothing keeps listening.
 */
async function ctrlC(s: Started, ports: number[]): Promise<void> {
  const exited = once(s.child, 'exit');
  process.kill(-(s.child.pid ?? 0), 'SIGINT');
  await exited;
  await new Promise((r) => setTimeout(r, 500));
  expect(s.output()).toContain('SIGINT: shutting down');
  expect(s.output()).not.toMatch(/Error|failed/);
  for (const port of ports) expect(await listening(port)).toBe(false);
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('npm start (all in one, embedded defaults)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'certflow-e2e-'));
  let running: Started | undefined;
  afterAll(() => {
    const child = running?.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-(child.pid ?? 0), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs the whole platform, creates a device end to end, stops cleanly and keeps its state', async () => {
    const ports = {
      PORT: await freePort(),
      MQTT_PORT: await freePort(),
      MQTTS_PORT: await freePort(),
      TEMPORAL_DEV_PORT: await freePort(),
      TEMPORAL_DEV_UI_PORT: await freePort(),
      DEVICE_HTTPS_PORT: await freePort(),
      COAP_PORT: await freePort(),
    };
    const env = {
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    };
    const api = `http://127.0.0.1:${ports.PORT}`;

    running = await npmStart(env);
    const key = /Admin API key \(shown once, stored hashed\): (cf_\S+)/.exec(running.output())?.[1];
    expect(key).toBeDefined();
    expect(running.output()).toContain(`/openapi.json`);
    expect(running.output()).toContain(`Temporal UI`);

    const health = await fetch(`${api}/healthz`);
    expect(health.status).toBe(200);
    const created = await fetch(`${api}/api/devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'e2e-device', accessToken: {} }),
    });
    expect(created.status).toBe(201);
    const body = (await created.json()) as {
      device: { id: string };
      workflowId: string;
      accessToken: string;
    };

    const connection = await Connection.connect({ address: `127.0.0.1:${ports.TEMPORAL_DEV_PORT}` });
    const client = new Client({ connection });
    expect((await client.workflow.getHandle(body.workflowId).describe()).status.name).toBe('COMPLETED');
    await connection.close();

    const mq = await mqtt.connectAsync(`mqtts://localhost:${ports.MQTTS_PORT}`, {
      username: body.accessToken,
      ca: readFileSync(join(dataDir, 'tls', 'ca.pem')),
      reconnectPeriod: 0,
    });
    expect(mq.connected).toBe(true);
    await mq.endAsync();

    await ctrlC(running, Object.values(ports));
    expect(running.output()).not.toContain(body.accessToken);

    // Second start on the same data: no new key, the device and its workflow are still there.
    running = await npmStart(env);
    expect(running.output()).not.toContain('Admin API key');
    const again = await fetch(`${api}/api/devices/${body.device.id}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(again.status).toBe(200);
    const history = (await (
      await fetch(`${api}/api/devices/${body.device.id}/history`, {
        headers: { authorization: `Bearer ${key}` },
      })
    ).json()) as { workflows: { status: string }[] };
    expect(history.workflows.map((w) => w.status)).toEqual(['COMPLETED']);
    await ctrlC(running, Object.values(ports));
  });
});
