import { createRoute, z } from '@hono/zod-openapi';
import { json, jsonBody, problem, problemResponses } from '../schemas';
import { MAX_DEADLINE_SECONDS, MIN_DEADLINE_SECONDS } from '../rotation-runs/contract';

const security = [{ bearer: [] }];
const base = { tags: ['devices', 'revocation'], security };

const DeviceParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' } }),
});
const CertificateParams = DeviceParam.extend({
  fingerprint: z
    .string()
    .min(1)
    .max(128)
    .openapi({ param: { name: 'fingerprint', in: 'path' }, description: 'SHA-256, hex (colons allowed)' }),
});
const IdempotencyHeader = z.object({
  'idempotency-key': z
    .string()
    .optional()
    .openapi({
      param: { name: 'idempotency-key', in: 'header' },
      description: 'Repeat it to retry safely: the same key answers the first request’s result',
    }),
});

export const RevokeBodySchema = z
  .object({ reason: z.string().trim().min(1).max(500).openapi({ example: 'device stolen' }) })
  .strict()
  .openapi('RevokeRequest');

export const RevokeResultSchema = z
  .object({
    deviceId: z.string(),
    deviceRevoked: z.boolean(),
    revokedCertificates: z.array(z.string()).openapi({ description: 'Fingerprints revoked by this request' }),
    revokedCredentials: z.number().int(),
  })
  .openapi('RevokeResult');

export const DeviceCertificateSchema = z
  .object({
    id: z.string(),
    fingerprintSha256: z.string(),
    serialHex: z.string(),
    subject: z.string(),
    notBefore: z.string(),
    notAfter: z.string(),
    status: z.enum(['active', 'revoked']),
    revokedAt: z.string().nullable(),
    revocationReason: z.string().nullable(),
    issuingCaId: z.string().nullable(),
    pendingRotation: z.boolean().openapi({ description: 'Issued by a rotation, not used by the device yet' }),
  })
  .openapi('DeviceCertificate');

const revokeResponses = {
  200: json(RevokeResultSchema, 'Revoked (already revoked is not an error); sessions are cut within seconds'),
  ...problemResponses,
  504: problem('The revocation workflow did not answer in time; it keeps running'),
};

export const revokeDeviceRoute = createRoute({
  ...base,
  method: 'post',
  path: '/api/devices/{id}/revoke',
  summary: 'Revoke a device: every credential and certificate, refused at once at the edge',
  request: { params: DeviceParam, headers: IdempotencyHeader, body: jsonBody(RevokeBodySchema) },
  responses: { ...revokeResponses, 404: problem('No such device') },
});

export const revokeCertificateRoute = createRoute({
  ...base,
  method: 'post',
  path: '/api/devices/{id}/certificates/{fingerprint}/revoke',
  summary: "Revoke one of a device's certificates",
  request: { params: CertificateParams, headers: IdempotencyHeader, body: jsonBody(RevokeBodySchema) },
  responses: { ...revokeResponses, 404: problem('No such device, or no such certificate of it') },
});

export const listCertificatesRoute = createRoute({
  ...base,
  method: 'get',
  path: '/api/devices/{id}/certificates',
  summary: "A device's certificates, active and revoked",
  request: { params: DeviceParam },
  responses: {
    200: json(z.object({ certificates: z.array(DeviceCertificateSchema) }), 'The certificates'),
    ...problemResponses,
    404: problem('No such device'),
  },
});

export const RotateBodySchema = z
  .object({
    deadlineSeconds: z.number().int().min(MIN_DEADLINE_SECONDS).max(MAX_DEADLINE_SECONDS).optional(),
    issuingCaId: z.string().min(1).max(64).nullable().optional(),
  })
  .strict()
  .openapi('RotateDeviceRequest');

export const rotateDeviceRoute = createRoute({
  ...base,
  tags: ['devices', 'rotation'],
  method: 'post',
  path: '/api/devices/{id}/rotate',
  summary: 'Ask one device to rotate its certificate (outside any run)',
  request: {
    params: DeviceParam,
    body: { required: false, content: { 'application/json': { schema: RotateBodySchema } } },
  },
  responses: {
    202: json(
      z.object({ rotationId: z.string(), workflowId: z.string() }),
      'The rotation is waiting for the device',
    ),
    ...problemResponses,
    404: problem('No such device'),
    409: problem('The device is revoked or already rotating'),
    422: problem('The issuing CA does not exist in this tenant'),
  },
});
