import { createRoute, z } from '@hono/zod-openapi';
import { DeviceNameSchema, IdParam, json, jsonBody, problem, problemResponses, TagSchema } from '../schemas';

const AttributeValue = z.union([z.string().max(1024), z.number(), z.boolean()]);

export const DeviceRequestSchema = z
  .object({
    name: DeviceNameSchema.openapi({ example: 'sensor-0001' }),
    label: z.string().max(256).nullish(),
    productId: z.string().max(64).nullish(),
    cohortId: z.string().max(64).nullish(),
    deviceClassId: z.string().max(64).nullish(),
    profileId: z.string().max(64).nullish(),
    tags: z.array(TagSchema).max(64).optional(),
    attributes: z
      .record(z.string().min(1).max(64), AttributeValue)
      .refine((a) => Object.keys(a).length <= 64, 'at most 64 attributes')
      .optional(),
    accessToken: z
      .object({
        token: z
          .string()
          .min(16)
          .max(256)
          .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
          .optional()
          .openapi({ description: 'Omit to have the server generate one (returned once).' }),
      })
      .strict()
      .optional(),
  })
  .strict()
  .openapi('DeviceRequest');

export const DeviceSchema = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    name: z.string(),
    label: z.string().nullable(),
    productId: z.string().nullable(),
    cohortId: z.string().nullable(),
    deviceClassId: z.string().nullable(),
    profileId: z.string().nullable(),
    tags: z.array(z.string()),
    attributes: z.record(z.string(), AttributeValue),
    provisionState: z.enum(['pre-provisioned', 'provisioned']),
    status: z.enum(['active', 'disabled', 'revoked']),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Device');

const CreatedSchema = z
  .object({
    device: DeviceSchema,
    workflowId: z.string(),
    accessToken: z
      .string()
      .optional()
      .openapi({ description: 'Present once, when the server generated it.' }),
  })
  .openapi('CreatedDevice');

const security = [{ bearer: [] }];

export const createDeviceRoute = createRoute({
  method: 'post',
  path: '/api/devices',
  tags: ['devices'],
  summary: 'Pre-provision a device (runs the createDevice workflow)',
  security,
  request: { body: jsonBody(DeviceRequestSchema) },
  responses: {
    201: json(CreatedSchema, 'Created'),
    ...problemResponses,
    409: problem('Name taken, or the same creation already running'),
    422: problem('A referenced product, cohort, class or profile does not exist in this tenant'),
    504: problem('The workflow did not answer in time'),
  },
});

export const BULK_MAX = 1000;

export const bulkCreateRoute = createRoute({
  method: 'post',
  path: '/api/devices/bulk',
  tags: ['devices'],
  summary: 'Pre-provision up to 1000 devices; one workflow per device, a result per item',
  security,
  request: {
    body: jsonBody(z.object({ devices: z.array(DeviceRequestSchema).min(1).max(BULK_MAX) }).strict()),
  },
  responses: {
    200: json(
      z.object({
        created: z.number().int(),
        failed: z.number().int(),
        results: z.array(
          z.object({
            index: z.number().int(),
            name: z.string(),
            status: z.enum(['created', 'failed']),
            device: DeviceSchema.optional(),
            workflowId: z.string().optional(),
            accessToken: z.string().optional(),
            error: z.object({ code: z.string(), detail: z.string() }).optional(),
          }),
        ),
      }),
      'Per-item results, in request order',
    ),
    ...problemResponses,
  },
});

export const listDevicesRoute = createRoute({
  method: 'get',
  path: '/api/devices',
  tags: ['devices'],
  summary: 'List devices (keyset pagination)',
  security,
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(500).default(100),
      after: z.string().max(64).optional().openapi({ description: 'Last id of the previous page' }),
    }),
  },
  responses: {
    200: json(z.object({ devices: z.array(DeviceSchema), next: z.string().nullable() }), 'A page of devices'),
    ...problemResponses,
  },
});

export const getDeviceRoute = createRoute({
  method: 'get',
  path: '/api/devices/{id}',
  tags: ['devices'],
  summary: 'Get a device',
  security,
  request: { params: IdParam },
  responses: { 200: json(DeviceSchema, 'The device'), ...problemResponses, 404: problem('No such device') },
});

const WorkflowSummary = z.object({
  workflowId: z.string(),
  runId: z.string(),
  type: z.string(),
  status: z.string(),
  startTime: z.string(),
  closeTime: z.string().nullable(),
  historyLength: z.number().int(),
  history: z.unknown().optional().openapi({ description: 'Full event history (with ?full=true)' }),
});

const AuditEvent = z.object({
  id: z.string(),
  seq: z.number().int(),
  type: z.string(),
  actor: z.string(),
  workflowId: z.string().nullable(),
  workflowRunId: z.string().nullable(),
  data: z.unknown(),
  createdAt: z.string(),
});

export const deviceHistoryRoute = createRoute({
  method: 'get',
  path: '/api/devices/{id}/history',
  tags: ['devices', 'audit'],
  summary: "A device's lifecycle: every workflow that touched it and the registry's audit trail",
  security,
  request: {
    params: IdParam,
    query: z.object({
      full: z
        .enum(['true', 'false'])
        .default('false')
        .openapi({ description: 'Include each workflow’s full event history' }),
    }),
  },
  responses: {
    200: json(
      z.object({
        device: DeviceSchema,
        workflows: z.array(WorkflowSummary),
        auditEvents: z.array(AuditEvent),
      }),
      'The device history, oldest first',
    ),
    ...problemResponses,
    404: problem('No such device'),
  },
});

export const importCsvRoute = createRoute({
  method: 'post',
  path: '/api/devices/import',
  tags: ['devices'],
  summary: 'Pre-provision devices from CSV (columns name,type,label; type = device profile name)',
  security,
  request: {
    body: {
      required: true,
      content: {
        'text/csv': { schema: z.string().openapi({ example: 'name,type,label\nsensor-1,thermo,Boiler' }) },
      },
    },
  },
  responses: {
    200: json(
      z.object({
        created: z.number().int(),
        failed: z.number().int(),
        rows: z.array(
          z.object({
            row: z.number().int(),
            name: z.string(),
            status: z.enum(['created', 'failed']),
            deviceId: z.string().optional(),
            error: z.object({ code: z.string(), detail: z.string() }).optional(),
          }),
        ),
      }),
      'A result per row (row numbers count the header as 1)',
    ),
    ...problemResponses,
  },
});
