import type { Client } from '@temporalio/client';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/http/app';
import { DEFAULT_RENEWAL, type RunProgress } from '../../domain/rotation';
import { eventually } from '../support/eventually';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { dialects } from '../support/registry';
import { type Fleet, provisionFleet, rotationTableCounts } from './fleet-fixture';

type Problem = { code: string; errors?: { field: string; message: string }[] };

describe.each(dialects)('rotation runs API on %s', (dialect) => {
  let p: TestPlatform;
  let fleet: Fleet;
  let op: string;

  beforeAll(async () => {
    p = await startTestPlatform(dialect);
    op = p.tenantA.keys.operator;
    fleet = await provisionFleet(p, op, `fleet-${dialect}`, 3);
  });
  afterAll(async () => {
    await p?.stop();
  });

  const start = (body: unknown, key = op) => p.call(key, 'POST', '/api/rotation-runs', body);
  const get = async (runId: string, key = op) =>
    (await (await p.call(key, 'GET', `/api/rotation-runs/${runId}`)).json()) as RunProgress;

  it('answers a dry run with the count, a sample and an estimate, and writes nothing', async () => {
    const before = await rotationTableCounts(p);
    const res = await start({
      selection: { caId: fleet.issuingCaId },
      options: { ratePerMinute: 2 },
      dryRun: true,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      dryRun: boolean;
      devices: number;
      sample: { deviceId: string; fingerprint: string }[];
      estimatedSeconds: number;
      estimate: string;
    };
    expect(body).toMatchObject({ dryRun: true, devices: 3, estimatedSeconds: 90 });
    expect(body.estimate).toMatch(/lower bound/);
    expect(body.sample.map((d) => d.deviceId).sort()).toEqual(fleet.devices.map((d) => d.id).sort());
    expect(body.sample.map((d) => d.fingerprint).sort()).toEqual(
      fleet.devices.map((d) => d.fingerprint).sort(),
    );
    expect(await rotationTableCounts(p)).toEqual(before);
  });

  it('names every invalid field, and refuses references outside the tenant', async () => {
    const empty = await start({ selection: {} });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as Problem).errors?.map((e) => e.field)).toEqual(['selection']);

    const bad = await start({
      selection: { expiringBefore: 'next tuesday', tags: [] },
      options: { concurrency: 0, deadlineSeconds: 5, ratePerMinute: -1, abortAfterFailures: -1 },
    });
    expect(bad.status).toBe(400);
    const problem = (await bad.json()) as Problem;
    expect(problem.code).toBe('VALIDATION_FAILED');
    expect(problem.errors?.map((e) => e.field).sort()).toEqual([
      'options.abortAfterFailures',
      'options.concurrency',
      'options.deadlineSeconds',
      'options.ratePerMinute',
      'selection.expiringBefore',
      'selection.tags',
    ]);

    // Tenant B's issuing CA exists, but not in tenant A.
    const foreign = await provisionFleet(p, p.tenantB.keys.operator, `foreign-${dialect}`, 0);
    const ref = await start({ selection: { productId: 'no-such-product', caId: foreign.issuingCaId } });
    expect(ref.status).toBe(422);
    const refProblem = (await ref.json()) as Problem;
    expect(refProblem.code).toBe('REFERENCE_NOT_FOUND');
    expect(refProblem.errors?.map((e) => e.field)).toEqual(['selection.productId', 'selection.caId']);
  });

  it('refuses a selection that matches nothing, without recording a run', async () => {
    const before = await rotationTableCounts(p);
    const res = await start({ selection: { expiringBefore: '2000-01-01T00:00:00Z' } });
    expect(res.status).toBe(422);
    expect(((await res.json()) as Problem).code).toBe('RUN_EMPTY');
    expect(await rotationTableCounts(p)).toEqual(before);
  });

  it('keeps per-class renewal settings, filled with defaults and validated', async () => {
    const created = await p.call(op, 'POST', '/api/device-classes', {
      name: `renewing-${dialect}`,
      renewal: { enabled: true, windowFraction: 0.25, issuingCaId: fleet.issuingCaId },
    });
    expect(created.status).toBe(201);
    const cls = (await created.json()) as { id: string; renewal: Record<string, unknown> };
    expect(cls.renewal).toEqual({
      ...DEFAULT_RENEWAL,
      enabled: true,
      windowFraction: 0.25,
      issuingCaId: fleet.issuingCaId,
    });
    const plain = await p.call(op, 'POST', '/api/device-classes', { name: `plain-${dialect}` });
    expect(((await plain.json()) as { renewal: unknown }).renewal).toEqual(DEFAULT_RENEWAL);

    const patched = await p.call(op, 'PATCH', `/api/device-classes/${cls.id}`, {
      renewal: { concurrency: 5, ratePerMinute: 30 },
    });
    expect(patched.status).toBe(200);
    const shown = (await (
      await p.call(p.tenantA.keys.auditor, 'GET', `/api/device-classes/${cls.id}`)
    ).json()) as {
      renewal: Record<string, unknown>;
    };
    expect(shown.renewal).toMatchObject({
      enabled: true,
      windowFraction: 0.25,
      concurrency: 5,
      ratePerMinute: 30,
    });
    const stored = await p.registry.db
      .selectFrom('device_classes')
      .select('renewal')
      .where('id', '=', cls.id)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(stored.renewal)).toMatchObject({ enabled: true, concurrency: 5 });

    const invalid = await p.call(op, 'PATCH', `/api/device-classes/${cls.id}`, {
      renewal: { windowFraction: 0, concurrency: 0, surprise: true },
    });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as Problem).errors?.map((e) => e.field).sort()).toEqual([
      'renewal',
      'renewal.concurrency',
      'renewal.windowFraction',
    ]);
    const foreignCa = await p.call(p.tenantB.keys.operator, 'POST', '/api/device-classes', {
      name: 'steals-a-ca',
      renewal: { issuingCaId: fleet.issuingCaId },
    });
    expect(foreignCa.status).toBe(422);
    expect(((await foreignCa.json()) as Problem).code).toBe('REFERENCE_NOT_FOUND');
    const auditorPatch = await p.call(p.tenantA.keys.auditor, 'PATCH', `/api/device-classes/${cls.id}`, {
      renewal: { enabled: false },
    });
    expect(auditorPatch.status).toBe(403);
    expect((await p.call(p.tenantB.keys.operator, 'PATCH', `/api/device-classes/${cls.id}`, {})).status).toBe(
      404,
    );
  });

  it('records a run as failed and answers 503 when its workflow cannot start', async () => {
    const broken = createApp({
      db: p.registry.db,
      temporal: {
        client: {
          workflow: { start: () => Promise.reject(new Error('temporal is down')) },
        } as unknown as Client,
        taskQueue: p.taskQueue,
      },
      workflowAnswerTimeoutMs: 1000,
      logger: pino({ level: 'silent' }),
      health: { database: () => Promise.resolve(), temporal: () => Promise.resolve() },
    });
    const res = await broken.request('/api/rotation-runs', {
      method: 'POST',
      headers: { authorization: `Bearer ${op}`, 'content-type': 'application/json' },
      body: JSON.stringify({ selection: { caId: fleet.issuingCaId } }),
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as Problem).code).toBe('DEPENDENCY_UNAVAILABLE');
    const row = await p.registry.db
      .selectFrom('rotation_runs')
      .selectAll()
      .where('tenant_id', '=', p.tenantA.id)
      .orderBy('created_at', 'desc')
      .executeTakeFirstOrThrow();
    expect(row.finished_at).not.toBeNull();
    expect(row.status_reason).toContain('temporal is down');
    const shown = await get(row.id);
    expect(shown.status).not.toBe('running');
  });

  it('describes every rotation and revocation route in /openapi.json', async () => {
    const doc = (await (await p.app.request('/openapi.json')).json()) as { paths: Record<string, unknown> };
    for (const path of [
      '/api/rotation-runs',
      '/api/rotation-runs/{id}',
      '/api/rotation-runs/{id}/items',
      '/api/rotation-runs/{id}/report',
      '/api/rotation-runs/{id}/pause',
      '/api/rotation-runs/{id}/resume',
      '/api/rotation-runs/{id}/cancel',
      '/api/devices/{id}/revoke',
      '/api/devices/{id}/certificates',
      '/api/devices/{id}/certificates/{fingerprint}/revoke',
      '/api/devices/{id}/rotate',
    ]) {
      expect(doc.paths).toHaveProperty([path]);
    }
  });

  it('lets auditors read runs but not start them', async () => {
    const refused = await start({ selection: { caId: fleet.issuingCaId } }, p.tenantA.keys.auditor);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as Problem).code).toBe('FORBIDDEN');
    expect((await p.call(p.tenantA.keys.auditor, 'GET', '/api/rotation-runs')).status).toBe(200);
  });

  it('runs to the end: devices that never answer roll back at the deadline, with reasons in the report', async () => {
    const res = await start({
      selection: { caId: fleet.issuingCaId },
      options: { deadlineSeconds: 10, concurrency: 3 },
    });
    expect(res.status).toBe(202);
    const run = (await res.json()) as RunProgress;
    expect(res.headers.get('location')).toBe(`/api/rotation-runs/${run.runId}`);
    expect(run).toMatchObject({ status: 'running', options: { concurrency: 3, deadlineSeconds: 10 } });
    const row = await p.registry.db
      .selectFrom('rotation_runs')
      .selectAll()
      .where('id', '=', run.runId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      tenant_id: p.tenantA.id,
      source: 'api',
      workflow_id: `rotation-run/${p.tenantA.id}/${run.runId}`,
    });

    // Tenant B sees nothing of it and cannot control it.
    const b = p.tenantB.keys.operator;
    expect((await p.call(b, 'GET', `/api/rotation-runs/${run.runId}`)).status).toBe(404);
    expect((await p.call(b, 'GET', `/api/rotation-runs/${run.runId}/items`)).status).toBe(404);
    const foreignPause = await p.call(b, 'POST', `/api/rotation-runs/${run.runId}/pause`);
    expect(((await foreignPause.json()) as Problem).code).toBe('ROTATION_NOT_FOUND');
    const listB = (await (await p.call(b, 'GET', '/api/rotation-runs')).json()) as { runs: RunProgress[] };
    expect(listB.runs.map((r) => r.runId)).not.toContain(run.runId);

    const done = await eventually(
      () => get(run.runId),
      (r) => r.status === 'completed',
      90_000,
    );
    expect(done.total).toBe(3);
    expect(done.counts).toMatchObject({ succeeded: 0, pending: 0, in_progress: 0, rolled_back: 3 });
    expect(done.finishedAt).not.toBeNull();

    const items = (await (
      await p.call(op, 'GET', `/api/rotation-runs/${run.runId}/items?state=rolled_back&limit=2`)
    ).json()) as { items: { deviceId: string; reason: string; seq: number }[]; next: number | null };
    expect(items.items).toHaveLength(2);
    expect(items.next).toBe(items.items[1]?.seq);
    const rest = (await (
      await p.call(op, 'GET', `/api/rotation-runs/${run.runId}/items?state=rolled_back&after=${items.next}`)
    ).json()) as { items: { deviceId: string }[] };
    expect([...items.items, ...rest.items].map((i) => i.deviceId).sort()).toEqual(
      fleet.devices.map((d) => d.id).sort(),
    );

    const report = (await (
      await p.call(p.tenantA.keys.auditor, 'GET', `/api/rotation-runs/${run.runId}/report`)
    ).json()) as {
      final: boolean;
      run: RunProgress;
      problems: { state: string; reason: string }[];
    };
    expect(report.final).toBe(true);
    expect(report.run.status).toBe('completed');
    expect(report.problems).toHaveLength(3);
    for (const item of report.problems) expect(item.reason).toMatch(/^DEADLINE: /);

    // Every device kept exactly its one old, active certificate.
    for (const d of fleet.devices) {
      const active = await p.registry.db
        .selectFrom('certificates')
        .select('fingerprint_sha256')
        .where('device_id', '=', d.id)
        .where('status', '=', 'active')
        .execute();
      expect(active.map((c) => c.fingerprint_sha256)).toEqual([d.fingerprint]);
    }

    const late = await p.call(op, 'POST', `/api/rotation-runs/${run.runId}/pause`);
    expect(late.status).toBe(409);
    expect(((await late.json()) as Problem).code).toBe('RUN_WRONG_STATE');
  });
});

