import type { OpenAPIHono } from '@hono/zod-openapi';
import { CertflowError } from '../../../domain/errors';
import { getDeviceById } from '../../../registry/devices';
import { listDeviceCertificates } from '../../../registry/revocations';
import { normalizeFingerprint, revoke, type RevokeDeps } from '../../commands/revoke';
import { rotateDevice } from '../../commands/rotate-device';
import type { AppDeps, AppEnv } from '../context';
import {
  listCertificatesRoute,
  revokeCertificateRoute,
  revokeDeviceRoute,
  rotateDeviceRoute,
} from './contract';

/**
 * A device's certificates: list, revoke (the device or one certificate) and ad hoc rotation.
 * Roles come from the `/api/devices/*` guard of the devices router (reads: any role; writes:
 * operator), so this router must be mounted after it.
 */
export function registerRevocationRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const commands: RevokeDeps = {
    db: deps.db,
    client: deps.temporal.client,
    taskQueue: deps.temporal.taskQueue,
    answerTimeoutMs: deps.workflowAnswerTimeoutMs,
  };

  app.openapi(revokeDeviceRoute, async (c) => {
    const key = c.get('apiKey');
    const result = await revoke(
      commands,
      key.tenant_id,
      `api-key:${key.id}`,
      { kind: 'device', deviceId: c.req.valid('param').id },
      c.req.valid('json').reason,
      c.req.valid('header')['idempotency-key'],
    );
    return c.json(result, 200);
  });

  app.openapi(revokeCertificateRoute, async (c) => {
    const key = c.get('apiKey');
    const { id, fingerprint } = c.req.valid('param');
    const fingerprintSha256 = normalizeFingerprint(fingerprint);
    if (!fingerprintSha256) {
      throw new CertflowError('VALIDATION_FAILED', 'fingerprint must be a SHA-256: 64 hex digits', [
        { field: 'fingerprint', message: 'must be 64 hex digits (colons allowed)' },
      ]);
    }
    const result = await revoke(
      commands,
      key.tenant_id,
      `api-key:${key.id}`,
      { kind: 'certificate', deviceId: id, fingerprintSha256 },
      c.req.valid('json').reason,
      c.req.valid('header')['idempotency-key'],
    );
    return c.json(result, 200);
  });

  app.openapi(listCertificatesRoute, async (c) => {
    const tenantId = c.get('apiKey').tenant_id;
    const { id } = c.req.valid('param');
    if (!(await getDeviceById(deps.db, tenantId, id))) {
      throw new CertflowError('DEVICE_NOT_FOUND', `no device ${id} in this tenant`);
    }
    return c.json({ certificates: await listDeviceCertificates(deps.db, tenantId, id) }, 200);
  });

  app.openapi(rotateDeviceRoute, async (c) => {
    const body = c.req.valid('json');
    const started = await rotateDevice(commands, c.get('apiKey').tenant_id, c.req.valid('param').id, body);
    c.header('location', `/api/devices/${c.req.valid('param').id}/history`);
    return c.json(started, 202);
  });
}
