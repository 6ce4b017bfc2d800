import { serve, type ServerType } from '@hono/node-server';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticateApiKey } from '../../registry/api-keys';
import { openRegistry } from '../../registry/connect';
import { findTenantByName } from '../../registry/tenants';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { freePort } from '../support/ports';

const bin = resolve(__dirname, '../../bin/certflow.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `node bin/certflow.js …` as a user runs it, from a directory outside the project. Async, not
 * spawnSync: the API under test is served by this very process.
 */
function certflow(args: string[], env: Record<string, string>, cwd = tmpdir()): Promise<Run> {
  return new Promise((done, fail) => {
    const { CERTFLOW_API_KEY: _k, CERTFLOW_API_URL: _u, DATABASE_URL: _d, ...inherited } = process.env;
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...inherited, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('certflow tenants (direct registry access)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'certflow-cli-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('creates a tenant in the DATA_DIR registry and prints a working admin key once', async () => {
    const run = await certflow(['tenants', 'create', 'acme'], { DATA_DIR: dataDir });
    expect(run.stderr).toContain('Store the admin key now');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { tenant: { id: string; name: string }; adminKey: string };
    expect(out.tenant.name).toBe('acme');
    expect(out.adminKey).toMatch(/^cf_[0-9a-f]{16}_/);

    const registry = openRegistry({ dialect: 'sqlite', file: join(dataDir, 'certflow.sqlite') });
    try {
      expect((await findTenantByName(registry.db, 'acme'))?.id).toBe(out.tenant.id);
      expect(await authenticateApiKey(registry.db, out.adminKey)).toMatchObject({
        tenant_id: out.tenant.id,
        role: 'admin',
      });
    } finally {
      await registry.close();
    }
  });

  it('refuses a duplicate name with a clear message, exit 1 and no stack trace', async () => {
    const run = await certflow(['tenants', 'create', 'acme'], { DATA_DIR: dataDir });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('error: a tenant named "acme" already exists\n');
  });

  it('lists the tenants', async () => {
    const run = await certflow(['--output', 'table', 'tenants', 'list'], { DATA_DIR: dataDir });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ID\s+NAME\s+CREATED\n\S+\s+acme\s+\S+\n$/);
  });

  it('names a bad DATABASE_URL instead of failing obscurely', async () => {
    const run = await certflow(['tenants', 'list'], { DATA_DIR: dataDir, DATABASE_URL: 'mysql://x/y' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: invalid configuration:\n {2}DATABASE_URL: unsupported database URL/);
  });
});

describe('certflow against a running edge', () => {
  let platform: TestPlatform;
  let server: ServerType;
  let env: Record<string, string>;

  beforeAll(async () => {
    platform = await startTestPlatform('sqlite');
    const port = await freePort();
    await new Promise<void>((ready) => {
      server = serve({ fetch: platform.app.fetch, port, hostname: '127.0.0.1' }, () => ready());
    });
    env = { CERTFLOW_API_URL: `http://127.0.0.1:${port}`, CERTFLOW_API_KEY: platform.tenantA.keys.admin };
  });
  afterAll(async () => {
    await new Promise<void>((closed) => server.close(() => closed()));
    await platform.stop();
  });

  it('creates a device, shows it and its history', async () => {
    const created = await certflow(['devices', 'create', 'cli-1', '--tag', 'line-a', '--access-token'], env);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const body = JSON.parse(created.stdout) as {
      device: { id: string; tags: string[] };
      accessToken: string;
    };
    expect(body.device.tags).toEqual(['line-a']);
    expect(body.accessToken).toBeTruthy();

    const got = await certflow(['devices', 'get', body.device.id], env);
    expect(JSON.parse(got.stdout)).toMatchObject({ id: body.device.id, name: 'cli-1' });

    const history = await certflow(['devices', 'history', body.device.id], env);
    expect(history.code).toBe(0);
    const h = JSON.parse(history.stdout) as { workflows: unknown[]; auditEvents: unknown[] };
    expect(h.workflows.length).toBeGreaterThan(0);
  });

  it('imports a file and reports a taken name per item with exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certflow-import-'));
    const file = join(dir, 'fleet.json');
    writeFileSync(
      file,
      JSON.stringify([{ name: 'imp-1' }, { name: 'imp-2', tags: ['x'] }, { name: 'cli-1' }]),
    );
    try {
      const run = await certflow(['devices', 'import', file], env);
      expect(run.code).toBe(1);
      expect(JSON.parse(run.stdout)).toMatchObject({ created: 2, failed: 1 });
      expect(run.stderr).toMatch(
        /^error: 1 of 3 devices were not created\n {2}\[2\] cli-1: DEVICE_NAME_TAKEN /,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates an auditor key that may read but not write', async () => {
    const created = await certflow(['api-keys', 'create', 'audit', '--role', 'auditor'], env);
    expect(created.code).toBe(0);
    const { key, apiKey } = JSON.parse(created.stdout) as { key: string; apiKey: { id: string } };

    const auditor = { ...env, CERTFLOW_API_KEY: key };
    expect((await certflow(['devices', 'list'], auditor)).code).toBe(0);
    const refused = await certflow(['devices', 'create', 'nope'], auditor);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('error FORBIDDEN: this needs the operator role; the key has auditor\n');

    const listed = await certflow(['api-keys', 'list'], env);
    expect(listed.stdout).not.toContain(key);
    expect((await certflow(['api-keys', 'revoke', apiKey.id], env)).code).toBe(0);
    const revoked = await certflow(['devices', 'list'], auditor);
    expect(revoked.stderr).toBe('error UNAUTHENTICATED: the API key is unknown or revoked\n');
  });
});
