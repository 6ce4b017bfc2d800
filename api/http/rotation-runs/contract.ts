import { createRoute, z } from '@hono/zod-openapi';
import { ITEM_STATES, RUN_STATUSES } from '../../../domain/rotation';
import { json, jsonBody, problem, problemResponses, TagSchema } from '../schemas';

/** Bounds of a run's options: what one run may ask of the workers and the fleet. */
export const MAX_CONCURRENCY = 1000;
export const MIN_DEADLINE_SECONDS = 10;
export const MAX_DEADLINE_SECONDS = 30 * 86_400;
/** An explicit device list fits in the 2 MiB body limit with room to spare. */
export const MAX_SELECTED_DEVICE_IDS = 10_000;

const Ref = z.string().min(1).max(64);
const IsoInstant = z.iso
  .datetime({ offset: true })
  .openapi({ example: '2027-01-01T00:00:00Z', description: 'ISO-8601 instant' });

const SELECTION_FIELDS = [
  'productId',
  'cohortId',
  'deviceClassId',
  'tags',
  'caId',
  'expiringBefore',
  'deviceIds',
] as const;

export const SelectionSchema = z
  .object({
    productId: Ref.optional(),
    cohortId: Ref.optional(),
    deviceClassId: Ref.optional(),
    tags: z.array(TagSchema).min(1).max(64).optional().openapi({ description: 'All must be present' }),
    caId: Ref.optional().openapi({
      description: 'Registered CA or issuing CA of the active certificate',
    }),
    expiringBefore: IsoInstant.optional().openapi({
      description: "Active certificate's notAfter strictly before this instant",
    }),
    deviceIds: z.array(Ref).min(1).max(MAX_SELECTED_DEVICE_IDS).optional(),
  })
  .strict()
  // A run over "everything" must be asked for by a criterion, never by forgetting one.
  .refine((s) => SELECTION_FIELDS.some((f) => s[f] !== undefined), {
    message: `give at least one criterion: ${SELECTION_FIELDS.join(', ')}`,
  })
  .openapi('RotationSelection', { description: 'Criteria combine with AND' });

export const OptionsSchema = z
  .object({
    concurrency: z.number().int().min(1).max(MAX_CONCURRENCY).optional(),
    ratePerMinute: z
      .number()
      .positive()
      .max(1_000_000)
      .nullable()
      .optional()
      .openapi({ description: 'Devices started per minute; null: as fast as concurrency allows' }),
    deadlineSeconds: z.number().int().min(MIN_DEADLINE_SECONDS).max(MAX_DEADLINE_SECONDS).optional(),
    abortAfterFailures: z
      .number()
      .int()
      .min(0)
      .nullable()
      .optional()
      .openapi({ description: 'Abort once this many devices failed or rolled back; null: never' }),
    issuingCaId: Ref.nullable().optional(),
  })
  .strict()
  .openapi('RotationOptionsRequest');

export const StartRunSchema = z
  .object({
    selection: SelectionSchema,
    options: OptionsSchema.optional(),
    dryRun: z.boolean().optional().openapi({ description: 'Count and sample only; writes nothing' }),
  })
  .strict()
  .openapi('StartRotationRun');

const Counts = z.object(Object.fromEntries(ITEM_STATES.map((s) => [s, z.number().int()])));

export const RunProgressSchema = z
  .object({
    runId: z.string(),
    tenantId: z.string(),
    status: z.enum(RUN_STATUSES),
    total: z.number().int().openapi({ description: '0 until the run has listed its devices' }),
    counts: Counts,
    options: z.object({
      concurrency: z.number().int(),
      ratePerMinute: z.number().nullable(),
      deadlineSeconds: z.number().int(),
      abortAfterFailures: z.number().int().nullable(),
      issuingCaId: z.string().nullable(),
    }),
    selection: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    statusReason: z.string().nullable(),
  })
  .openapi('RotationRun');

const SampleDevice = z.object({
  deviceId: z.string(),
  deviceName: z.string(),
  fingerprint: z.string(),
  notAfter: z.string().nullable(),
});

export const DryRunSchema = z
  .object({
    dryRun: z.literal(true),
    devices: z.number().int(),
    sample: z.array(SampleDevice),
    estimatedSeconds: z.number().int(),
    estimate: z.string(),
  })
  .openapi('RotationDryRun');

