import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RotationOptions, RotationSelection } from '../../domain/rotation';
import { isRenewalDue } from '../../domain/rotation';
import type { Registry } from '../../registry/connect';
import { newId } from '../../registry/ids';
import { renewalRunId } from '../../registry/renewal';
import { insertPendingItems } from '../../registry/run-items';
import {
  countDevicesForRotation,
  createRotationRun,
  getRotationRun,
  listRotationRuns,
  listRunItems,
  markRunStartFailed,
  selectDevicesForRotation,
} from '../../registry/runs';
import { dialects, freshRegistry } from '../support/registry';
import { createWorld, seedDevices, type World } from './rotation-fixture';

const OPTIONS: RotationOptions = {
  concurrency: 5,
  ratePerMinute: null,
  deadlineSeconds: 60,
  abortAfterFailures: null,
  issuingCaId: null,
};

describe.each(dialects)('rotation runs in the registry on %s', (dialect) => {
  let r: Registry & { dispose(): Promise<void> };
  let w: World;
  beforeAll(async () => {
    r = await freshRegistry(dialect);
    w = await createWorld(r.db);
  });
  afterAll(async () => {
    await r?.dispose();
  });

  async function newRun(selection: RotationSelection): Promise<string> {
    const runId = newId();
    await createRotationRun(r.db, {
      id: runId,
      tenantId: w.tenantId,
      source: 'api',
      selection,
      options: OPTIONS,
      createdBy: 'test',
      workflowId: `rotation-run/${w.tenantId}/${runId}`,
    });
    return runId;
  }

  async function all(selection: RotationSelection, limit = 1000): Promise<string[]> {
    const ids: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await selectDevicesForRotation(r.db, w.tenantId, selection, {
        limit,
        afterDeviceId: after,
      });
      ids.push(...page.map((d) => d.deviceId));
      if (page.length < limit) return ids;
      after = page.at(-1)!.deviceId;
    }
  }

  it('selects by product, cohort, class, tags, CA, expiry and explicit ids, combined with AND', async () => {
    const t = w.tenantId;
    const plain = await seedDevices(r.db, 3, { tenantId: t });
    const product = await seedDevices(r.db, 2, { tenantId: t, productId: w.productId, tags: ['Prod'] });
    const cohort = await seedDevices(r.db, 2, {
      tenantId: t,
      productId: w.productId,
      cohortId: w.cohortId,
      tags: ['prod', 'eu_west'],
    });
    const klass = await seedDevices(r.db, 2, { tenantId: t, classId: w.classId, issuingCaId: w.issuingCaId });
    const expiring = await seedDevices(r.db, 2, { tenantId: t, notAfter: '2026-12-01T00:00:00.000Z' });
    const revoked = await seedDevices(r.db, 1, { tenantId: t, productId: w.productId, status: 'revoked' });
    await seedDevices(r.db, 2, { tenantId: w.otherTenantId });
    const ids = (xs: { deviceId: string }[]) => xs.map((x) => x.deviceId).sort();

    expect(await all({ productId: w.productId })).toEqual(ids([...product, ...cohort]));
    expect(await all({ cohortId: w.cohortId })).toEqual(ids(cohort));
    expect(await all({ deviceClassId: w.classId })).toEqual(ids(klass));
    expect(await all({ tags: ['prod'] })).toEqual(ids(cohort)); // exact case, even on SQLite
    expect(await all({ tags: ['prod', 'eu_west'] })).toEqual(ids(cohort));
    expect(await all({ tags: ['euxwest'] })).toEqual([]); // `_` is not a wildcard
    expect(await all({ caId: w.issuingCaId })).toEqual(ids(klass));
    expect(await all({ expiringBefore: '2027-01-01T00:00:00Z' })).toEqual(ids(expiring));
    expect(await all({ expiringBefore: '2027-01-01', productId: w.productId })).toEqual([]);
    const everyone = ids([...plain, ...product, ...cohort, ...klass, ...expiring]);
    expect(await all({})).toEqual(everyone);
    expect(await all({}, 2)).toEqual(everyone); // paging: no gaps, no repeats
    expect(await countDevicesForRotation(r.db, t, {})).toBe(everyone.length);
    expect(await countDevicesForRotation(r.db, t, { tags: ['prod'] })).toBe(2);
    // Explicit ids: unknown, other-tenant and revoked ids drop out; long lists are chunked.
    const padding = Array.from({ length: 1200 }, () => newId());
    const explicit = {
      deviceIds: [...padding, plain[0]!.deviceId, revoked[0]!.deviceId, cohort[1]!.deviceId],
    };
    expect(await all(explicit, 1)).toEqual(ids([plain[0]!, cohort[1]!]));
    expect(await countDevicesForRotation(r.db, t, explicit)).toBe(2);
    expect(await all({ ...explicit, productId: w.productId })).toEqual([cohort[1]!.deviceId]);
    const [first] = await selectDevicesForRotation(r.db, t, { cohortId: w.cohortId }, { limit: 1 });
    expect(first).toEqual({
      deviceId: cohort[0]!.deviceId,
      deviceName: cohort[0]!.name,
      fingerprint: cohort[0]!.fingerprint,
      notAfter: '2031-01-01T00:00:00.000Z',
    });
  });

  it('materializes a run idempotently and resumes an interrupted materialization', async () => {
    const devices = await seedDevices(r.db, 2300, { tenantId: w.tenantId, tags: ['big'] });
    const runId = await newRun({ tags: ['big'] });
    expect(await getRotationRun(r.db, w.tenantId, runId)).toMatchObject({ status: 'running', total: 0 });
    // A worker died after writing the first page.
    await insertPendingItems(
      r.db,
      { tenantId: w.tenantId, runId },
      devices.slice(0, 1000).map((d) => d.deviceId),
      0,
    );
    expect(await w.activities.materializeRun({ tenantId: w.tenantId, runId })).toEqual({ total: 2300 });
    expect(await w.activities.materializeRun({ tenantId: w.tenantId, runId })).toEqual({ total: 2300 });
    const items = await listRunItems(r.db, w.tenantId, runId, { limit: 5000 });
    expect(items.map((i) => i.seq)).toEqual(devices.map((_, i) => i + 1));
    expect(items.map((i) => i.deviceId)).toEqual(devices.map((d) => d.deviceId));
    const progress = await getRotationRun(r.db, w.tenantId, runId);
    expect(progress).toMatchObject({ total: 2300, counts: { pending: 2300 }, selection: { tags: ['big'] } });

    const next = await w.activities.nextRunItems({ runId, afterSeq: 1998, limit: 3 });
    expect(next).toEqual([1999, 2000, 2001].map((seq) => ({ seq, deviceId: devices[seq - 1]!.deviceId })));
    await w.activities.setRunStatus({ tenantId: w.tenantId, runId, status: 'paused', reason: 'operator' });
    expect(await getRotationRun(r.db, w.tenantId, runId)).toMatchObject({
      status: 'paused',
      statusReason: 'operator',
    });
    expect(await w.activities.cancelPendingItems({ runId, reason: 'cancelled by operator' })).toBe(2300);
    expect(await w.activities.cancelPendingItems({ runId, reason: 'cancelled by operator' })).toBe(0);
    const counts = await w.activities.finishRun({
      tenantId: w.tenantId,
      runId,
      status: 'cancelled',
      reason: 'op',
    });
    expect(counts).toMatchObject({ cancelled: 2300, pending: 0 });
    expect(
      await w.activities.finishRun({ tenantId: w.tenantId, runId, status: 'completed', reason: null }),
    ).toEqual(counts);
    const done = await getRotationRun(r.db, w.tenantId, runId);
    expect(done).toMatchObject({ status: 'cancelled', counts: { cancelled: 2300 } });
    expect(done?.finishedAt).not.toBeNull();
    expect(await listRunItems(r.db, w.tenantId, runId, { state: 'cancelled', limit: 1 })).toMatchObject([
      { reason: 'cancelled by operator', seq: 1 },
    ]);
    expect(await getRotationRun(r.db, w.otherTenantId, runId)).toBeUndefined();
  });

  it('lists runs newest first with exact counts, and records a failed start', async () => {
    const a = await newRun({ deviceIds: [] });
    const b = await newRun({ deviceIds: [] });
    await markRunStartFailed(r.db, w.tenantId, b, 'DEPENDENCY_UNAVAILABLE: temporal is down');
    const page1 = await listRotationRuns(r.db, w.tenantId, { limit: 1 });
    expect(page1.map((p) => p.runId)).toEqual([b]);
    expect(page1[0]?.status).toBe('aborted');
    expect(page1[0]?.statusReason).toContain('temporal');
    const page2 = await listRotationRuns(r.db, w.tenantId, { limit: 1, after: b });
    expect(page2.map((p) => p.runId)).toEqual([a]);
    expect(await listRotationRuns(r.db, w.otherTenantId, { limit: 10 })).toEqual([]);
  });

  it('plans renewal runs over exactly the due devices, once per sweep', async () => {
    const klass = newId();
    await r.db
      .insertInto('device_classes')
      .values({
        id: klass,
        tenant_id: w.tenantId,
        name: `renewing-${klass}`,
        policy: '{}',
        renewal: JSON.stringify({ enabled: true, windowFraction: 0.5, jitterFraction: 0.2, concurrency: 7 }),
        created_at: new Date().toISOString(),
      })
      .execute();
    const now = new Date('2030-09-01T00:00:00Z');
    // Lifetime 2030-01-01 .. 2031-01-01: window starts 2030-07-02, jitter up to ~36 days later.
    const lifetime = { notBefore: '2030-01-01T00:00:00.000Z', notAfter: '2031-01-01T00:00:00.000Z' };
    const candidates = await seedDevices(r.db, 40, { tenantId: w.tenantId, classId: klass, ...lifetime });
    const fresh = await seedDevices(r.db, 5, {
      tenantId: w.tenantId,
      classId: klass,
      notBefore: '2030-08-01T00:00:00.000Z',
      notAfter: '2031-08-01T00:00:00.000Z',
    });
    const due = candidates.filter((d) =>
      isRenewalDue(now, new Date(lifetime.notBefore), new Date(lifetime.notAfter), d.deviceId, {
        windowFraction: 0.5,
        jitterFraction: 0.2,
      }),
    );
    expect(due.length).toBe(40); // 2030-09-01 is past every jittered start
    // One is rotating already, one sits in another unfinished run: neither is planned again.
    const rotating = candidates[0]!;
    await w.activities.beginDeviceRotation({
      tenantId: w.tenantId,
      deviceId: rotating.deviceId,
      rotationId: 'r1',
      workflowId: 'wf-r1',
      runId: null,
      deadline: '2099-01-01T00:00:00.000Z',
      issuingCaId: w.issuingCaId,
      reason: 'test',
    });
    const busyRun = await newRun({ deviceIds: [candidates[1]!.deviceId] });
    await w.activities.materializeRun({ tenantId: w.tenantId, runId: busyRun });
    const expected = candidates.slice(2).map((d) => d.deviceId);

    const sweep = { sweepId: `renewal-sweep-${newId()}`, now: now.toISOString() };
    const runs = await w.activities.planRenewalRuns(sweep);
    const runId = renewalRunId(sweep.sweepId, klass);
    expect(runId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(runs.map((x) => [x.tenantId, x.runId, x.options.concurrency])).toEqual([[w.tenantId, runId, 7]]);
    const items = await listRunItems(r.db, w.tenantId, runId, { limit: 100 });
    expect(items.map((i) => i.deviceId)).toEqual(expected);
    expect(items.map((i) => i.deviceId)).not.toContain(fresh[0]!.deviceId);
    expect(await getRotationRun(r.db, w.tenantId, runId)).toMatchObject({ total: 38, status: 'running' });
    expect(await w.activities.planRenewalRuns(sweep)).toEqual(runs);
    expect(await listRunItems(r.db, w.tenantId, runId, { limit: 100 })).toHaveLength(38);
    const row = await r.db.selectFrom('rotation_runs').selectAll().where('id', '=', runId).executeTakeFirst();
    expect(row).toMatchObject({ source: 'schedule', materialized: 1 });
    // A later sweep while that run is unfinished plans nothing new for these devices.
    const later = { sweepId: `renewal-sweep-${newId()}`, now: sweep.now };
    expect(await w.activities.planRenewalRuns(later)).toEqual([]);
  });
});
