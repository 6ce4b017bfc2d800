import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { CertflowError } from '../../../domain/errors';
import { parsePolicy } from '../../../domain/policy';
import {
  type CatalogTable,
  createCatalogItem,
  getCatalogItem,
  listCatalogItems,
} from '../../../registry/catalog';
import { rolesByMethod } from '../auth';
import type { AppDeps, AppEnv } from '../context';
import { IdParam, json, jsonBody, problem, problemResponses } from '../schemas';

const Name = z.string().min(1).max(128);
const security = [{ bearer: [] }];

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
    body: z.object({ name: Name, policy: z.record(z.string(), z.unknown()).optional() }).strict(),
    // A policy is validated before it is stored (a broken one would refuse every connect).
    toRow: (b: Record<string, unknown>) => ({
      name: b.name as string,
      policy: JSON.stringify(checkedPolicy(b.policy)),
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

function view(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    const camel = k.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());
    out[camel] = k === 'policy' && typeof v === 'string' ? JSON.parse(v) : v;
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
}