export const RunItemSchema = z
  .object({
    deviceId: z.string(),
    deviceName: z.string(),
    seq: z.number().int(),
    state: z.enum(ITEM_STATES),
    reason: z.string().nullable(),
    oldFingerprint: z.string().nullable(),
    newFingerprint: z.string().nullable(),
    updatedAt: z.string(),
  })
  .openapi('RotationRunItem');

export const ReportSchema = z
  .object({
    run: RunProgressSchema,
    final: z.boolean().openapi({ description: 'False while the run can still change' }),
    problems: z.array(RunItemSchema).openapi({ description: 'Every item that did not succeed' }),
    truncated: z.boolean(),
  })
  .openapi('RotationRunReport');

const RunParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' } }),
});
const security = [{ bearer: [] }];
const base = { tags: ['rotation runs'], security };
const notFound = problem('No such run in this tenant');

export const startRunRoute = createRoute({
  ...base,
  method: 'post',
  path: '/api/rotation-runs',
  summary: 'Start a fleet rotation run (or a dry run that only counts)',
  request: { body: jsonBody(StartRunSchema) },
  responses: {
    200: json(DryRunSchema, 'Dry run: what the run would cover; nothing was written'),
    202: json(RunProgressSchema, 'Accepted: the run is starting (see Location)'),
    ...problemResponses,
    422: problem('A referenced resource does not exist, or the selection matches no device'),
    503: problem('The run could not be started; it is recorded as failed'),
  },
});

export const listRunsRoute = createRoute({
  ...base,
  method: 'get',
  path: '/api/rotation-runs',
  summary: 'List rotation runs, newest first (keyset pagination)',
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(500).default(50),
      after: Ref.optional().openapi({ description: 'Last run id of the previous page' }),
    }),
  },
  responses: {
    200: json(z.object({ runs: z.array(RunProgressSchema), next: z.string().nullable() }), 'A page'),
    ...problemResponses,
  },
});

export const getRunRoute = createRoute({
  ...base,
  method: 'get',
  path: '/api/rotation-runs/{id}',
  summary: 'Progress of a run: exact per-state counts',
  request: { params: RunParam },
  responses: { 200: json(RunProgressSchema, 'The run'), ...problemResponses, 404: notFound },
});

export const listItemsRoute = createRoute({
  ...base,
  method: 'get',
  path: '/api/rotation-runs/{id}/items',
  summary: "A run's devices with their states and reasons, in run order",
  request: {
    params: RunParam,
    query: z.object({
      state: z.enum(ITEM_STATES).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      after: z.coerce
        .number()
        .int()
        .min(0)
        .optional()
        .openapi({ description: 'Last seq of the previous page' }),
    }),
  },
  responses: {
    200: json(z.object({ items: z.array(RunItemSchema), next: z.number().int().nullable() }), 'A page'),
    ...problemResponses,
    404: notFound,
  },
});

export const reportRoute = createRoute({
  ...base,
  method: 'get',
  path: '/api/rotation-runs/{id}/report',
  summary: 'The report of a run: counts, status and every device that did not succeed',
  request: { params: RunParam },
  responses: {
    200: json(ReportSchema, 'The report (so far, while running)'),
    ...problemResponses,
    404: notFound,
  },
});

const controlResponses = {
  200: json(RunProgressSchema, 'The run with the status reached'),
  ...problemResponses,
  404: notFound,
  409: problem('The run has finished, or is not in a state that allows this'),
  504: problem('The run workflow did not answer in time'),
};

const control = (verb: 'pause' | 'resume', summary: string) =>
  createRoute({
    ...base,
    method: 'post',
    path: `/api/rotation-runs/{id}/${verb}`,
    summary,
    request: { params: RunParam },
    responses: controlResponses,
  });

export const CancelSchema = z
  .object({ reason: z.string().trim().min(1).max(500).optional() })
  .strict()
  .openapi('CancelRotationRun');

export const pauseRunRoute = control('pause', 'Pause a run: no new device starts; those in flight finish');
export const resumeRunRoute = control('resume', 'Resume a paused run');
export const cancelRunRoute = createRoute({
  ...base,
  method: 'post',
  path: '/api/rotation-runs/{id}/cancel',
  summary:
    'Cancel a run: devices not started are marked cancelled; those in flight are cancelled and roll back',
  request: {
    params: RunParam,
    body: { required: false, content: { 'application/json': { schema: CancelSchema } } },
  },
  responses: controlResponses,
});