describe('pausing, resuming and cancelling a run over HTTP', () => {
  let p: TestPlatform;
  let fleet: Fleet;
  beforeAll(async () => {
    p = await startTestPlatform('sqlite');
    fleet = await provisionFleet(p, p.tenantA.keys.operator, 'ctl', 4);
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('pauses, resumes and cancels; devices never started end cancelled', async () => {
    const op = p.tenantA.keys.operator;
    const res = await p.call(op, 'POST', '/api/rotation-runs', {
      selection: { deviceIds: fleet.devices.map((d) => d.id) },
      // One device at a time, one a minute, each waiting long: the run stays busy.
      options: { concurrency: 1, ratePerMinute: 1, deadlineSeconds: 3600 },
    });
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as RunProgress;
    const path = `/api/rotation-runs/${runId}`;
    const progress = async () => (await (await p.call(op, 'GET', path)).json()) as RunProgress;
    await eventually(progress, (r) => r.total === 4 && r.counts.in_progress === 1, 60_000);

    expect((await p.call(p.tenantA.keys.auditor, 'POST', `${path}/pause`)).status).toBe(403);
    const paused = await p.call(op, 'POST', `${path}/pause`);
    expect(paused.status).toBe(200);
    expect(((await paused.json()) as RunProgress).status).toBe('paused');
    expect((await progress()).status).toBe('paused');

    const resumed = await p.call(op, 'POST', `${path}/resume`);
    expect(((await resumed.json()) as RunProgress).status).toBe('running');
    expect((await progress()).status).toBe('running');

    const badReason = await p.call(op, 'POST', `${path}/cancel`, { reason: 'x'.repeat(501) });
    expect(badReason.status).toBe(400);

    const cancelled = await p.call(op, 'POST', `${path}/cancel`, { reason: 'wrong selection' });
    expect(cancelled.status).toBe(200);
    expect(((await cancelled.json()) as RunProgress).status).toBe('cancelled');
    const final = await eventually(
      progress,
      (r) => r.status === 'cancelled' && r.counts.in_progress === 0,
      60_000,
    );
    expect(final.statusReason).toContain('wrong selection');
    expect(final.counts.cancelled).toBe(3);
    expect(final.counts.rolled_back).toBe(1);
    expect(final.counts.pending).toBe(0);

    const report = (await (await p.call(op, 'GET', `${path}/report`)).json()) as {
      final: boolean;
      problems: { state: string; reason: string | null }[];
    };
    expect(report.final).toBe(true);
    expect(report.problems.map((i) => i.state).sort()).toEqual([
      'cancelled',
      'cancelled',
      'cancelled',
      'rolled_back',
    ]);

    expect((await p.call(op, 'POST', `${path}/resume`)).status).toBe(409);
    const list = (await (await p.call(op, 'GET', '/api/rotation-runs')).json()) as { runs: RunProgress[] };
    expect(list.runs[0]?.runId).toBe(runId);
  });
});
