import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateDeviceWorkflowId } from '../../domain/ids';
import type { RotationRequestMessage, RotationResponseMessage } from '../../domain/rotation';
import { newId } from '../../registry/ids';
import { getPendingRotation } from '../../registry/rotations';
import type { Edge } from '../../runtime/edge';
import { createDeviceCert, createRootCa, type TestCa } from '../support/device-pki';
import { eventually } from '../support/eventually';
import { registerCaViaApi, startTestEdge } from '../support/jitp';
import { type TestPlatform, startTestPlatform } from '../support/platform';
import { certifiesKey, deviceRequest, fingerprintOf, keyAndCsr } from './edge-support';

type Identity = { certPem: string; keyPem: string };

describe('edge: the HTTPS rotation protocol', () => {
  let p: TestPlatform;
  let edge: Edge & { dispose(): Promise<void> };
  let root: TestCa;
  let issuingCaId: string;

  beforeAll(async () => {
    p = await startTestPlatform('sqlite');
    edge = await startTestEdge(p);
    root = await createRootCa({ name: 'CN=HTTPS Rotation Root' });
    expect((await registerCaViaApi(p, p.tenantA.keys.operator, root)).status).toBe(201);
    const ca = await p.call(p.tenantA.keys.operator, 'POST', '/api/issuing-cas', {
      name: 'edge-https-rotation',
      generate: { validityDays: 3650 },
    });
    expect(ca.status).toBe(201);
    issuingCaId = ((await ca.json()) as { id: string }).id;
  });
  afterAll(async () => {
    await edge?.dispose();
    await p?.stop();
  });

  /** A device JIT-provisioned over HTTPS (POST /device/v1/connect). */
  async function device(name: string): Promise<{ deviceId: string; cert: Identity }> {
    const cert = await createDeviceCert(root, { cn: name });
    const connect = await deviceRequest(edge, cert, 'POST', '/device/v1/connect');
    expect(connect.status).toBe(201);
    return { deviceId: connect.json<{ deviceId: string }>().deviceId, cert };
  }

  function startRotation(deviceId: string) {
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
          deadlineSeconds: 120,
          issuingCaId,
          reason: 'edge https test',
        },
      ],
    });
  }

  const activeCertificates = async (deviceId: string) =>
    (
      await p.registry.db
        .selectFrom('certificates')
        .select('fingerprint_sha256')
        .where('device_id', '=', deviceId)
        .where('status', '=', 'active')
        .execute()
    ).map((r) => r.fingerprint_sha256);

  it('polls for the request, answers it with a CSR, and confirms by using the new certificate', async () => {
    const { deviceId, cert } = await device('rot-https-poll');
    expect((await deviceRequest(edge, cert, 'GET', '/device/v1/rotation')).status).toBe(204);

    const handle = await startRotation(deviceId);
    const polled = await eventually(
      () => deviceRequest(edge, cert, 'GET', '/device/v1/rotation'),
      (r) => r.status === 200,
    );
    expect(polled.status).toBe(200);
    const request = polled.json<RotationRequestMessage>();

    const bad = await deviceRequest(
      edge,
      cert,
      'POST',
      '/device/v1/rotation/csr',
      JSON.stringify({ rotationId: request.rotationId, csr: 'garbage' }),
    );
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ status: 'FAILURE', errorCode: 'CSR_INVALID', code: 'CSR_INVALID' });

    const fresh = await keyAndCsr();
    const good = await deviceRequest(
      edge,
      cert,
      'POST',
      '/device/v1/rotation/csr',
      JSON.stringify({ rotationId: request.rotationId, csr: fresh.csrPem }),
    );
    expect(good.status).toBe(200);
    const issued = good.json<Extract<RotationResponseMessage, { status: 'SUCCESS' }>>();
    expect(issued).toMatchObject({ status: 'SUCCESS', rotationId: request.rotationId });
    expect(certifiesKey(issued.certificate, fresh.keyPem)).toBe(true);

    // Any request with the new certificate confirms it.
    const renewed = { certPem: issued.certificate, keyPem: fresh.keyPem };
    expect((await deviceRequest(edge, renewed, 'GET', '/device/v1/rotation')).status).toBe(204);
    expect(await handle.result()).toMatchObject({ state: 'succeeded' });
    expect(await activeCertificates(deviceId)).toEqual([issued.fingerprintSha256]);
    // The old certificate is refused as soon as the revocation reaches the edge (one poll).
    // Its credential is revoked, so it is refused before JITP would be asked.
    const refused = await eventually(
      () => deviceRequest(edge, cert, 'GET', '/device/v1/rotation'),
      (r) => r.status !== 204,
      10_000,
    );
    expect(refused.status).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'CERTIFICATE_REVOKED' });
  });

  it('simplereenroll answers the pending rotation (base64 DER CSR) and refuses a non-CSR', async () => {
    const { deviceId, cert } = await device('rot-https-est-pending');
    const handle = await startRotation(deviceId);
    await eventually(
      () => deviceRequest(edge, cert, 'GET', '/device/v1/rotation'),
      (r) => r.status === 200,
    );
    const empty = await deviceRequest(
      edge,
      cert,
      'POST',
      '/device/v1/simplereenroll',
      '',
      'application/pkcs10',
    );
    expect(empty.status).toBe(400);
    expect(empty.json()).toMatchObject({ code: 'VALIDATION_FAILED' });

    const fresh = await keyAndCsr();
    const der = fresh.csrPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    const res = await deviceRequest(
      edge,
      cert,
      'POST',
      '/device/v1/simplereenroll',
      der,
      'application/pkcs10',
    );
    expect(res.status).toBe(200);
    const leaf = leafOf(res.text);
    expect(certifiesKey(leaf, fresh.keyPem)).toBe(true);
    expect(await getPendingRotation(p.registry.db, deviceId)).toMatchObject({
      workflowId: handle.workflowId,
      newFingerprint: fingerprintOf(leaf),
    });
    expect(
      (await deviceRequest(edge, { certPem: leaf, keyPem: fresh.keyPem }, 'GET', '/device/v1/rotation'))
        .status,
    ).toBe(204);
    expect(await handle.result()).toMatchObject({ state: 'succeeded', newFingerprint: fingerprintOf(leaf) });
  });

  it('simplereenroll without a pending rotation starts one under the current certificate’s CA', async () => {
    // A JIT-provisioned certificate has no issuing CA here to renew under: refused precisely.
    const { deviceId, cert } = await device('rot-https-adhoc');
    const csr = async () => keyAndCsr();
    const first = await csr();
    const refused = await deviceRequest(edge, cert, 'POST', '/device/v1/simplereenroll', first.csrPem);
    expect(refused.status).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'ROTATION_NO_ISSUING_CA' });

    // Once rotated under an issuing CA (the operator's rotation), the device may renew itself.
    const handle = await startRotation(deviceId);
    await eventually(
      () => deviceRequest(edge, cert, 'GET', '/device/v1/rotation'),
      (r) => r.status === 200,
    );
    const rotated = await deviceRequest(edge, cert, 'POST', '/device/v1/simplereenroll', first.csrPem);
    expect(rotated.status).toBe(200);
    const current = { certPem: leafOf(rotated.text), keyPem: first.keyPem };
    expect((await deviceRequest(edge, current, 'POST', '/device/v1/connect')).status).toBe(200);
    expect(await handle.result()).toMatchObject({ state: 'succeeded' });

    const next = await csr();
    const res = await deviceRequest(
      edge,
      current,
      'POST',
      '/device/v1/simplereenroll',
      next.csrPem,
      'application/pkcs10',
    );
    expect(res.status).toBe(200);
    expect(res.contentType).toBe('application/pem-certificate-chain');
    const leaf = leafOf(res.text);
    expect(certifiesKey(leaf, next.keyPem)).toBe(true);
    expect(new X509Certificate(leaf).subject).toBe('CN=rot-https-adhoc');
    const pending = await getPendingRotation(p.registry.db, deviceId);
    expect(pending).toMatchObject({ state: 'issued', runId: null, newFingerprint: fingerprintOf(leaf) });
    // Both valid until the new one is used; then only the new one.
    expect((await activeCertificates(deviceId)).sort()).toEqual(
      [fingerprintOf(leaf), fingerprintOf(current.certPem)].sort(),
    );
    const renewed = { certPem: leaf, keyPem: next.keyPem };
    expect((await deviceRequest(edge, renewed, 'GET', '/device/v1/rotation')).status).toBe(204);
    const result: unknown = await p.client.workflow.getHandle(pending?.workflowId ?? '').result();
    expect(result).toMatchObject({ state: 'succeeded', newFingerprint: fingerprintOf(leaf) });
    expect(await activeCertificates(deviceId)).toEqual([fingerprintOf(leaf)]);
  });
});

/** The first certificate of a PEM chain. */
function leafOf(chain: string): string {
  const end = '-----END CERTIFICATE-----';
  return `${chain.slice(0, chain.indexOf(end) + end.length)}\n`;
}
