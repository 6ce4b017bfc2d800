import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeviceWorkflowId } from '../../domain/ids';
import { getDeviceById } from '../../registry/devices';
import { findDeviceByCredential } from '../../registry/devices';
import { sha256Hex } from '../../registry/secrets';
import { type TestPlatform, startTestPlatform } from '../support/platform';
import { countRows, dialects } from '../support/registry';
import { eventually } from '../support/eventually';

interface CreatedBody {
  device: { id: string; name: string; tenantId: string; tags: string[] };
  workflowId: string;
  accessToken?: string;
}

async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

describe.each(dialects)('devices API on %s', (dialect) => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await startTestPlatform(dialect);
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('creates a device through a completed workflow, writes it and its audit event', async () => {
    const res = await p.call(p.tenantA.keys.operator, 'POST', '/api/devices', {
      name: 'sensor-1',
      label: 'Boiler room',
      tags: ['north', 'v2'],
      attributes: { fw: '1.2.3', floor: 2 },
    });
    expect(res.status).toBe(201);
    const body = await json<CreatedBody>(res);
    expect(body.device).toMatchObject({ name: 'sensor-1', tenantId: p.tenantA.id, tags: ['north', 'v2'] });
    expect(body.workflowId).toBe(createDeviceWorkflowId(p.tenantA.id, 'sensor-1'));
    expect(body.accessToken).toBeUndefined();

    const row = await getDeviceById(p.registry.db, p.tenantA.id, body.device.id);
    expect(row?.name).toBe('sensor-1');
    const described = await p.client.workflow.getHandle(body.workflowId).describe();
    expect(described.status.name).toBe('COMPLETED');
    expect(described.typedSearchAttributes.get({ name: 'CertflowDevice', type: 'KEYWORD' })).toBe(
      body.device.id,
    );

    const history = await eventually(
      async () =>
        json<{
          workflows: { workflowId: string; status: string }[];
          auditEvents: { type: string; workflowId: string }[];
        }>(await p.call(p.tenantA.keys.auditor, 'GET', `/api/devices/${body.device.id}/history`)),
      (h) => h.workflows.length === 1,
    );
    expect(history.workflows).toEqual([
      expect.objectContaining({ workflowId: body.workflowId, status: 'COMPLETED' }),
    ]);
    expect(history.auditEvents).toEqual([
      expect.objectContaining({ type: 'device.created', workflowId: body.workflowId }),
    ]);
  });

  it('exports the full workflow history as JSON', async () => {
    const created = await json<CreatedBody>(
      await p.call(p.tenantA.keys.operator, 'POST', '/api/devices', { name: 'sensor-hist' }),
    );
    const history = await eventually(
      async () =>
        json<{ workflows: { history?: { events: { eventType: string }[] } }[] }>(
          await p.call(p.tenantA.keys.auditor, 'GET', `/api/devices/${created.device.id}/history?full=true`),
        ),
      (h) => h.workflows.length === 1,
    );
    const types = history.workflows[0]?.history?.events.map((e) => e.eventType) ?? [];
    expect(types[0]).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');
    // One step (device and audit event), a local activity: its result is a marker in the history.
    expect(types.filter((t) => t === 'EVENT_TYPE_MARKER_RECORDED')).toHaveLength(1);
    expect(types).not.toContain('EVENT_TYPE_ACTIVITY_TASK_SCHEDULED');
    expect(types.at(-1)).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
  });

  it('refuses a taken name with 409 and writes nothing more', async () => {
    await p.call(p.tenantA.keys.operator, 'POST', '/api/devices', { name: 'dup-1' });
    const before = await countRows(p.registry, 'devices');
    const res = await p.call(p.tenantA.keys.operator, 'POST', '/api/devices', { name: 'dup-1' });
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await json<{ code: string }>(res)).toMatchObject({ code: 'DEVICE_NAME_TAKEN' });
    expect(await countRows(p.registry, 'devices')).toBe(before);
  });

  it('turns 20 concurrent creates of one name into exactly one device', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        p.call(p.tenantA.keys.operator, 'POST', '/api/devices', { name: 'racer' }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s !== 201).every((s) => s === 409)).toBe(true);
    const rows = await p.registry.db
      .selectFrom('devices')
      .select('id')
      .where('tenant_id', '=', p.tenantA.id)
      .where('name', '=', 'racer')
      .execute();
    expect(rows).toHaveLength(1);
  });

  it('gives a device an access token, generated once or supplied, stored only as a hash', async () => {
    const generated = await json<CreatedBody>(
      await p.call(p.tenantA.keys.operator, 'POST', '/api/devices', { name: 'tok-gen', accessToken: {} }),
    );
    expect(generated.accessToken).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const found = await findDeviceByCredential(
      p.registry.db,
      'ACCESS_TOKEN',
      sha256Hex(generated.accessToken ?? ''),
    );
    expect(found?.deviceId).toBe(generated.device.id);
    const stored = await p.registry.db.selectFrom('device_credentials').select('lookup_key').execute();
    expect(JSON.stringify(stored)).not.toContain(generated.accessToken);

    const supplied = await p.call(p.tenantA.keys.operator, 'POST', '/api/devices', {
      name: 'tok-own',
      accessToken: { token: 'device-supplied-token-0001' },
    });
    expect(supplied.status).toBe(201);
    expect((await json<CreatedBody>(supplied)).accessToken).toBeUndefined();
    const reused = await p.call(p.tenantA.keys.operator, 'POST', '/api/devices', {
      name: 'tok-thief',
      accessToken: { token: 'device-supplied-token-0001' },
    });
    expect(reused.status).toBe(409);
    expect(await json<{ code: string }>(reused)).toMatchObject({ code: 'CREDENTIAL_TAKEN' });
    expect(await getDeviceByName(p, 'tok-thief')).toBeUndefined();
  });

  it('creates in bulk with a result per item, in order, without stopping at failures', async () => {
    await p.call(p.tenantA.keys.operator, 'POST', '/api/devices', { name: 'bulk-existing' });
    const res = await p.call(p.tenantA.keys.operator, 'POST', '/api/devices/bulk', {
      devices: [
        { name: 'bulk-1' },
        { name: 'bulk-existing' },
        { name: 'bulk-2', tags: ['x'] },
        { name: 'bulk-1' },
      ],
    });
    expect(res.status).toBe(200);
    const body = await json<{
      created: number;
      failed: number;
      results: { index: number; status: string; error?: { code: string } }[];
    }>(res);
    expect(body.created).toBe(2);
    expect(body.failed).toBe(2);
    expect(body.results.map((r) => [r.index, r.status, r.error?.code])).toEqual([
      [0, 'created', undefined],
      [1, 'failed', 'DEVICE_NAME_TAKEN'],
      [2, 'created', undefined],
      [3, 'failed', 'DEVICE_NAME_TAKEN'],
    ]);
  });

  it('rejects a bulk request with one invalid item as a whole, naming the field', async () => {
    const before = await countRows(p.registry, 'devices');
    const res = await p.call(p.tenantA.keys.operator, 'POST', '/api/devices/bulk', {
      devices: [{ name: 'ok-name' }, { name: 'bad#name' }],
    });
    expect(res.status).toBe(400);
    const problem = await json<{ code: string; errors: { field: string }[] }>(res);
    expect(problem.code).toBe('VALIDATION_FAILED');
    expect(problem.errors.map((e) => e.field)).toEqual(['devices.1.name']);
    expect(await countRows(p.registry, 'devices')).toBe(before);
  });

  it('isolates tenants: B cannot see or touch A’s devices, and may reuse the name', async () => {
    const a = await json<CreatedBody>(
      await p.call(p.tenantA.keys.operator, 'POST', '/api/devices', { name: 'shared-name' }),
    );
    expect((await p.call(p.tenantB.keys.admin, 'GET', `/api/devices/${a.device.id}`)).status).toBe(404);
    expect((await p.call(p.tenantB.keys.admin, 'GET', `/api/devices/${a.device.id}/history`)).status).toBe(
      404,
    );
    const listB = await json<{ devices: { id: string }[] }>(
      await p.call(p.tenantB.keys.admin, 'GET', '/api/devices'),
    );
    expect(listB.devices.map((d) => d.id)).not.toContain(a.device.id);
    const b = await p.call(p.tenantB.keys.operator, 'POST', '/api/devices', { name: 'shared-name' });
    expect(b.status).toBe(201);
    expect((await json<CreatedBody>(b)).device.tenantId).toBe(p.tenantB.id);
  });

  it('refuses references to another tenant’s product with 422', async () => {
    const product = await json<{ id: string }>(
      await p.call(p.tenantB.keys.operator, 'POST', '/api/products', { name: 'b-product' }),
    );
    const res = await p.call(p.tenantA.keys.operator, 'POST', '/api/devices', {
      name: 'x-ref',
      productId: product.id,
    });
    expect(res.status).toBe(422);
    expect(await json<{ code: string; errors: { field: string }[] }>(res)).toMatchObject({
      code: 'REFERENCE_NOT_FOUND',
      errors: [{ field: 'productId' }],
    });
    const own = await json<{ id: string }>(
      await p.call(p.tenantA.keys.operator, 'POST', '/api/products', { name: 'a-product' }),
    );
    const ok = await p.call(p.tenantA.keys.operator, 'POST', '/api/devices', {
      name: 'x-ref',
      productId: own.id,
    });
    expect(ok.status).toBe(201);
  });

  it('enforces roles: auditors read, operators write, only admins manage keys', async () => {
    expect((await p.call(p.tenantA.keys.auditor, 'POST', '/api/devices', { name: 'nope' })).status).toBe(403);
    expect((await p.call(p.tenantA.keys.auditor, 'GET', '/api/devices')).status).toBe(200);
    expect((await p.call(p.tenantA.keys.operator, 'GET', '/api/api-keys')).status).toBe(403);
    expect((await p.call(p.tenantA.keys.admin, 'GET', '/api/api-keys')).status).toBe(200);
  });

  it('requires a valid, unrevoked API key', async () => {
    expect((await p.call(undefined, 'GET', '/api/devices')).status).toBe(401);
    const forged = p.tenantA.keys.admin.slice(0, -4) + 'AAAA';
    expect((await p.call(forged, 'GET', '/api/devices')).status).toBe(401);
    const created = await json<{ apiKey: { id: string }; key: string }>(
      await p.call(p.tenantA.keys.admin, 'POST', '/api/api-keys', { name: 'temp', role: 'auditor' }),
    );
    expect((await p.call(created.key, 'GET', '/api/devices')).status).toBe(200);
    expect((await p.call(p.tenantA.keys.admin, 'DELETE', `/api/api-keys/${created.apiKey.id}`)).status).toBe(
      200,
    );
    expect((await p.call(created.key, 'GET', '/api/devices')).status).toBe(401);
    const listed = await p.call(p.tenantA.keys.admin, 'GET', '/api/api-keys');
    expect(await listed.text()).not.toMatch(/secret_hash|cf_[0-9a-f]{16}_/);
  });

  it('answers bad input with problem+json naming the field, and unknown routes with 404', async () => {
    const bad = await p.call(p.tenantA.keys.operator, 'POST', '/api/devices', {
      name: 'x'.repeat(200),
      tags: ['ok', '!bad'],
    });
    expect(bad.status).toBe(400);
    const problem = await json<{ code: string; errors: { field: string }[]; requestId: string }>(bad);
    expect(problem.errors.map((e) => e.field).sort()).toEqual(['name', 'tags.1']);
    expect(problem.requestId).toBe(bad.headers.get('x-request-id'));
    const malformed = await p.call(p.tenantA.keys.operator, 'POST', '/api/devices', '{"name":');
    expect(await json<{ code: string }>(malformed)).toMatchObject({ code: 'MALFORMED_JSON' });
    const missing = await p.call(p.tenantA.keys.operator, 'GET', '/api/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
  });
});

async function getDeviceByName(p: TestPlatform, name: string) {
  return p.registry.db.selectFrom('devices').selectAll().where('name', '=', name).executeTakeFirst();
}
