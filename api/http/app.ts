import { OpenAPIHono } from '@hono/zod-openapi';
import type { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { randomUUID } from 'node:crypto';
import { CertflowError, type FieldError } from '../../domain/errors';
import { registerApiKeyRoutes } from './api-keys/routes';
import { apiKeyAuth } from './auth';
import { registerCaRoutes } from './cas/routes';
import { registerCatalogRoutes } from './catalog/routes';
import type { AppDeps, AppEnv } from './context';
import { registerDeviceRoutes } from './devices/routes';
import { registerDocs } from './docs';
import { registerHealthRoute } from './health';
import { registerIssuingCaRoutes } from './issuing-cas/routes';
import { registerProfileRoutes } from './profiles/routes';
import { registerProvisionRoute } from './provision/routes';
import { registerRevocationRoutes } from './revocations/routes';
import { registerRotationRunRoutes } from './rotation-runs/routes';
import { problemResponse, toProblem } from './problem';

/** Bulk requests carry up to 1000 devices; nothing legitimate is larger. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;

/**
 * Builds the HTTP edge over its dependencies. No port: the entry point serves it, and tests
 * call `app.request()` directly.
 */
export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    // Validation failures become one problem naming every bad field.
    defaultHook: (result) => {
      if (result.success) return;
      const errors: FieldError[] = result.error.issues.map((i) => ({
        field: i.path.map(String).join('.') || `(${result.target})`,
        message: i.message,
      }));
      const summary = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
      throw new CertflowError('VALIDATION_FAILED', `invalid ${result.target}: ${summary}`, errors);
    },
  });

  app.use('*', async (c, next) => {
    const requestId = randomUUID();
    c.set('requestId', requestId);
    c.header('x-request-id', requestId);
    await next();
  });
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new CertflowError('PAYLOAD_TOO_LARGE', `the request body exceeds ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );
  // Devices provision with their profile's key and secret, not an API key.
  app.use('/api/*', apiKeyAuth(deps.db, { except: ['/api/v1/provision'] }));

  app.onError((err, c) => {
    const problem = toProblem(err, c.req.path, c.get('requestId'));
    if (problem.status >= 500)
      deps.logger.error({ err, requestId: problem.requestId, path: c.req.path }, 'request failed');
    return problemResponse(c, problem);
  });
  app.notFound((c) =>
    problemResponse(
      c,
      toProblem(
        new CertflowError('NOT_FOUND', `no route ${c.req.method} ${c.req.path}`),
        c.req.path,
        c.get('requestId'),
      ),
    ),
  );

  registerHealthRoute(app, deps);
  if (deps.provision) registerProvisionRoute(app, deps.provision);
  registerDeviceRoutes(app, deps);
  // After the device routes: it relies on their /api/devices/* role guard.
  registerRevocationRoutes(app, deps);
  registerRotationRunRoutes(app, deps);
  registerCatalogRoutes(app, deps);
  registerCaRoutes(app, deps);
  registerProfileRoutes(app, deps);
  registerIssuingCaRoutes(app, deps);
  registerApiKeyRoutes(app, deps);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key: `cf_<id>_<secret>`',
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'certflow',
      version: '0.1.0',
      description: 'Device identity lifecycle: provisioning, rotation, revocation and CA migration.',
    },
  });
  registerDocs(app as unknown as Hono<never>, '/openapi.json');
  return app;
}
