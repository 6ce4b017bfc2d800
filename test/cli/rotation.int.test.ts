import { serve, type ServerType } from '@hono/node-server';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunProgress } from '../../domain/rotation';
import { type Fleet, provisionFleet, rotationTableCounts } from '../api/fleet-fixture';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { freePort } from '../support/ports';

const bin = resolve(__dirname, '../../bin/certflow.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node bin/certflow.js …` as a user runs it (async: this process serves the API). */
function certflow(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((done, fail) => {
    const { CERTFLOW_API_KEY: _k, CERTFLOW_API_URL: _u, DATABASE_URL: _d, ...inherited } = process.env;
    const child = spawn(process.execPath, [bin, ...args], { cwd: tmpdir(), env: { ...inherited, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('certflow rotation and revocation commands', () => {
  let p: TestPlatform;
  let server: ServerType;
  let env: Record<string, string>;
  let fleet: Fleet;

  beforeAll(async () => {
    p = await startTestPlatform('sqlite');
    fleet = await provisionFleet(p, p.tenantA.keys.operator, 'cli', 4);
    const port = await freePort();
    await new Promise<void>((ready) => {
      server = serve({ fetch: p.app.fetch, port, hostname: '127.0.0.1' }, () => ready());
    });
    env = {
      CERTFLOW_API_URL: `http://127.0.0.1:${port}`,
      CERTFLOW_API_KEY: p.tenantA.keys.operator,
      CERTFLOW_WATCH_INTERVAL_MS: '200',
    };
  });
  afterAll(async () => {
    await new Promise<void>((closed) => server.close(() => closed()));
    await p?.stop();
  });

  const firstThree = () => fleet.devices.slice(0, 3).flatMap((d) => ['--device', d.id]);

  it('dry-runs a selection without writing anything', async () => {
    const before = await rotationTableCounts(p);
    const run = await certflow(['rotation', 'start', ...firstThree(), '--rate', '60', '--dry-run'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ dryRun: true, devices: 3, estimatedSeconds: 3 });
    expect(await rotationTableCounts(p)).toEqual(before);
  });

  it('starts a run, watches it to the end, lists it and reports why devices did not rotate', async () => {
    const started = await certflow(
      ['rotation', 'start', ...firstThree(), '--deadline', '10', '--concurrency', '3', '--watch'],
      env,
    );
    expect(started.code).toBe(0);
    const run = JSON.parse(started.stdout) as RunProgress;
    expect(run.status).toBe('completed');
    expect(run.counts).toMatchObject({ rolled_back: 3, pending: 0, in_progress: 0 });
    // Not a terminal: one progress line per change, the last one final.
    const lines = started.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`started run ${run.runId}`);
    expect(lines.at(-1)).toMatch(/^\[#+\]\s+3\/3\s+100%.*rolled back 3.*\[completed\]$/);
    expect(started.stderr).not.toContain('\r');

    const status = await certflow(['rotation', 'status', run.runId, '--watch'], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ runId: run.runId, status: 'completed' });

    const list = await certflow(['-o', 'table', 'rotation', 'list'], env);
    expect(list.stdout).toMatch(
      new RegExp(`^ID\\s+STATUS.*\\n${run.runId}\\s+completed\\s+3\\s+0\\s+0\\s+3`),
    );

    const report = await certflow(['rotation', 'report', run.runId], env);
    expect(report.code).toBe(0);
    expect(report.stdout).toContain(`run ${run.runId}: completed\n`);
    expect(report.stdout.match(/rolled_back\s+DEADLINE: /g)).toHaveLength(3);
    const json = await certflow(['rotation', 'report', run.runId, '--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ final: true, problems: expect.any(Array) as unknown });

    const late = await certflow(['rotation', 'pause', run.runId], env);
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/^error RUN_WRONG_STATE: /);
  });

  it('pauses, resumes and cancels a run', async () => {
    const started = await certflow(
      [
        'rotation',
        'start',
        '--device',
        fleet.devices[3]!.id,
        '--device',
        fleet.devices[2]!.id,
        '--rate',
        '1',
        '--concurrency',
        '1',
      ],
      env,
    );
    const { runId } = JSON.parse(started.stdout) as RunProgress;
    const paused = await certflow(['rotation', 'pause', runId], env);
    expect(paused.stderr).toBe('');
    expect(JSON.parse(paused.stdout)).toMatchObject({ status: 'paused' });
    expect(JSON.parse((await certflow(['rotation', 'resume', runId], env)).stdout)).toMatchObject({
      status: 'running',
    });
    const cancelled = await certflow(
      ['rotation', 'cancel', runId, '--reason', 'maintenance window over'],
      env,
    );
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ status: 'cancelled' });
    const status = await certflow(['rotation', 'status', runId], env);
    expect(JSON.parse(status.stdout)).toMatchObject({
      status: 'cancelled',
      statusReason: expect.stringContaining('maintenance window over') as unknown,
    });
  });

  it('lists certificates, revokes one, revokes a device, and refuses auditors', async () => {
    const d = fleet.devices[0]!;
    const certs = await certflow(['-o', 'table', 'devices', 'certificates', d.id], env);
    expect(certs.stdout).toMatch(new RegExp(`^FINGERPRINT\\s+STATUS.*\\n${d.fingerprint}\\s+active\\s`));

    const auditor = { ...env, CERTFLOW_API_KEY: p.tenantA.keys.auditor };
    const refused = await certflow(['devices', 'revoke', d.id, '--reason', 'lost'], auditor);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('error FORBIDDEN: this needs the operator role; the key has auditor\n');

    const one = await certflow(
      ['certificates', 'revoke', d.id, d.fingerprint, '--reason', 'key leaked'],
      env,
    );
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({
      deviceRevoked: false,
      revokedCertificates: [d.fingerprint],
    });

    const other = fleet.devices[1]!;
    const device = await certflow(
      ['-o', 'table', 'devices', 'revoke', other.id, '--reason', 'decommissioned'],
      env,
    );
    expect(device.stdout).toBe(
      `device ${other.id} revoked; 1 credential(s) revoked; certificates: ${other.fingerprint}\n`,
    );
    const row = await p.registry.db
      .selectFrom('devices')
      .select('status')
      .where('id', '=', other.id)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('revoked');

    const rotate = await certflow(['devices', 'rotate', other.id], env);
    expect(rotate.code).toBe(1);
    expect(rotate.stderr).toMatch(/^error DEVICE_REVOKED: /);
  });
});
