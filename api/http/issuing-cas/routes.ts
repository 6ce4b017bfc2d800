import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { caStatuses } from '../../../domain/ca';
import { CertflowError } from '../../../domain/errors';
import { createIssuingCa } from '../../../pki/issuing/create-ca';
import type { Kek } from '../../../pki/issuing/key-envelope';
import {
  getIssuingCa,
  insertIssuingCa,
  listIssuingCas,
  setIssuingCaStatus,
} from '../../../registry/issuing-cas';
import { rolesByMethod } from '../auth';
import type { AppDeps, AppEnv } from '../context';
import { IdParam, json, jsonBody, problem, problemResponses } from '../schemas';

const IssuingCaSchema = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    name: z.string(),
    subject: z.string(),
    fingerprintSha256: z.string(),
    certificatePem: z.string(),
    chainPem: z.string(),
    notBefore: z.string(),
    notAfter: z.string(),
    status: z.enum(caStatuses),
    createdAt: z.string(),
  })
  .openapi('IssuingCa');

const Pem = z
  .string()
  .min(1)
  .max(64 * 1024);
const CreateSchema = z
  .object({
    name: z.string().min(1).max(64),
    generate: z
      .object({ validityDays: z.number().int().min(1).max(7300) })
      .strict()
      .optional(),
    import: z
      .object({ certificatePem: Pem, privateKeyPem: Pem, chainPem: Pem.optional() })
      .strict()
      .optional(),
  })
  .strict()
  .refine((b) => (b.generate === undefined) !== (b.import === undefined), {
    message: 'give exactly one of "generate" or "import"',
  });

const security = [{ bearer: [] }];
const base = { tags: ['issuing CAs'], security };
const routes = {
  create: createRoute({
    ...base,
    method: 'post',
    path: '/api/issuing-cas',
    summary: 'Create (generate) or import a CA that signs device CSRs; its key is encrypted at rest',
    request: { body: jsonBody(CreateSchema) },
    responses: {
      201: json(IssuingCaSchema, 'Created'),
      ...problemResponses,
      409: problem('Name taken'),
      422: problem('Unusable CA'),
    },
  }),
  list: createRoute({
    ...base,
    method: 'get',
    path: '/api/issuing-cas',
    summary: 'List issuing CAs (never their keys)',
    responses: {
      200: json(z.object({ issuingCas: z.array(IssuingCaSchema) }), 'Issuing CAs'),
      ...problemResponses,
    },
  }),
  get: createRoute({
    ...base,
    method: 'get',
    path: '/api/issuing-cas/{id}',
    summary: 'Get an issuing CA',
    request: { params: IdParam },
    responses: { 200: json(IssuingCaSchema, 'The CA'), ...problemResponses, 404: problem('Not found') },
  }),
  status: createRoute({
    ...base,
    method: 'patch',
    path: '/api/issuing-cas/{id}',
    summary: 'Change an issuing CA’s status (a revoked CA stays revoked)',
    request: { params: IdParam, body: jsonBody(z.object({ status: z.enum(caStatuses) }).strict()) },
    responses: { 200: json(IssuingCaSchema, 'Updated'), ...problemResponses, 404: problem('Not found') },
  }),
};

export function registerIssuingCaRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.use('/api/issuing-cas', rolesByMethod('operator'));
  app.use('/api/issuing-cas/*', rolesByMethod('operator'));
  const kek = (): Kek => {
    if (!deps.kek)
      throw new CertflowError('KEK_INVALID', 'no key encryption key is configured (CA_KEY_ENCRYPTION_KEY)');
    return deps.kek;
  };

  app.openapi(routes.create, async (c) => {
    const body = c.req.valid('json');
    const material = body.generate
      ? {
          ...(await createIssuingCa({
            name: body.name,
            validityDays: body.generate.validityDays,
            now: new Date(),
          })),
          chainPem: '',
        }
      : {
          certificatePem: body.import?.certificatePem ?? '',
          privateKeyPem: body.import?.privateKeyPem ?? '',
          chainPem: body.import?.chainPem ?? '',
        };
    const view = await insertIssuingCa(deps.db, {
      tenantId: c.get('apiKey').tenant_id,
      name: body.name,
      ...material,
      kek: kek(),
    });
    return c.json(view, 201);
  });
  app.openapi(routes.list, async (c) =>
    c.json({ issuingCas: await listIssuingCas(deps.db, c.get('apiKey').tenant_id) }, 200),
  );
  app.openapi(routes.get, async (c) => {
    const view = await getIssuingCa(deps.db, c.get('apiKey').tenant_id, c.req.valid('param').id);
    if (!view) throw new CertflowError('ISSUING_CA_NOT_FOUND', 'no such issuing CA in this tenant');
    return c.json(view, 200);
  });
  app.openapi(routes.status, async (c) =>
    c.json(
      await setIssuingCaStatus(
        deps.db,
        c.get('apiKey').tenant_id,
        c.req.valid('param').id,
        c.req.valid('json').status,
      ),
      200,
    ),
  );
}
