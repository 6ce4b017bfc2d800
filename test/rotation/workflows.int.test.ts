import {
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  WithStartWorkflowOperation,
  WorkflowIdConflictPolicy,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RENEWAL_SCHEDULE_ID, revokeWorkflowId, rotateDeviceWorkflowId } from '../../domain/ids';
import { DEFAULT_RENEWAL, type RenewalSettings, type RevokeInput } from '../../domain/rotation';
import { newId } from '../../registry/ids';
import { getPendingRotation } from '../../registry/rotations';
import { ensureRenewalSchedule } from '../../runtime/renewal-schedule';
import { listRunItems } from '../../registry/runs';
import {
  cancelRunUpdate,
  certificateInUseSignal,
  pauseRunUpdate,
  resumeRunUpdate,
  rotationPhaseQuery,
  runStateQuery,
  submitCsrUpdate,
} from '../../workflows/definitions';
import type { revokeDeviceWorkflow } from '../../workflows/revoke-device';
import { eventually } from '../support/eventually';
import { dialects } from '../support/registry';
import {
  csrPem,
  type DeviceBehaviour,
  playDevices,
  type RotationBench,
  runEnds,
  startRotationBench,
  type TestDevice,
} from './workflow-fixtures';

/** The failure type an update was refused with (validator or handler). */
async function refusal(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (err as WorkflowUpdateFailedError).cause;
    return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : String(cause);
  }
  throw new Error('expected the update to be refused');
}

describe.each(dialects)('per-device rotation on %s', (dialect) => {
  let b: RotationBench;
  beforeAll(async () => {
    b = await startRotationBench(dialect);
  });
  afterAll(async () => {
    await b?.p.stop();
  });

  it('switches to the new certificate only after its first use, then revokes the old one', async () => {
    const d = await b.device('happy');
    const handle = await b.startRotation(d);
    await eventually(
      () => handle.query(rotationPhaseQuery),
      (phase) => phase === 'awaiting_csr',
    );
    const issued = await handle.executeUpdate(submitCsrUpdate, { args: [{ csrPem: await csrPem() }] });
    expect(new X509Certificate(issued.certificatePem).subject).toBe(`CN=${d.name}`);
    // Make before break: both valid during the overlap.
    expect((await b.activeCertificates(d.deviceId)).sort()).toEqual(
      [d.fingerprint, issued.fingerprintSha256].sort(),
    );
    expect(await handle.query(rotationPhaseQuery)).toBe('awaiting_confirmation');
    // A use of some other certificate confirms nothing.
    await handle.signal(certificateInUseSignal, { fingerprintSha256: d.fingerprint });
    await handle.signal(certificateInUseSignal, { fingerprintSha256: issued.fingerprintSha256 });
    expect(await handle.result()).toEqual({
      deviceId: d.deviceId,
      state: 'succeeded',
      reason: null,
      oldFingerprint: d.fingerprint,
      newFingerprint: issued.fingerprintSha256,
    });
    expect(await b.activeCertificates(d.deviceId)).toEqual([issued.fingerprintSha256]);
    const old = await b.certificate(d.fingerprint);
    expect(old.status).toBe('revoked');
    expect(old.revocation_reason).toMatch(/^superseded/);
    expect(await getPendingRotation(b.p.registry.db, d.deviceId)).toBeUndefined();
  });

  it('refuses a bad CSR to the device without ending the rotation; a good one then works', async () => {
    const d = await b.device('bad-csr');
    const handle = await b.startRotation(d);
    await eventually(
      () => handle.query(rotationPhaseQuery),
      (phase) => phase === 'awaiting_csr',
    );
    expect(await refusal(handle.executeUpdate(submitCsrUpdate, { args: [{ csrPem: 'not a csr' }] }))).toBe(
      'CSR_INVALID',
    );
    expect(await refusal(handle.executeUpdate(submitCsrUpdate, { args: [{ csrPem: '' }] }))).toBe(
      'VALIDATION_FAILED',
    );
    expect(await handle.query(rotationPhaseQuery)).toBe('awaiting_csr');
    const issued = await handle.executeUpdate(submitCsrUpdate, { args: [{ csrPem: await csrPem() }] });
    await handle.signal(certificateInUseSignal, { fingerprintSha256: issued.fingerprintSha256 });
    expect(await handle.result()).toMatchObject({ state: 'succeeded' });
    expect(await b.activeCertificates(d.deviceId)).toEqual([issued.fingerprintSha256]);
  });

  it('answers a CSR sent with the start (update-with-start, as simplereenroll does)', async () => {
    const d = await b.device('reenroll');
    const rotationId = newId();
    const workflowId = rotateDeviceWorkflowId(b.tenantId, d.deviceId, rotationId);
    const start = new WithStartWorkflowOperation('rotateDeviceWorkflow', {
      workflowId,
      taskQueue: b.p.taskQueue,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      args: [
        {
          tenantId: b.tenantId,
          deviceId: d.deviceId,
          rotationId,
          runId: null,
          deadlineSeconds: 60,
          issuingCaId: null,
          reason: 'test',
        },
      ],
    });
    const issued = await b.p.client.workflow.executeUpdateWithStart(submitCsrUpdate, {
      args: [{ csrPem: await csrPem() }],
      startWorkflowOperation: start,
    });
    const handle = await start.workflowHandle();
    await handle.signal(certificateInUseSignal, { fingerprintSha256: issued.fingerprintSha256 });
    expect(await handle.result()).toMatchObject({
      state: 'succeeded',
      newFingerprint: issued.fingerprintSha256,
    });
    expect(await b.activeCertificates(d.deviceId)).toEqual([issued.fingerprintSha256]);
  });
});

