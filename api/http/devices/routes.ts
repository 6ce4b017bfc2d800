import type { OpenAPIHono } from '@hono/zod-openapi';
import { CertflowError } from '../../../domain/errors';
import { getDeviceById, listDevices, toDeviceView } from '../../../registry/devices';
import { createDevice, createDevicesInBulk, type CreateDeviceDeps } from '../../commands/create-devices';
import { listDeviceAudit, listDeviceWorkflows } from '../../queries/device-history';
import { rolesByMethod } from '../auth';
import type { AppDeps, AppEnv } from '../context';
import {
  bulkCreateRoute,
  createDeviceRoute,
  deviceHistoryRoute,
  getDeviceRoute,
  listDevicesRoute,
} from './contract';

export function registerDeviceRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const commands: CreateDeviceDeps = {
    client: deps.temporal.client,
    taskQueue: deps.temporal.taskQueue,
    answerTimeoutMs: deps.workflowAnswerTimeoutMs,
  };
  app.use('/api/devices', rolesByMethod('operator'));
  app.use('/api/devices/*', rolesByMethod('operator'));

  app.openapi(createDeviceRoute, async (c) => {
    const key = c.get('apiKey');
    const created = await createDevice(commands, key.tenant_id, `api-key:${key.id}`, c.req.valid('json'));
    return c.json(created, 201);
  });

  app.openapi(bulkCreateRoute, async (c) => {
    const key = c.get('apiKey');
    const results = await createDevicesInBulk(
      commands,
      key.tenant_id,
      `api-key:${key.id}`,
      c.req.valid('json').devices,
    );
    const created = results.filter((r) => r.status === 'created').length;
    return c.json({ created, failed: results.length - created, results }, 200);
  });

  app.openapi(listDevicesRoute, async (c) => {
    const { limit, after } = c.req.valid('query');
    const rows = await listDevices(deps.db, c.get('apiKey').tenant_id, { limit, after });
    const next = rows.length === limit ? (rows.at(-1)?.id ?? null) : null;
    return c.json({ devices: rows.map(toDeviceView), next }, 200);
  });

  app.openapi(getDeviceRoute, async (c) => {
    const row = await getDeviceById(deps.db, c.get('apiKey').tenant_id, c.req.valid('param').id);
    if (!row) throw new CertflowError('DEVICE_NOT_FOUND', 'no such device in this tenant');
    return c.json(toDeviceView(row), 200);
  });

  app.openapi(deviceHistoryRoute, async (c) => {
    const tenantId = c.get('apiKey').tenant_id;
    const row = await getDeviceById(deps.db, tenantId, c.req.valid('param').id);
    if (!row) throw new CertflowError('DEVICE_NOT_FOUND', 'no such device in this tenant');
    const full = c.req.valid('query').full === 'true';
    const [workflows, auditEvents] = await Promise.all([
      listDeviceWorkflows(deps.temporal.client, tenantId, row.id, full),
      listDeviceAudit(deps.db, tenantId, row.id),
    ]);
    return c.json({ device: toDeviceView(row), workflows, auditEvents }, 200);
  });
}
