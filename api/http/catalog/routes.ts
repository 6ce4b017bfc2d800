import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { CertflowError } from '../../../domain/errors';
import { parsePolicy } from '../../../domain/policy';
import type { RenewalSettings } from '../../../domain/rotation';
import {
  type CatalogTable,
  createCatalogItem,
  getCatalogItem,
  listCatalogItems,
  readRenewalSettings,
  updateDeviceClass,
} from '../../../registry/catalog';
import type { Database } from '../../../registry/schema';
import type { Kysely } from 'kysely';
import { rolesByMethod } from '../auth';
import type { AppDeps, AppEnv } from '../context';
import { IdParam, json, jsonBody, problem, problemResponses } from '../schemas';

const Name = z.string().min(1).max(128);
const security = [{ bearer: [] }];

/**
 * Scheduled renewal of a class's certificates. Any field may be omitted: on create the
 * defaults of domain/rotation fill it, on update the stored value is kept.
 */
const RenewalSchema = z
  .object({
    enabled: z.boolean().optional(),
    windowFraction: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .openapi({ description: 'Renew in the last this-fraction of the lifetime (default 1/3)' }),
    jitterFraction: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .openapi({ description: 'Per-device shift into the window, as a fraction of it' }),
    deadlineSeconds: z
      .number()
      .int()
      .min(10)
      .max(30 * 86_400)
      .optional(),
    concurrency: z.number().int().min(1).max(1000).optional(),
    ratePerMinute: z.number().positive().max(1_000_000).nullable().optional(),
    issuingCaId: z.string().min(1).max(64).nullable().optional(),
  })
  .strict()
  .openapi('RenewalSettings');
type RenewalRequest = z.infer<typeof RenewalSchema>;

const DeviceClassBody = z
  .object({
    name: Name,
    policy: z.record(z.string(), z.unknown()).optional(),
    renewal: RenewalSchema.optional(),
  })
  .strict();
const DeviceClassPatch = z
  .object({ policy: z.record(z.string(), z.unknown()).optional(), renewal: RenewalSchema.optional() })
  .strict();

/** Each catalogue resource: its path, table, request schema and how a row is shown. */
const resources = [
  {
    path: 'products',
    table: 'products',
    schemaName: 'Product',
    body: z.object({ name: Name, description: z.string().max(1024).nullish() }).strict(),
    toRow: (b: Record<string, unknown>) => ({
      name: b.name as string,
      description: (b.description as string) ?? null,
    }),
  },
  {
    path: 'cohorts',
    table: 'cohorts',
    schemaName: 'Cohort',
    body: z.object({ name: Name, productId: z.string().max(64).nullish() }).strict(),
    toRow: (b: Record<string, unknown>) => ({
      name: b.name as string,
      product_id: (b.productId as string) ?? null,
    }),
  },
  {
    path: 'device-classes',
    table: 'device_classes',
    schemaName: 'DeviceClass',
    body: DeviceClassBody,
    // A policy is validated before it is stored (a broken one would refuse every connect).
    toRow: (b: Record<string, unknown>) => ({
      name: b.name as string,
      policy: JSON.stringify(checkedPolicy(b.policy)),
      renewal: JSON.stringify(mergeRenewal(readRenewalSettings('{}'), b.renewal as RenewalRequest)),
    }),
  },
] as const;

function checkedPolicy(policy: unknown): unknown {
  if (policy === undefined || policy === null) return {};
  try {
    parsePolicy(policy);
  } catch (err) {
    if (err instanceof CertflowError) {
      const fields = err.fieldErrors.map((f) => ({ field: `policy.${f.field}`, message: f.message }));
      throw new CertflowError('VALIDATION_FAILED', `invalid policy: ${err.message}`, fields);
    }
    throw err;
  }
  return policy;
}

/** Stored settings are complete: what the sweep reads does not change if defaults do. */
function mergeRenewal(current: RenewalSettings, patch: RenewalRequest | undefined): RenewalSettings {
  const defined = Object.fromEntries(Object.entries(patch ?? {}).filter(([, v]) => v !== undefined));
  return { ...current, ...defined };
}

/** The renewal's issuing CA must exist in the class's tenant. */
async function checkRenewalRefs(
  db: Kysely<Database>,
  tenantId: string,
  renewal: RenewalRequest | undefined,
): Promise<void> {
  const id = renewal?.issuingCaId;
  if (!id) return;
  const found = await db
    .selectFrom('issuing_cas')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!found) {
    throw new CertflowError(
      'REFERENCE_NOT_FOUND',
      `renewal.issuingCaId ${id} does not exist in this tenant`,
      [{ field: 'renewal.issuingCaId', message: 'does not exist in this tenant' }],
    );
  }
}

