import 'reflect-metadata';
import type { WorkflowHandleWithFirstExecutionRunId as WorkflowHandle } from '@temporalio/client';
import { expect } from 'vitest';
import { rotateDeviceWorkflowId, rotationRunWorkflowId } from '../../domain/ids';
import {
  DEFAULT_ROTATION_OPTIONS,
  type RotateDeviceInput,
  type RotationOptions,
  type RunProgress,
} from '../../domain/rotation';
import { webcrypto, x509 } from '../../pki/crypto';
import { newId } from '../../registry/ids';
import { getPendingRotation } from '../../registry/rotations';
import { createRotationRun, getRotationRun } from '../../registry/runs';
import { certificateInUseSignal, submitCsrUpdate } from '../../workflows/definitions';
import type { rotateDeviceWorkflow } from '../../workflows/rotate-device';
import type { rotationRunWorkflow, RotationRunWorkflowInput } from '../../workflows/rotation-run';
import { eventually } from '../support/eventually';
import { type TestPlatform, startTestPlatform } from '../support/platform';
import type { Dialect } from '../support/registry';

/** A device as the tests know it: its id and the certificate it was provisioned with. */
export interface TestDevice {
  deviceId: string;
  name: string;
  fingerprint: string;
}

export interface RotationBench {
  p: TestPlatform;
  tenantId: string;
  issuingCaId: string;
  /** Provisions a device with a certificate signed by the tenant's issuing CA (CSR claim). */
  device(name: string): Promise<TestDevice>;
  devices(prefix: string, n: number): Promise<TestDevice[]>;
  startRotation(
    d: TestDevice,
    over?: Partial<RotateDeviceInput>,
  ): Promise<WorkflowHandle<typeof rotateDeviceWorkflow>>;
  startRun(
    devices: TestDevice[],
    options: Partial<RotationOptions>,
    extra?: Partial<RotationRunWorkflowInput>,
  ): Promise<{ runId: string; handle: WorkflowHandle<typeof rotationRunWorkflow> }>;
  run(runId: string): Promise<RunProgress>;
  /** The device's certificates that are active (should always be exactly one). */
  activeCertificates(deviceId: string): Promise<string[]>;
  certificate(fingerprint: string): Promise<{ status: string; revocation_reason: string | null }>;
}

export async function csrPem(): Promise<string> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
    'sign',
    'verify',
  ]);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=ignored',
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  return csr.toString('pem');
}

