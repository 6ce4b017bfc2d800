import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { CertflowError } from '../../../domain/errors';
import { roles } from '../../../domain/roles';
import { createApiKey, listApiKeys, revokeApiKey } from '../../../registry/api-keys';
import { appendAuditEvent } from '../../../registry/audit';
import { requireRole } from '../auth';
import type { AppDeps, AppEnv } from '../context';
import { json, jsonBody, problem, problemResponses } from '../schemas';

const ApiKeySchema = z
  .object({
    id: z.string(),
    tenant_id: z.string(),
    name: z.string(),
    role: z.enum(roles),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
  })
  .openapi('ApiKey');

const security = [{ bearer: [] }];
const KeyParam = z.object({
  id: z
    .string()
    .regex(/^[0-9a-f]{16}$/)
    .openapi({ param: { name: 'id', in: 'path' } }),
});

const createKey = createRoute({
  method: 'post',
  path: '/api/api-keys',
  tags: ['api-keys'],
  summary: 'Create an API key in the caller’s tenant (admin); the key is shown once',
  security,
  request: { body: jsonBody(z.object({ name: z.string().min(1).max(128), role: z.enum(roles) }).strict()) },
  responses: {
    201: json(z.object({ apiKey: ApiKeySchema, key: z.string() }), 'Created'),
    ...problemResponses,
  },
});

const listKeys = createRoute({
  method: 'get',
  path: '/api/api-keys',
  tags: ['api-keys'],
  summary: 'List the tenant’s API keys (admin); secrets are never returned',
  security,
  responses: { 200: json(z.object({ apiKeys: z.array(ApiKeySchema) }), 'Keys'), ...problemResponses },
});

const revokeKey = createRoute({
  method: 'delete',
  path: '/api/api-keys/{id}',
  tags: ['api-keys'],
  summary: 'Revoke an API key (admin); idempotent',
  security,
  request: { params: KeyParam },
  responses: { 200: json(ApiKeySchema, 'Revoked'), ...problemResponses, 404: problem('No such key') },
});

export function registerApiKeyRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.use('/api/api-keys', requireRole('admin'));
  app.use('/api/api-keys/*', requireRole('admin'));

  app.openapi(createKey, async (c) => {
    const caller = c.get('apiKey');
    const body = c.req.valid('json');
    const created = await createApiKey(deps.db, { tenantId: caller.tenant_id, ...body });
    await appendAuditEvent(deps.db, {
      tenantId: caller.tenant_id,
      eventKey: `api-key.created/${created.apiKey.id}`,
      type: 'api-key.created',
      actor: `api-key:${caller.id}`,
      data: { id: created.apiKey.id, name: body.name, role: body.role },
    });
    return c.json({ apiKey: { ...created.apiKey, role: body.role }, key: created.key }, 201);
  });

  app.openapi(listKeys, async (c) => {
    const keys = await listApiKeys(deps.db, c.get('apiKey').tenant_id);
    return c.json({ apiKeys: keys.map((k) => ({ ...k, role: k.role as (typeof roles)[number] })) }, 200);
  });

  app.openapi(revokeKey, async (c) => {
    const caller = c.get('apiKey');
    const { id } = c.req.valid('param');
    const key = await revokeApiKey(deps.db, caller.tenant_id, id);
    if (!key) throw new CertflowError('NOT_FOUND', 'no such API key in this tenant');
    await appendAuditEvent(deps.db, {
      tenantId: caller.tenant_id,
      eventKey: `api-key.revoked/${id}`,
      type: 'api-key.revoked',
      actor: `api-key:${caller.id}`,
      data: { id },
    });
    return c.json({ ...key, role: key.role as (typeof roles)[number] }, 200);
  });
}
