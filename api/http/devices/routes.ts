import type { OpenAPIHono } from '@hono/zod-openapi';
import { CertflowError } from '../../../domain/errors';
import { getDeviceById, listDevices, toDeviceView } from '../../../registry/devices';
import { createDevice, createDevicesInBulk, type CreateDeviceDeps } from '../../commands/create-devices';
import { importDevicesCsv } from '../../commands/import-csv';
import { listDeviceAudit, listDeviceWorkflows } from '../../queries/device-history';
import { rolesByMethod } from '../auth';
import type { AppDeps, AppEnv } from '../context';
import {
  bulkCreateRoute,
  createDeviceRoute,
  deviceHistoryRoute,
  getDeviceRoute,
  importCsvRoute,
  listDevicesRoute,
} from './contract';

export function registerDeviceRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const commands: CreateDeviceDeps = {
    client: deps.temporal.client,
    taskQueue: deps.temporal.taskQueue,
    eagerStart: deps.temporal.eagerStart,
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

  // Registered as a plain route (the body is CSV text, not JSON), documented by its contract.
  app.post(importCsvRoute.path, async (c) => {
    if (!/^text\/csv\b/i.test(c.req.header('content-type') ?? '')) {
      throw new CertflowError('VALIDATION_FAILED', 'send the CSV with content-type text/csv');
    }
    const key = c.get('apiKey');
    const rows = await importDevicesCsv(
      deps.db,
      commands,
      key.tenant_id,
      `api-key:${key.id}`,
      await c.req.text(),
    );
    const created = rows.filter((r) => r.status === 'created').length;
    return c.json({ created, failed: rows.length - created, rows }, 200);
  });
  app.openAPIRegistry.registerPath(importCsvRoute);

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