describe('per-device rollback', () => {
  let b: RotationBench;
  beforeAll(async () => {
    b = await startRotationBench('sqlite');
  });
  afterAll(async () => {
    await b?.p.stop();
  });

  it('rolls back at the deadline when no CSR came: the old certificate stays the only one', async () => {
    const d = await b.device('silent');
    const handle = await b.startRotation(d, { deadlineSeconds: 3 });
    expect(await handle.result()).toEqual({
      deviceId: d.deviceId,
      state: 'rolled_back',
      reason: 'DEADLINE: no CSR received before the deadline',
      oldFingerprint: d.fingerprint,
      newFingerprint: null,
    });
    expect(await b.activeCertificates(d.deviceId)).toEqual([d.fingerprint]);
    expect(await getPendingRotation(b.p.registry.db, d.deviceId)).toBeUndefined();
    // The slot is free: the device can rotate again.
    const again = await b.startRotation(d, { deadlineSeconds: 2 });
    expect(await again.result()).toMatchObject({ state: 'rolled_back' });
  });

  it('rolls back a certificate never used: revoked at the deadline, the old one kept', async () => {
    const d = await b.device('never-confirms');
    const handle = await b.startRotation(d, { deadlineSeconds: 8 });
    await eventually(
      () => handle.query(rotationPhaseQuery),
      (phase) => phase === 'awaiting_csr',
    );
    const issued = await handle.executeUpdate(submitCsrUpdate, { args: [{ csrPem: await csrPem() }] });
    expect(await handle.result()).toMatchObject({
      state: 'rolled_back',
      reason: 'DEADLINE: the new certificate was not used before the deadline',
      newFingerprint: null,
    });
    expect(await b.activeCertificates(d.deviceId)).toEqual([d.fingerprint]);
    expect(await b.certificate(issued.fingerprintSha256)).toMatchObject({ status: 'revoked' });
  });

  it('revokes one certificate, then the whole device, idempotently per request', async () => {
    const d = await b.device('to-revoke');
    const revoke = (target: RevokeInput['target'], requestId: string) =>
      b.p.client.workflow.execute<typeof revokeDeviceWorkflow>('revokeDeviceWorkflow', {
        workflowId: revokeWorkflowId(b.tenantId, d.deviceId, requestId),
        taskQueue: b.p.taskQueue,
        args: [{ tenantId: b.tenantId, target, reason: 'key compromise', actor: 'test', requestId }],
      });
    const one = await revoke(
      { kind: 'certificate', deviceId: d.deviceId, fingerprintSha256: d.fingerprint },
      'r1',
    );
    expect(one).toMatchObject({
      deviceId: d.deviceId,
      deviceRevoked: false,
      revokedCertificates: [d.fingerprint],
    });
    expect(await b.certificate(d.fingerprint)).toMatchObject({ status: 'revoked' });
    expect(await b.activeCertificates(d.deviceId)).toEqual([]);
    const all = await revoke({ kind: 'device', deviceId: d.deviceId }, 'r2');
    expect(all).toMatchObject({ deviceRevoked: true, revokedCertificates: [] });
    const row = await b.p.registry.db
      .selectFrom('devices')
      .select('status')
      .where('id', '=', d.deviceId)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('revoked');
    // A revoked device cannot rotate.
    const rotation = await (await b.startRotation(d)).result();
    expect(rotation.state).toBe('failed');
  });

  it('fails a second rotation of a device already rotating, leaving the first untouched', async () => {
    const d = await b.device('busy');
    const first = await b.startRotation(d);
    await eventually(
      () => first.query(rotationPhaseQuery),
      (phase) => phase === 'awaiting_csr',
    );
    const second = await b.startRotation(d);
    const result = await second.result();
    expect(result.state).toBe('failed');
    expect(result.reason).toMatch(/^ROTATION_IN_PROGRESS: /);
    expect(await first.query(rotationPhaseQuery)).toBe('awaiting_csr');
    await first.cancel();
    const cancelled = await first.result();
    expect(cancelled.state).toBe('rolled_back');
    expect(cancelled.reason).toMatch(/^CANCELLED: /);
    expect(await b.activeCertificates(d.deviceId)).toEqual([d.fingerprint]);
  });
});

