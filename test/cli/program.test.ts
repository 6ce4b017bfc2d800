import { describe, expect, it } from 'vitest';
import type { CliDeps } from '../../cli/context';
import { runCli } from '../../cli/program';

const KEY = 'cf_0123456789abcdef_secretsecretsecretsecret';

interface Call {
  method: string;
  url: string;
  auth: string | null;
  body: unknown;
}

/** A CLI over a fake API: `answer` decides each response; calls and output are recorded. */
function harness(
  answer: (call: Call) => { status: number; body: unknown },
  files: Record<string, string> = {},
) {
  const calls: Call[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const deps: CliDeps = {
    env: { CERTFLOW_API_KEY: KEY, CERTFLOW_API_URL: 'http://edge.test:8080/' },
    io: { out: (s) => out.push(s), err: (s) => err.push(s), errIsTTY: false },
    fetch: (input, init) => {
      const headers = new Headers(init?.headers);
      const call: Call = {
        method: init?.method ?? 'GET',
        url: input instanceof Request ? input.url : input.toString(),
        auth: headers.get('authorization'),
        body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
      };
      calls.push(call);
      const { status, body } = answer(call);
      const type = status >= 400 ? 'application/problem+json' : 'application/json';
      return Promise.resolve(
        new Response(JSON.stringify(body), { status, headers: { 'content-type': type } }),
      );
    },
    readFile: (path) =>
      path in files
        ? Promise.resolve(files[path]!)
        : Promise.reject(new Error(`ENOENT: no such file '${path}'`)),
    openRegistry: () => Promise.reject(new Error('no registry in unit tests')),
  };
  const run = (...argv: string[]) => runCli(argv, deps);
  return { run, calls, stdout: () => out.join(''), stderr: () => err.join('') };
}

const device = (name: string, i = 0) => ({
  id: `id-${i}`,
  tenantId: 't',
  name,
  label: null,
  productId: null,
  cohortId: null,
  deviceClassId: null,
  profileId: null,
  tags: [],
  attributes: {},
  provisionState: 'pre-provisioned',
  status: 'active',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
});

describe('certflow devices create', () => {
  it('posts the device request with the bearer key and prints the answer as JSON', async () => {
    const h = harness(() => ({
      status: 201,
      body: { device: device('s-1'), workflowId: 'wf', accessToken: 'tok' },
    }));
    const code = await h.run(
      'devices',
      'create',
      's-1',
      '--tag',
      'a',
      '--tag',
      'b',
      '--label',
      'L',
      '--access-token',
    );
    expect(code).toBe(0);
    expect(h.calls).toEqual([
      {
        method: 'POST',
        url: 'http://edge.test:8080/api/devices',
        auth: `Bearer ${KEY}`,
        body: { name: 's-1', label: 'L', tags: ['a', 'b'], accessToken: {} },
      },
    ]);
    expect(JSON.parse(h.stdout())).toMatchObject({ workflowId: 'wf', accessToken: 'tok' });
  });

  it('prints a refusal as `error CODE: detail` with field errors, exit 1, no stack and no key', async () => {
    const h = harness(() => ({
      status: 400,
      body: {
        code: 'VALIDATION_FAILED',
        detail: 'invalid json: tags.0: must be 1-63 characters',
        status: 400,
        requestId: 'r',
        errors: [{ field: 'tags.0', message: 'must be 1-63 characters' }],
      },
    }));
    expect(await h.run('devices', 'create', 's-1', '--tag', '!')).toBe(1);
    expect(h.stdout()).toBe('');
    expect(h.stderr()).toBe(
      'error VALIDATION_FAILED: invalid json: tags.0: must be 1-63 characters\n  tags.0: must be 1-63 characters\n',
    );
    expect(h.stderr()).not.toContain(KEY);
    expect(h.stderr()).not.toMatch(/\n\s+at /);
  });
});

describe('certflow devices list / get / history', () => {
  it('follows `next` with --all and renders a table', async () => {
    const h = harness((call) =>
      call.url.includes('after=id-1')
        ? { status: 200, body: { devices: [device('b', 2)], next: null } }
        : { status: 200, body: { devices: [device('a', 1)], next: 'id-1' } },
    );
    expect(await h.run('-o', 'table', 'devices', 'list', '--all', '--limit', '1')).toBe(0);
    expect(h.calls.map((c) => c.url)).toEqual([
      'http://edge.test:8080/api/devices?limit=1',
      'http://edge.test:8080/api/devices?limit=1&after=id-1',
    ]);
    const lines = h.stdout().trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+STATE\s+STATUS\s+TAGS\s+LABEL\s+CREATED$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[1])).toEqual(['a', 'b']);
  });

  it('escapes the id in the path and asks for the full history with --full', async () => {
    const h = harness(() => ({ status: 200, body: { device: device('a'), workflows: [], auditEvents: [] } }));
    expect(await h.run('devices', 'history', 'a/b', '--full')).toBe(0);
    expect(h.calls[0]?.url).toBe('http://edge.test:8080/api/devices/a%2Fb/history?full=true');
  });

  it('reports an unknown device with its code', async () => {
    const h = harness(() => ({
      status: 404,
      body: { code: 'DEVICE_NOT_FOUND', detail: 'no such device in this tenant', status: 404 },
    }));
    expect(await h.run('devices', 'get', 'nope')).toBe(1);
    expect(h.stderr()).toBe('error DEVICE_NOT_FOUND: no such device in this tenant\n');
  });
});