function view(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    const camel = k.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());
    if (k === 'renewal') out[camel] = readRenewalSettings(typeof v === 'string' ? v : null);
    else out[camel] = k === 'policy' && typeof v === 'string' ? JSON.parse(v) : v;
  }
  return out;
}

/** Products, cohorts and device classes: create, list and get, scoped to the key's tenant. */
export function registerCatalogRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  for (const r of resources) {
    const table: CatalogTable = r.table;
    const Item = z.record(z.string(), z.unknown()).openapi(r.schemaName);
    app.use(`/api/${r.path}`, rolesByMethod('operator'));
    app.use(`/api/${r.path}/*`, rolesByMethod('operator'));
    const base = { tags: ['catalog'], security };

    app.openapi(
      createRoute({
        ...base,
        method: 'post',
        path: `/api/${r.path}`,
        summary: `Create a ${r.schemaName}`,
        request: { body: jsonBody(r.body) },
        responses: { 201: json(Item, 'Created'), ...problemResponses, 409: problem('Name taken') },
      }),
      async (c) => {
        const body = await c.req.json<Record<string, unknown>>();
        if (r.table === 'device_classes')
          await checkRenewalRefs(deps.db, c.get('apiKey').tenant_id, body.renewal as RenewalRequest);
        const row = await createCatalogItem(
          deps.db,
          table,
          c.get('apiKey').tenant_id,
          r.toRow(body) as never,
        );
        return c.json(view(row), 201);
      },
    );
    app.openapi(
      createRoute({
        ...base,
        method: 'get',
        path: `/api/${r.path}`,
        summary: `List ${r.schemaName}s`,
        responses: {
          200: json(z.object({ items: z.array(Item) }), 'All of the tenant’s'),
          ...problemResponses,
        },
      }),
      async (c) => {
        const rows = await listCatalogItems(deps.db, table, c.get('apiKey').tenant_id);
        return c.json({ items: rows.map((row) => view(row)) }, 200);
      },
    );
    app.openapi(
      createRoute({
        ...base,
        method: 'get',
        path: `/api/${r.path}/{id}`,
        summary: `Get a ${r.schemaName}`,
        request: { params: IdParam },
        responses: { 200: json(Item, 'Found'), ...problemResponses, 404: problem('Not found') },
      }),
      async (c) => {
        const row = await getCatalogItem(deps.db, table, c.get('apiKey').tenant_id, c.req.valid('param').id);
        if (!row) throw new CertflowError('NOT_FOUND', `no such ${r.schemaName} in this tenant`);
        return c.json(view(row), 200);
      },
    );
  }
  registerDeviceClassUpdate(app, deps);
}

/** `PATCH /api/device-classes/{id}`: change the policy and/or the renewal settings. */
function registerDeviceClassUpdate(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(
    createRoute({
      tags: ['catalog'],
      security,
      method: 'patch',
      path: '/api/device-classes/{id}',
      summary: "Update a DeviceClass's policy or renewal settings (omitted fields are kept)",
      request: { params: IdParam, body: jsonBody(DeviceClassPatch) },
      responses: {
        200: json(z.record(z.string(), z.unknown()).openapi('DeviceClass'), 'Updated'),
        ...problemResponses,
        404: problem('Not found'),
        422: problem('The renewal issuing CA does not exist in this tenant'),
      },
    }),
    async (c) => {
      const tenantId = c.get('apiKey').tenant_id;
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const current = await getCatalogItem(deps.db, 'device_classes', tenantId, id);
      if (!current) throw new CertflowError('NOT_FOUND', 'no such DeviceClass in this tenant');
      await checkRenewalRefs(deps.db, tenantId, body.renewal);
      const row = await updateDeviceClass(deps.db, tenantId, id, {
        ...(body.policy === undefined ? {} : { policy: JSON.stringify(checkedPolicy(body.policy)) }),
        ...(body.renewal === undefined
          ? {}
          : { renewal: JSON.stringify(mergeRenewal(readRenewalSettings(current.renewal), body.renewal)) }),
      });
      if (!row) throw new CertflowError('NOT_FOUND', 'no such DeviceClass in this tenant');
      return c.json(view(row), 200);
    },
  );
}
