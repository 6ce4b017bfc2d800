import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateDeviceWorkflowId } from '../../domain/ids';
import {
  ACCEPTED_KEY_TYPES,
  ROTATION_TOPICS,
  type RotationRequestMessage,
  type RotationResponseMessage,
} from '../../domain/rotation';
import { newId } from '../../registry/ids';
import type { Edge } from '../../runtime/edge';
import { createDeviceCert, createRootCa, type TestCa } from '../support/device-pki';
import { eventually } from '../support/eventually';
import { registerCaViaApi, startTestEdge } from '../support/jitp';
import { type TestPlatform, startTestPlatform } from '../support/platform';
import {
  certifiesKey,
  keyAndCsr,
  nextMessage,
  openSession,
  publish,
  type Session,
  subscribe,
} from './edge-support';

type Success = Extract<RotationResponseMessage, { status: 'SUCCESS' }>;
type Credential = { certPem: string; keyPem: string; fingerprintSha256: string };

describe('edge: the MQTT rotation protocol', () => {
  let p: TestPlatform;
  let edge: Edge & { dispose(): Promise<void> };
  let root: TestCa;
  let issuingCaId: string;
  const sessions: Session[] = [];

  beforeAll(async () => {
    p = await startTestPlatform('sqlite');
    edge = await startTestEdge(p);
    root = await createRootCa({ name: 'CN=Rotation Edge Root' });
    expect((await registerCaViaApi(p, p.tenantA.keys.operator, root)).status).toBe(201);
    const ca = await p.call(p.tenantA.keys.operator, 'POST', '/api/issuing-cas', {
      name: 'edge-rotation',
      generate: { validityDays: 3650 },
    });
    expect(ca.status).toBe(201);
    issuingCaId = ((await ca.json()) as { id: string }).id;
  });
  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.end()));
    await edge?.dispose();
    await p?.stop();
  });

  async function session(identity: { certPem: string; keyPem: string }): Promise<Session> {
    const s = await openSession(edge, identity);
    sessions.push(s);
    expect(s.code).toBe(0);
    return s;
  }

  /** A JIT-provisioned device (its first connect creates it); returns its id and certificate. */
  async function device(name: string): Promise<{ deviceId: string; cert: Credential }> {
    const cert = await createDeviceCert(root, { cn: name });
    await (await session(cert)).end();
    const row = await p.registry.db
      .selectFrom('devices')
      .select('id')
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
    return { deviceId: row.id, cert };
  }

  function startRotation(deviceId: string, deadlineSeconds = 120) {
    const rotationId = newId();
    return p.client.workflow.start('rotateDeviceWorkflow', {
      workflowId: rotateDeviceWorkflowId(p.tenantA.id, deviceId, rotationId),
      taskQueue: p.taskQueue,
      args: [
        {
          tenantId: p.tenantA.id,
          deviceId,
          rotationId,
          runId: null,
          deadlineSeconds,
          issuingCaId,
          reason: 'edge test',
        },
      ],
    });
  }

  const certificateStatus = async (fingerprint: string) =>
    (
      await p.registry.db
        .selectFrom('certificates')
        .select('status')
        .where('fingerprint_sha256', '=', fingerprint)
        .executeTakeFirstOrThrow()
    ).status;

  it('rotates a connected device end to end: request, CSR, certificate, first use, old revoked', async () => {
    const { deviceId, cert } = await device('rot-mqtt-online');
    const old = await session(cert);
    expect(await subscribe(old, ROTATION_TOPICS.request)).toBe(1);
    expect(await subscribe(old, ROTATION_TOPICS.response)).toBe(1);

    const handle = await startRotation(deviceId);
    const request = await nextMessage<RotationRequestMessage>(old, ROTATION_TOPICS.request);
    expect(typeof request.rotationId).toBe('string');
    expect(request.keyTypes).toEqual(ACCEPTED_KEY_TYPES);
    expect(Date.parse(request.deadline)).toBeGreaterThan(Date.now());

    const fresh = await keyAndCsr();
    await publish(
      old,
      ROTATION_TOPICS.csr,
      JSON.stringify({ rotationId: request.rotationId, csr: fresh.csrPem }),
    );
    const answer = await nextMessage<RotationResponseMessage>(old, ROTATION_TOPICS.response);
    expect(answer).toMatchObject({ rotationId: request.rotationId, status: 'SUCCESS' });
    const issued = answer as Success;
    expect(certifiesKey(issued.certificate, fresh.keyPem)).toBe(true);
    expect(issued.certificateChain.startsWith(issued.certificate.trim())).toBe(true);
    // The CSR was answered by the broker, never delivered as a message.
    expect(old.messages.some((m) => m.topic === ROTATION_TOPICS.csr)).toBe(false);
    // Make before break: until the new certificate is used, both are active.
    expect(await certificateStatus(cert.fingerprintSha256)).toBe('active');
    expect(await certificateStatus(issued.fingerprintSha256)).toBe('active');

    // The device reconnects with its new certificate: that confirms the rotation.
    const renewed = await session({ certPem: issued.certificate, keyPem: fresh.keyPem });
    expect(await handle.result()).toMatchObject({
      state: 'succeeded',
      oldFingerprint: cert.fingerprintSha256,
      newFingerprint: issued.fingerprintSha256,
    });
    expect(await certificateStatus(cert.fingerprintSha256)).toBe('revoked');
    // The session still on the old certificate is closed; the one on the new stays.
    await eventually(
      () => Promise.resolve(old.isClosed()),
      (closed) => closed,
      10_000,
    );
    expect(old.isClosed()).toBe(true);
    expect(renewed.isClosed()).toBe(false);
    expect((await openSession(edge, cert)).code).toBe(5);
  });

  it('shows the pending request to a device that subscribes later, and refuses bad CSRs precisely', async () => {
    const { deviceId, cert } = await device('rot-mqtt-offline');
    const other = await device('rot-mqtt-other');
    const handle = await startRotation(deviceId);
    await eventually(
      async () =>
        (await p.registry.db.selectFrom('device_rotations').select('device_id').execute()).some(
          (r) => r.device_id === deviceId,
        ),
      (found) => found,
    );

    const late = await session(cert);
    expect(await subscribe(late, ROTATION_TOPICS.response)).toBe(1);
    expect(await subscribe(late, ROTATION_TOPICS.request)).toBe(1);
    const request = await nextMessage<RotationRequestMessage>(late, ROTATION_TOPICS.request);

    const ask = async (s: Session, payload: string) => {
      const from = s.messages.length;
      await publish(s, ROTATION_TOPICS.csr, payload);
      return nextMessage<RotationResponseMessage>(s, ROTATION_TOPICS.response, from);
    };
    expect(await ask(late, JSON.stringify({ rotationId: request.rotationId, csr: 'garbage' }))).toMatchObject(
      {
        status: 'FAILURE',
        errorCode: 'CSR_INVALID',
      },
    );
    expect(await ask(late, '{not json')).toMatchObject({ status: 'FAILURE', errorCode: 'VALIDATION_FAILED' });
    const csr = (await keyAndCsr()).csrPem;
    expect(await ask(late, JSON.stringify({ rotationId: 'another', csr }))).toMatchObject({
      status: 'FAILURE',
      errorCode: 'ROTATION_NOT_REQUESTED',
    });

    // Another device cannot answer for it: its CSR concerns itself, which has nothing pending.
    const intruder = await session(other.cert);
    expect(await subscribe(intruder, ROTATION_TOPICS.response)).toBe(1);
    expect(await ask(intruder, JSON.stringify({ rotationId: request.rotationId, csr }))).toMatchObject({
      status: 'FAILURE',
      errorCode: 'ROTATION_NOT_REQUESTED',
    });
    expect(intruder.messages.some((m) => m.topic === ROTATION_TOPICS.request)).toBe(false);

    // None of that consumed the rotation: it still waits for a CSR.
    expect(await certificateStatus(cert.fingerprintSha256)).toBe('active');
    await handle.cancel();
    expect(await handle.result()).toMatchObject({ state: 'rolled_back' });
  });

  it('answers a CSR with no rotation pending with ROTATION_NOT_REQUESTED', async () => {
    const { cert } = await device('rot-mqtt-idle');
    const s = await session(cert);
    expect(await subscribe(s, ROTATION_TOPICS.response)).toBe(1);
    const csr = (await keyAndCsr()).csrPem;
    await publish(s, ROTATION_TOPICS.csr, JSON.stringify({ rotationId: newId(), csr }));
    expect(await nextMessage(s, ROTATION_TOPICS.response)).toMatchObject({
      status: 'FAILURE',
      errorCode: 'ROTATION_NOT_REQUESTED',
    });
    // Devices never publish on the platform's topics: the broker closes such a connection.
    s.client.publish(ROTATION_TOPICS.request, '{}', { qos: 0 });
    await eventually(
      () => Promise.resolve(s.isClosed()),
      (closed) => closed,
    );
    expect(s.isClosed()).toBe(true);
  });
});