export async function startRotationBench(dialect: Dialect): Promise<RotationBench> {
  const p = await startTestPlatform(dialect);
  const tenantId = p.tenantA.id;
  const op = p.tenantA.keys.operator;
  const caRes = await p.call(op, 'POST', '/api/issuing-cas', {
    name: 'rotation-ca',
    generate: { validityDays: 3650 },
  });
  expect(caRes.status).toBe(201);
  const issuingCaId = ((await caRes.json()) as { id: string }).id;
  const profRes = await p.call(op, 'POST', '/api/device-profiles', {
    name: 'rotation-profile',
    allowedCredentialTypes: ['CSR'],
    issuingCaId,
  });
  expect(profRes.status).toBe(201);
  const prof = (await profRes.json()) as { profile: { provisionKey: string }; provisionSecret: string };

  const device = async (name: string): Promise<TestDevice> => {
    const res = await p.call(undefined, 'POST', '/api/v1/provision', {
      deviceName: name,
      provisionDeviceKey: prof.profile.provisionKey,
      provisionDeviceSecret: prof.provisionSecret,
      credentialsType: 'CSR',
      csr: await csrPem(),
    });
    const answer = (await res.json()) as { status: string; deviceId: string };
    expect(answer.status).toBe('SUCCESS');
    const certs = await activeCertificates(answer.deviceId);
    expect(certs).toHaveLength(1);
    return { deviceId: answer.deviceId, name, fingerprint: certs[0] as string };
  };
  const activeCertificates = async (deviceId: string): Promise<string[]> =>
    (
      await p.registry.db
        .selectFrom('certificates')
        .select('fingerprint_sha256')
        .where('device_id', '=', deviceId)
        .where('status', '=', 'active')
        .execute()
    ).map((r) => r.fingerprint_sha256);

  return {
    p,
    tenantId,
    issuingCaId,
    device,
    devices: async (prefix, n) => {
      const out: TestDevice[] = [];
      for (let i = 0; i < n; i++) out.push(await device(`${prefix}-${i}`));
      return out;
    },
    startRotation: (d, over = {}) => {
      const rotationId = newId();
      return p.client.workflow.start<typeof rotateDeviceWorkflow>('rotateDeviceWorkflow', {
        workflowId: rotateDeviceWorkflowId(tenantId, d.deviceId, rotationId),
        taskQueue: p.taskQueue,
        args: [
          {
            tenantId,
            deviceId: d.deviceId,
            rotationId,
            runId: null,
            deadlineSeconds: 60,
            issuingCaId: null,
            reason: 'test',
            ...over,
          },
        ],
      });
    },
    startRun: async (devices, partial, extra = {}) => {
      const runId = newId();
      const options: RotationOptions = { ...DEFAULT_ROTATION_OPTIONS, ...partial };
      const workflowId = rotationRunWorkflowId(tenantId, runId);
      await createRotationRun(p.registry.db, {
        id: runId,
        tenantId,
        source: 'api',
        selection: { deviceIds: devices.map((d) => d.deviceId) },
        options,
        createdBy: 'test',
        workflowId,
      });
      const handle = await p.client.workflow.start<typeof rotationRunWorkflow>('rotationRunWorkflow', {
        workflowId,
        taskQueue: p.taskQueue,
        args: [{ tenantId, runId, options, ...extra }],
      });
      return { runId, handle };
    },
    run: async (runId) => {
      const run = await getRotationRun(p.registry.db, tenantId, runId);
      if (!run) throw new Error(`no run ${runId}`);
      return run;
    },
    activeCertificates,
    certificate: (fingerprint) =>
      p.registry.db
        .selectFrom('certificates')
        .select(['status', 'revocation_reason'])
        .where('fingerprint_sha256', '=', fingerprint)
        .executeTakeFirstOrThrow(),
  };
}

export type DeviceBehaviour = 'confirm' | 'offline' | 'never-confirms';

/**
 * Plays the device side for a set of devices, the way the edge would: when a device has a
 * rotation waiting for its CSR, it submits one (unless offline) and, if it confirms, reports
 * the first use of the new certificate. Returns a stop function.
 */
export function playDevices(
  bench: RotationBench,
  behaviours: Map<string, DeviceBehaviour>,
): () => Promise<void> {
  let stopped = false;
  const answered = new Set<string>();
  const loop = (async () => {
    while (!stopped) {
      for (const [deviceId, behaviour] of behaviours) {
        if (behaviour === 'offline') continue;
        const pending = await getPendingRotation(bench.p.registry.db, deviceId);
        if (!pending || pending.state !== 'requested' || answered.has(pending.workflowId)) continue;
        answered.add(pending.workflowId);
        const handle = bench.p.client.workflow.getHandle(pending.workflowId);
        try {
          const issued = await handle.executeUpdate(submitCsrUpdate, { args: [{ csrPem: await csrPem() }] });
          if (behaviour === 'confirm')
            await handle.signal(certificateInUseSignal, { fingerprintSha256: issued.fingerprintSha256 });
        } catch {
          answered.delete(pending.workflowId); // the rotation moved on (cancelled, deadline): look again
        }
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

/** Waits for a run to reach a final status (generous bound: 2 cores, other suites running). */
export async function runEnds(bench: RotationBench, runId: string, ms = 90_000): Promise<RunProgress> {
  return eventually(
    () => bench.run(runId),
    (r) => r.finishedAt !== null,
    ms,
  );
}