describe('certflow devices import', () => {
  const names = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `d-${i}` }));
  const bulkOk = (call: Call) => {
    const devices = (call.body as { devices: { name: string }[] }).devices;
    return {
      status: 200,
      body: {
        created: devices.length,
        failed: 0,
        results: devices.map((d, i) => ({
          index: i,
          name: d.name,
          status: 'created',
          device: device(d.name, i),
        })),
      },
    };
  };

  it('sends 1000 devices per request and renumbers the results to the file', async () => {
    const h = harness(bulkOk, { 'fleet.json': JSON.stringify(names(2500)) });
    expect(await h.run('devices', 'import', 'fleet.json')).toBe(0);
    expect(h.calls.map((c) => (c.body as { devices: unknown[] }).devices.length)).toEqual([1000, 1000, 500]);
    const result = JSON.parse(h.stdout()) as { created: number; results: { index: number; name: string }[] };
    expect(result.created).toBe(2500);
    expect(result.results[2499]).toMatchObject({ index: 2499, name: 'd-2499' });
  });

  it('prints every result and exits 1 when some devices failed', async () => {
    const h = harness(
      () => ({
        status: 200,
        body: {
          created: 1,
          failed: 1,
          results: [
            { index: 0, name: 'd-0', status: 'created', device: device('d-0') },
            {
              index: 1,
              name: 'd-1',
              status: 'failed',
              error: { code: 'DEVICE_NAME_TAKEN', detail: 'taken' },
            },
          ],
        },
      }),
      { 'f.json': JSON.stringify(names(2)) },
    );
    expect(await h.run('devices', 'import', 'f.json')).toBe(1);
    expect(JSON.parse(h.stdout())).toMatchObject({ created: 1, failed: 1 });
    expect(h.stderr()).toBe('error: 1 of 2 devices were not created\n  [1] d-1: DEVICE_NAME_TAKEN taken\n');
  });

  it('stops at a refused chunk and names the fields by their index in the file', async () => {
    const h = harness(
      (call) =>
        h.calls.length === 1
          ? bulkOk(call)
          : {
              status: 400,
              body: {
                code: 'VALIDATION_FAILED',
                detail: 'invalid json',
                status: 400,
                errors: [{ field: 'devices.2.tags.0', message: 'bad tag' }],
              },
            },
      { 'f.json': JSON.stringify(names(1500)) },
    );
    expect(await h.run('devices', 'import', 'f.json')).toBe(1);
    expect(h.stderr()).toBe(
      'error VALIDATION_FAILED: devices 1000-1499 refused (1000 created before): invalid json\n' +
        '  devices.1002.tags.0: bad tag\n',
    );
  });

  it('refuses an unreadable or invalid file before calling the API', async () => {
    const h = harness(bulkOk, { 'bad.json': '[{"label":"x"}]' });
    expect(await h.run('devices', 'import', 'missing.json')).toBe(1);
    expect(await h.run('devices', 'import', 'bad.json')).toBe(1);
    expect(h.calls).toEqual([]);
    expect(h.stderr()).toContain("error: cannot read missing.json: ENOENT: no such file 'missing.json'");
    expect(h.stderr()).toContain('  [0].name: is required (a string)');
  });
});

describe('certflow api-keys', () => {
  it('creates a key with a role and prints the new key once', async () => {
    const apiKey = {
      id: 'abcdef0123456789',
      tenant_id: 't',
      name: 'ci',
      role: 'operator',
      created_at: 'x',
      revoked_at: null,
    };
    const h = harness(() => ({ status: 201, body: { apiKey, key: 'cf_abcdef0123456789_new' } }));
    expect(await h.run('api-keys', 'create', 'ci', '--role', 'operator')).toBe(0);
    expect(h.calls[0]).toMatchObject({
      method: 'POST',
      url: 'http://edge.test:8080/api/api-keys',
      body: { name: 'ci', role: 'operator' },
    });
    expect(JSON.parse(h.stdout())).toEqual({ apiKey, key: 'cf_abcdef0123456789_new' });
  });

  it('refuses an unknown role without calling the API', async () => {
    const h = harness(() => ({ status: 500, body: {} }));
    expect(await h.run('api-keys', 'create', 'ci', '--role', 'root')).toBe(1);
    expect(h.calls).toEqual([]);
    expect(h.stderr()).toMatch(/argument 'root' is invalid. Allowed choices are admin, operator, auditor/);
  });

  it('revokes with DELETE', async () => {
    const h = harness(() => ({
      status: 200,
      body: { id: 'abcdef0123456789', name: 'ci', role: 'auditor', revoked_at: 'now' },
    }));
    expect(await h.run('api-keys', 'revoke', 'abcdef0123456789')).toBe(0);
    expect(h.calls[0]).toMatchObject({
      method: 'DELETE',
      url: 'http://edge.test:8080/api/api-keys/abcdef0123456789',
    });
  });
});

describe('global behaviour', () => {
  it('never shows the API key in --help', async () => {
    const h = harness(() => ({ status: 500, body: {} }));
    expect(await h.run('--help')).toBe(0);
    expect(h.stdout()).toContain('--api-key <key>');
    expect(h.stdout()).not.toContain(KEY);
  });

  it('explains a non-problem failure (a proxy page) by its HTTP status', async () => {
    const h = harness(() => ({ status: 502, body: '<html>bad gateway</html>' }));
    expect(await h.run('api-keys', 'list')).toBe(1);
    expect(h.stderr()).toBe('error: GET /api/api-keys failed: HTTP 502\n');
  });
});
