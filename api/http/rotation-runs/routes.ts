import type { OpenAPIHono } from '@hono/zod-openapi';
import { CertflowError } from '../../../domain/errors';
import { getRotationRun, listRotationRuns, listRunItems } from '../../../registry/runs';
import { controlRotationRun, type RunControl } from '../../commands/control-rotation-run';
import { type RunCommandDeps, startRotationRun } from '../../commands/start-rotation-run';
import { rolesByMethod } from '../auth';
import type { AppDeps, AppEnv } from '../context';
import {
  cancelRunRoute,
  getRunRoute,
  listItemsRoute,
  listRunsRoute,
  pauseRunRoute,
  reportRoute,
  resumeRunRoute,
  startRunRoute,
} from './contract';
import { buildRunReport } from './report';

/**
 * Fleet rotation runs. Reads for every role; starting and controlling a run for operators.
 * Every query is scoped to the API key's tenant: another tenant's run is "not found".
 */
export function registerRotationRunRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const commands: RunCommandDeps = {
    db: deps.db,
    client: deps.temporal.client,
    taskQueue: deps.temporal.taskQueue,
    answerTimeoutMs: deps.workflowAnswerTimeoutMs,
  };
  app.use('/api/rotation-runs', rolesByMethod('operator'));
  app.use('/api/rotation-runs/*', rolesByMethod('operator'));

  const mustGet = async (tenantId: string, runId: string) => {
    const run = await getRotationRun(deps.db, tenantId, runId);
    if (!run) throw new CertflowError('ROTATION_NOT_FOUND', `no rotation run ${runId} in this tenant`);
    return run;
  };

  app.openapi(startRunRoute, async (c) => {
    const key = c.get('apiKey');
    const body = c.req.valid('json');
    const started = await startRotationRun(commands, key.tenant_id, `api-key:${key.id}`, {
      selection: body.selection,
      ...(body.options ? { options: body.options } : {}),
      ...(body.dryRun !== undefined ? { dryRun: body.dryRun } : {}),
    });
    if (started.dryRun) return c.json(started.answer, 200);
    c.header('location', `/api/rotation-runs/${started.run.runId}`);
    return c.json(started.run, 202);
  });

  app.openapi(listRunsRoute, async (c) => {
    const { limit, after } = c.req.valid('query');
    const runs = await listRotationRuns(deps.db, c.get('apiKey').tenant_id, {
      limit,
      ...(after ? { after } : {}),
    });
    const next = runs.length === limit ? (runs.at(-1)?.runId ?? null) : null;
    return c.json({ runs, next }, 200);
  });

  app.openapi(getRunRoute, async (c) => {
    return c.json(await mustGet(c.get('apiKey').tenant_id, c.req.valid('param').id), 200);
  });

  app.openapi(listItemsRoute, async (c) => {
    const tenantId = c.get('apiKey').tenant_id;
    const run = await mustGet(tenantId, c.req.valid('param').id);
    const { state, limit, after } = c.req.valid('query');
    const items = await listRunItems(deps.db, tenantId, run.runId, {
      limit,
      ...(state ? { state } : {}),
      ...(after !== undefined ? { afterSeq: after } : {}),
    });
    const next = items.length === limit ? (items.at(-1)?.seq ?? null) : null;
    return c.json({ items, next }, 200);
  });

  app.openapi(reportRoute, async (c) => {
    const tenantId = c.get('apiKey').tenant_id;
    const run = await mustGet(tenantId, c.req.valid('param').id);
    return c.json(await buildRunReport(deps.db, tenantId, run), 200);
  });

  const control = (c: { get(k: 'apiKey'): { tenant_id: string } }, runId: string, what: RunControl) =>
    controlRotationRun(commands, c.get('apiKey').tenant_id, runId, what);

  app.openapi(pauseRunRoute, async (c) =>
    c.json(await control(c, c.req.valid('param').id, { verb: 'pause' }), 200),
  );
  app.openapi(resumeRunRoute, async (c) =>
    c.json(await control(c, c.req.valid('param').id, { verb: 'resume' }), 200),
  );
  app.openapi(cancelRunRoute, async (c) => {
    const key = c.get('apiKey');
    // The body is optional (an empty POST cancels without a reason); the validator yields {} then.
    const body = c.req.valid('json');
    const reason = body.reason ?? `cancelled by api-key:${key.id}`;
    return c.json(await control(c, c.req.valid('param').id, { verb: 'cancel', reason }), 200);
  });
}
