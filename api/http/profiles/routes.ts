import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { CertflowError } from '../../../domain/errors';
import { credentialTypes, provisionStrategies } from '../../../domain/provisioning';
import {
  createProfile,
  getProfile,
  listProfiles,
  rotateProvisionSecret,
  updateProfile,
} from '../../../registry/profiles';
import { rolesByMethod } from '../auth';
import type { AppDeps, AppEnv } from '../context';
import { IdParam, json, jsonBody, problem, problemResponses } from '../schemas';

const Settings = {
  strategy: z.enum(provisionStrategies),
  allowedCredentialTypes: z.array(z.enum(credentialTypes)).min(1),
  deviceClassId: z.string().max(64).nullable(),
  issuingCaId: z.string().max(64).nullable(),
  allowReprovision: z.boolean(),
  ratePerMinute: z.number().int().min(1).max(1_000_000),
};

const ProfileSchema = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    name: z.string(),
    provisionKey: z.string().nullable(),
    ...Settings,
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('DeviceProfile');

const CreateSchema = z
  .object({
    name: z.string().min(1).max(128),
    strategy: Settings.strategy.default('ALLOW_CREATE_NEW_DEVICES'),
    allowedCredentialTypes: Settings.allowedCredentialTypes.default(['ACCESS_TOKEN']),
    deviceClassId: Settings.deviceClassId.default(null),
    issuingCaId: Settings.issuingCaId.default(null),
    allowReprovision: Settings.allowReprovision.default(false),
    ratePerMinute: Settings.ratePerMinute.default(600),
  })
  .strict();

const security = [{ bearer: [] }];
const base = { tags: ['device profiles'], security };

const routes = {
  create: createRoute({
    ...base,
    method: 'post',
    path: '/api/device-profiles',
    summary: 'Create a device profile; its provision secret is returned once',
    request: { body: jsonBody(CreateSchema) },
    responses: {
      201: json(z.object({ profile: ProfileSchema, provisionSecret: z.string() }), 'Created'),
      ...problemResponses,
      409: problem('Name taken'),
      422: problem('Unknown device class or issuing CA'),
    },
  }),
  list: createRoute({
    ...base,
    method: 'get',
    path: '/api/device-profiles',
    summary: 'List device profiles',
    responses: { 200: json(z.object({ profiles: z.array(ProfileSchema) }), 'Profiles'), ...problemResponses },
  }),
  get: createRoute({
    ...base,
    method: 'get',
    path: '/api/device-profiles/{id}',
    summary: 'Get a device profile',
    request: { params: IdParam },
    responses: { 200: json(ProfileSchema, 'The profile'), ...problemResponses, 404: problem('Not found') },
  }),
  update: createRoute({
    ...base,
    method: 'patch',
    path: '/api/device-profiles/{id}',
    summary: 'Change a profile’s settings (only the fields given)',
    request: { params: IdParam, body: jsonBody(z.object(Settings).partial().strict()) },
    responses: { 200: json(ProfileSchema, 'Updated'), ...problemResponses, 404: problem('Not found') },
  }),
  rotate: createRoute({
    ...base,
    method: 'post',
    path: '/api/device-profiles/{id}/rotate-secret',
    summary: 'Replace the provision secret; the new one is returned once and the old one stops working',
    request: { params: IdParam },
    responses: {
      200: json(z.object({ provisionSecret: z.string() }), 'The new secret'),
      ...problemResponses,
    },
  }),
};

export function registerProfileRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.use('/api/device-profiles', rolesByMethod('operator'));
  app.use('/api/device-profiles/*', rolesByMethod('operator'));
  const tenant = (c: { get(k: 'apiKey'): { tenant_id: string } }) => c.get('apiKey').tenant_id;

  app.openapi(routes.create, async (c) => {
    const { name, ...settings } = c.req.valid('json');
    return c.json(await createProfile(deps.db, tenant(c), name, settings), 201);
  });
  app.openapi(routes.list, async (c) => c.json({ profiles: await listProfiles(deps.db, tenant(c)) }, 200));
  app.openapi(routes.get, async (c) => {
    const profile = await getProfile(deps.db, tenant(c), c.req.valid('param').id);
    if (!profile) throw new CertflowError('NOT_FOUND', 'no such profile in this tenant');
    return c.json(profile, 200);
  });
  app.openapi(routes.update, async (c) =>
    c.json(await updateProfile(deps.db, tenant(c), c.req.valid('param').id, c.req.valid('json')), 200),
  );
  app.openapi(routes.rotate, async (c) =>
    c.json(
      { provisionSecret: await rotateProvisionSecret(deps.db, tenant(c), c.req.valid('param').id) },
      200,
    ),
  );
}