describe('rotation runs', () => {
  let b: RotationBench;
  beforeAll(async () => {
    b = await startRotationBench('sqlite');
  });
  afterAll(async () => {
    await b?.p.stop();
  });

  async function expectOneActiveEach(devices: TestDevice[]): Promise<void> {
    for (const d of devices) expect(await b.activeCertificates(d.deviceId)).toHaveLength(1);
  }

  it('rotates a fleet with a window of 3 and ends with exact per-device states', async () => {
    const devices = await b.devices('fleet', 10);
    const behaviour = new Map<string, DeviceBehaviour>(
      devices.map((d, i) => [
        d.deviceId,
        i === 2 || i === 6 ? 'offline' : i === 4 ? 'never-confirms' : 'confirm',
      ]),
    );
    const stop = playDevices(b, behaviour);
    try {
      const { runId, handle } = await b.startRun(devices, { concurrency: 3, deadlineSeconds: 6 });
      let maxInProgress = 0;
      const run = await eventually(
        async () => {
          const r = await b.run(runId);
          maxInProgress = Math.max(maxInProgress, r.counts.in_progress);
          return r;
        },
        (r) => r.finishedAt !== null,
        120_000,
      );
      expect(maxInProgress).toBeLessThanOrEqual(3);
      expect(run).toMatchObject({ status: 'completed', total: 10 });
      expect(run.counts).toEqual({
        pending: 0,
        in_progress: 0,
        succeeded: 7,
        failed: 0,
        rolled_back: 3,
        cancelled: 0,
      });
      expect(await handle.result()).toEqual(run.counts);
      const items = await listRunItems(b.p.registry.db, b.tenantId, runId, { limit: 100 });
      for (const [i, d] of devices.entries()) {
        const item = items.find((it) => it.deviceId === d.deviceId);
        const expected = behaviour.get(d.deviceId) === 'confirm' ? 'succeeded' : 'rolled_back';
        expect(item?.state, `device ${i}`).toBe(expected);
        if (behaviour.get(d.deviceId) === 'offline') expect(item?.reason).toMatch(/^DEADLINE: no CSR/);
        if (behaviour.get(d.deviceId) === 'never-confirms')
          expect(item?.reason).toMatch(/^DEADLINE: the new/);
        const active = await b.activeCertificates(d.deviceId);
        expect(active).toHaveLength(1);
        expect(active[0] === d.fingerprint).toBe(expected === 'rolled_back');
      }
      // Outcomes travel through the registry: no device rotation signals its run, and the
      // run's history holds no signal from them.
      const child = b.p.client.workflow.getHandle(
        rotateDeviceWorkflowId(b.tenantId, devices[0]?.deviceId ?? '', runId),
      );
      const childEvents = (await child.fetchHistory()).events ?? [];
      const runEvents = (await handle.fetchHistory()).events ?? [];
      expect(childEvents.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
      expect(
        childEvents.filter((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes != null),
      ).toEqual([]);
      expect(runEvents.filter((e) => e.workflowExecutionSignaledEventAttributes != null)).toEqual([]);
    } finally {
      await stop();
    }
  });

  it('continues as new every few starts without losing a device', async () => {
    const devices = await b.devices('can', 7);
    const stop = playDevices(b, new Map(devices.map((d) => [d.deviceId, 'confirm'])));
    try {
      const { runId, handle } = await b.startRun(
        devices,
        { concurrency: 2, deadlineSeconds: 60 },
        { startsBeforeContinueAsNew: 3 },
      );
      const run = await runEnds(b, runId);
      expect(run.status).toBe('completed');
      expect(run.counts.succeeded).toBe(7);
      const latest = await b.p.client.workflow.getHandle(handle.workflowId).describe();
      expect(latest.runId).not.toBe(handle.firstExecutionRunId);
      expect(await b.p.client.workflow.getHandle(handle.workflowId).query(runStateQuery)).toMatchObject({
        status: 'completed',
        started: 7,
        inFlight: 0,
      });
      await expectOneActiveEach(devices);
    } finally {
      await stop();
    }
  });

  it('reaps a child terminated by hand: its item fails as LOST and the run still ends', async () => {
    const devices = await b.devices('lost', 3);
    const [lost] = devices;
    const stop = playDevices(
      b,
      new Map(devices.map((d) => [d.deviceId, d === lost ? 'offline' : 'confirm'])),
    );
    try {
      const { runId, handle } = await b.startRun(
        devices,
        { concurrency: 3, deadlineSeconds: 12 },
        { lostChildGraceSeconds: 0 },
      );
      // Terminate the offline device's rotation before its deadline: it never reports.
      const child = b.p.client.workflow.getHandle(rotateDeviceWorkflowId(b.tenantId, lost!.deviceId, runId));
      await eventually(
        () =>
          child.describe().then(
            (d) => d.status.name,
            () => 'NOT_STARTED',
          ),
        (status) => status === 'RUNNING',
        30_000,
      );
      await child.terminate('lost by hand (test)');
      const run = await runEnds(b, runId);
      expect(run.status).toBe('completed');
      expect(run.counts).toMatchObject({ succeeded: 2, failed: 1, in_progress: 0 });
      const items = await listRunItems(b.p.registry.db, b.tenantId, runId, { limit: 10 });
      expect(items.find((i) => i.deviceId === lost!.deviceId)?.reason).toMatch(/^LOST: /);
      expect(await handle.result()).toEqual(run.counts);
      await expectOneActiveEach(devices);
    } finally {
      await stop();
    }
  });

  it('pauses (no new starts, the rotation in flight finishes) and resumes', async () => {
    const devices = await b.devices('pause', 4);
    const behaviour = new Map<string, DeviceBehaviour>(devices.map((d) => [d.deviceId, 'offline']));
    const stop = playDevices(b, behaviour);
    try {
      const { runId, handle } = await b.startRun(devices, { concurrency: 1, deadlineSeconds: 120 });
      await eventually(
        () => b.run(runId),
        (r) => r.counts.in_progress === 1,
      );
      expect(await handle.executeUpdate(pauseRunUpdate)).toBe('paused');
      expect(await handle.executeUpdate(pauseRunUpdate)).toBe('paused');
      expect((await b.run(runId)).status).toBe('paused');
      // The device in flight comes online and finishes; nothing new starts while paused.
      const [inFlight] = await listRunItems(b.p.registry.db, b.tenantId, runId, {
        state: 'in_progress',
        limit: 10,
      });
      behaviour.set(inFlight?.deviceId ?? '', 'confirm');
      const afterFirst = await eventually(
        () => b.run(runId),
        (r) => r.counts.succeeded === 1,
        60_000,
      );
      expect(afterFirst.counts).toMatchObject({ pending: 3, in_progress: 0, succeeded: 1 });
      // The run has taken the report (in flight 0) and, paused, started nothing in its place.
      const state = await eventually(
        () => handle.query(runStateQuery),
        (st) => st.inFlight === 0 || st.started > 1,
      );
      expect(state).toEqual({ status: 'paused', inFlight: 0, started: 1, failures: 0 });

      for (const d of devices) behaviour.set(d.deviceId, 'confirm');
      expect(await handle.executeUpdate(resumeRunUpdate)).toBe('running');
      const run = await runEnds(b, runId);
      expect(run).toMatchObject({ status: 'completed' });
      expect(run.counts.succeeded).toBe(4);
      await expectOneActiveEach(devices);
      // Controls on a finished run are refused.
      await expect(handle.executeUpdate(pauseRunUpdate)).rejects.toThrow();
      expect((await b.run(runId)).status).toBe('completed');
    } finally {
      await stop();
    }
  });

  it('cancels: rotations in flight roll back, pending devices are marked cancelled', async () => {
    const devices = await b.devices('cancel', 5);
    // Devices answer their CSR but never confirm: the new certificates must go.
    const stop = playDevices(b, new Map(devices.map((d) => [d.deviceId, 'never-confirms'])));
    try {
      const { runId, handle } = await b.startRun(devices, { concurrency: 2, deadlineSeconds: 300 });
      const inFlight = await eventually(
        async () => {
          const items = await listRunItems(b.p.registry.db, b.tenantId, runId, {
            state: 'in_progress',
            limit: 10,
          });
          const pending = await Promise.all(
            items.map((i) => getPendingRotation(b.p.registry.db, i.deviceId)),
          );
          return pending.filter((r) => r?.state === 'issued');
        },
        (issued) => issued.length === 2,
        60_000,
      );
      expect(inFlight).toHaveLength(2);
      expect(await handle.executeUpdate(cancelRunUpdate, { args: [{ reason: 'wrong selection' }] })).toBe(
        'cancelled',
      );
      const run = await b.run(runId);
      expect(run).toMatchObject({ status: 'cancelled' });
      expect(run.counts).toEqual({
        pending: 0,
        in_progress: 0,
        succeeded: 0,
        failed: 0,
        rolled_back: 2,
        cancelled: 3,
      });
      const items = await listRunItems(b.p.registry.db, b.tenantId, runId, { limit: 100 });
      for (const item of items) expect(item.reason).toMatch(/^CANCELLED: /);
      for (const d of devices) expect(await b.activeCertificates(d.deviceId)).toEqual([d.fingerprint]);
      await expect(handle.executeUpdate(cancelRunUpdate, { args: [{ reason: 'again' }] })).rejects.toThrow();
    } finally {
      await stop();
    }
  });

  it('aborts once failures exceed the threshold', async () => {
    const devices = await b.devices('abort', 5);
    const stop = playDevices(b, new Map(devices.map((d) => [d.deviceId, 'offline'])));
    try {
      const { runId } = await b.startRun(devices, {
        concurrency: 1,
        deadlineSeconds: 3,
        abortAfterFailures: 1,
      });
      const run = await runEnds(b, runId);
      expect(run.status).toBe('aborted');
      expect(run.statusReason).toMatch(/failures exceeded 1/);
      expect(run.counts).toEqual({
        pending: 0,
        in_progress: 0,
        succeeded: 0,
        failed: 0,
        rolled_back: 2,
        cancelled: 3,
      });
      await expectOneActiveEach(devices);
    } finally {
      await stop();
    }
  });

  it('counts failures while a rate-limited window still has room, and aborts before starting all', async () => {
    const devices = await b.devices('abort-rate', 8);
    const stop = playDevices(b, new Map(devices.map((d) => [d.deviceId, 'offline'])));
    try {
      // One start per second, room for all 8: the run must read the first rollbacks (at the 2 s
      // deadlines) between starts, not only once the window is full.
      const { runId } = await b.startRun(devices, {
        concurrency: 8,
        ratePerMinute: 60,
        deadlineSeconds: 2,
        abortAfterFailures: 1,
      });
      const run = await runEnds(b, runId);
      expect(run.status).toBe('aborted');
      expect(run.counts.cancelled).toBeGreaterThan(0);
      expect(run.counts.succeeded + run.counts.failed + run.counts.pending + run.counts.in_progress).toBe(0);
      await expectOneActiveEach(devices);
    } finally {
      await stop();
    }
  });
});

describe('scheduled renewal', () => {
  let b: RotationBench;
  beforeAll(async () => {
    b = await startRotationBench('sqlite');
  });
  afterAll(async () => {
    // The schedule is one per namespace: leave none behind for other suites.
    await ensureRenewalSchedule(b.p.client, { taskQueue: b.p.taskQueue, intervalSeconds: 0 });
    await b?.p.stop();
  });

  it('keeps one schedule whose sweep starts a run over the devices due for renewal', async () => {
    const due = await b.device('renew-due');
    const notDue = await b.device('renew-not-due');
    const renewal: RenewalSettings = {
      ...DEFAULT_RENEWAL,
      enabled: true,
      // The whole lifetime is the window and there is no jitter: every certificate is due now.
      windowFraction: 1,
      jitterFraction: 0,
      deadlineSeconds: 120,
      concurrency: 5,
    };
    const classId = newId();
    await b.p.registry.db
      .insertInto('device_classes')
      .values({
        id: classId,
        tenant_id: b.tenantId,
        name: 'renewing',
        policy: '{}',
        renewal: JSON.stringify(renewal),
        created_at: new Date().toISOString(),
      })
      .execute();
    await b.p.registry.db
      .updateTable('devices')
      .set({ device_class_id: classId })
      .where('id', '=', due.deviceId)
      .execute();

    expect(
      await ensureRenewalSchedule(b.p.client, { taskQueue: b.p.taskQueue, intervalSeconds: 7200 }),
    ).toMatch(/^(created|updated)$/);
    // Idempotent: a second worker starting updates the same schedule.
    expect(await ensureRenewalSchedule(b.p.client, { taskQueue: b.p.taskQueue, intervalSeconds: 3600 })).toBe(
      'updated',
    );
    const schedule = b.p.client.schedule.getHandle(RENEWAL_SCHEDULE_ID);
    const described = await schedule.describe();
    expect(described.spec.intervals).toMatchObject([{ every: 3_600_000 }]);
    expect(described.action).toMatchObject({
      workflowType: 'renewalSweepWorkflow',
      taskQueue: b.p.taskQueue,
    });
    expect(described.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);

    const stop = playDevices(b, new Map([[due.deviceId, 'confirm']]));
    try {
      await schedule.trigger();
      const runs = await eventually(
        () =>
          b.p.registry.db.selectFrom('rotation_runs').selectAll().where('source', '=', 'schedule').execute(),
        (rows) => rows.length > 0,
        60_000,
      );
      expect(runs).toHaveLength(1);
      const runId = (runs[0] as { id: string }).id;
      const run = await runEnds(b, runId);
      expect(run).toMatchObject({ status: 'completed', total: 1 });
      expect(run.counts.succeeded).toBe(1);
      expect(await b.activeCertificates(due.deviceId)).not.toEqual([due.fingerprint]);
      expect(await b.activeCertificates(notDue.deviceId)).toEqual([notDue.fingerprint]);
    } finally {
      await stop();
    }
    expect(await ensureRenewalSchedule(b.p.client, { taskQueue: b.p.taskQueue, intervalSeconds: 0 })).toBe(
      'deleted',
    );
    await expect(schedule.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });
});
