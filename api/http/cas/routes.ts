import type { OpenAPIHono } from '@hono/zod-openapi';
import { caExpiry } from '../../../domain/ca';
import { CertflowError } from '../../../domain/errors';
import { type CaView, getCa, listCas, newRegistrationCode } from '../../../registry/cas';
import { changeCa, registerCa } from '../../commands/register-ca';
import { rolesByMethod } from '../auth';
import type { AppDeps, AppEnv } from '../context';
import { getCaRoute, listCasRoute, registerCaRoute, registrationCodeRoute, updateCaRoute } from './contract';

export function registerCaRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const now = () => deps.now?.() ?? new Date();
  const show = (ca: CaView) => ({
    ...ca,
    expiry: caExpiry(ca.notAfter, now(), deps.caExpiryWarningDays ?? 30),
  });
  app.use('/api/cas', rolesByMethod('operator'));
  app.use('/api/cas/*', rolesByMethod('operator'));

  app.openapi(registrationCodeRoute, async (c) => {
    return c.json({ registrationCode: await newRegistrationCode(deps.db, c.get('apiKey').tenant_id) }, 200);
  });
  app.openapi(registerCaRoute, async (c) => {
    const ca = await registerCa(deps.db, c.get('apiKey').tenant_id, c.req.valid('json'), now());
    return c.json(show(ca), 201);
  });
  app.openapi(listCasRoute, async (c) => {
    const cas = await listCas(deps.db, c.get('apiKey').tenant_id);
    return c.json({ cas: cas.map(show) }, 200);
  });
  app.openapi(getCaRoute, async (c) => {
    const ca = await getCa(deps.db, c.get('apiKey').tenant_id, c.req.valid('param').id);
    if (!ca) throw new CertflowError('CA_NOT_FOUND', 'no such CA in this tenant');
    return c.json(show(ca), 200);
  });
  app.openapi(updateCaRoute, async (c) => {
    const ca = await changeCa(
      deps.db,
      c.get('apiKey').tenant_id,
      c.req.valid('param').id,
      c.req.valid('json'),
    );
    return c.json(show(ca), 200);
  });
}
