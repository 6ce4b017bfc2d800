import { createRoute, z } from '@hono/zod-openapi';
import { caStatuses } from '../../../domain/ca';
import { IdParam, json, jsonBody, problem, problemResponses, TagSchema } from '../schemas';

const Pem = z
  .string()
  .min(1)
  .max(64 * 1024);

export const JitpSchema = z
  .object({
    enabled: z.boolean(),
    productId: z.string().max(64).nullable().default(null),
    cohortId: z.string().max(64).nullable().default(null),
    deviceClassId: z.string().max(64).nullable().default(null),
    tags: z.array(TagSchema).max(64).default([]),
    descriptionTemplate: z
      .string()
      .max(512)
      .nullable()
      .default(null)
      .openapi({ example: '{{o}} unit {{cn}}, serial {{serial}}' }),
    deviceNamePattern: z.string().max(256).nullable().default(null).openapi({
      description: 'Regex over the subject CN; its first capture group is the device name. Null: the CN.',
    }),
  })
  .strict()
  .openapi('JitpSettings');

/** JITP changes: every field optional, no defaults, merged into the current settings. */
export const JitpPatchSchema = z
  .object({
    enabled: z.boolean().optional(),
    productId: z.string().max(64).nullable().optional(),
    cohortId: z.string().max(64).nullable().optional(),
    deviceClassId: z.string().max(64).nullable().optional(),
    tags: z.array(TagSchema).max(64).optional(),
    descriptionTemplate: z.string().max(512).nullable().optional(),
    deviceNamePattern: z.string().max(256).nullable().optional(),
  })
  .strict()
  .openapi('JitpSettingsPatch');

export const CaSchema = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    subject: z.string(),
    serialHex: z.string(),
    fingerprintSha256: z.string(),
    status: z.enum(caStatuses),
    notBefore: z.string(),
    notAfter: z.string(),
    certificatePem: z.string(),
    jitp: JitpSchema,
    expiry: z.object({ daysLeft: z.number().int(), warning: z.boolean() }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Ca');

const security = [{ bearer: [] }];

export const registrationCodeRoute = createRoute({
  method: 'post',
  path: '/api/cas/registration-code',
  tags: ['cas'],
  summary:
    'Issue a registration code: sign a verification certificate with CN = code to prove possession of a CA key',
  security,
  responses: {
    200: json(z.object({ registrationCode: z.string() }), 'The new code (replaces the previous one)'),
    ...problemResponses,
  },
});

export const registerCaRoute = createRoute({
  method: 'post',
  path: '/api/cas',
  tags: ['cas'],
  summary: 'Register a CA (with proof of possession) and its JITP settings',
  security,
  request: {
    body: jsonBody(
      z
        .object({
          caCertificate: Pem,
          verificationCertificate: Pem,
          status: z.enum(['active', 'inactive']).optional(),
          jitp: JitpSchema.optional(),
        })
        .strict(),
    ),
  },
  responses: {
    201: json(CaSchema, 'Registered'),
    ...problemResponses,
    409: problem('Already registered, or no registration code issued'),
    422: problem('Not a CA, expired, weak, or the proof of possession failed'),
  },
});

export const listCasRoute = createRoute({
  method: 'get',
  path: '/api/cas',
  tags: ['cas'],
  summary: 'List the tenant’s CAs, with expiry warnings',
  security,
  responses: { 200: json(z.object({ cas: z.array(CaSchema) }), 'CAs'), ...problemResponses },
});

export const getCaRoute = createRoute({
  method: 'get',
  path: '/api/cas/{id}',
  tags: ['cas'],
  summary: 'Get a CA',
  security,
  request: { params: IdParam },
  responses: { 200: json(CaSchema, 'The CA'), ...problemResponses, 404: problem('No such CA') },
});

export const updateCaRoute = createRoute({
  method: 'patch',
  path: '/api/cas/{id}',
  tags: ['cas'],
  summary: 'Change a CA’s status (active / inactive / revoked) or JITP settings',
  security,
  request: {
    params: IdParam,
    body: jsonBody(
      z
        .object({
          status: z.enum(caStatuses).optional(),
          jitp: JitpPatchSchema.optional().openapi({ description: 'Only the fields given change' }),
        })
        .strict(),
    ),
  },
  responses: {
    200: json(CaSchema, 'Updated'),
    ...problemResponses,
    404: problem('No such CA'),
    409: problem('Revoked'),
  },
});
