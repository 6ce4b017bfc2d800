import type { Client } from '@temporalio/client';
import pino from 'pino';
import { RateLimiter } from '../../api/edge/rate-limit';
import { createApp } from '../../api/http/app';
import { parseKek } from '../../pki/issuing/key-envelope';
import { randomBytes } from 'node:crypto';
import { createProvisionHandler } from '../../api/provisioning/provision';
import type { Role } from '../../domain/roles';
import { createApiKey } from '../../registry/api-keys';
import { pingRegistry, type Registry } from '../../registry/connect';
import { createTenantWithAdminKey } from '../../registry/tenants';
import { type Dialect, freshRegistry } from './registry';
import { clientOnWorkerConnection } from '../../runtime/temporal';
import { NAMESPACE, startTestWorker, testClient } from './temporal';

export interface TestTenant {
  id: string;
  keys: Record<Role, string>;
}

export interface TestPlatform {
  registry: Registry;
  client: Client;
  taskQueue: string;
  /** The client shares the worker's NativeConnection and asks for eager workflow start. */
  eagerStart: boolean;
  app: ReturnType<typeof createApp>;
  tenantA: TestTenant;
  tenantB: TestTenant;
  /** `app.request` with a bearer key and a JSON body. */
  call(key: string | undefined, method: string, path: string, body?: unknown): Promise<Response>;
  stop(): Promise<void>;
}

async function tenantWithKeys(registry: Registry, name: string): Promise<TestTenant> {
  const { tenant, adminKey } = await createTenantWithAdminKey(registry.db, name, 'test');
  const operator = await createApiKey(registry.db, { tenantId: tenant.id, name: 'op', role: 'operator' });
  const auditor = await createApiKey(registry.db, { tenantId: tenant.id, name: 'aud', role: 'auditor' });
  return { id: tenant.id, keys: { admin: adminKey, operator: operator.key, auditor: auditor.key } };
}

/**
 * The HTTP edge over a real registry, a real worker and the real Temporal dev server. With
 * `eagerStart` the client is built on the worker's own connection, as in the all-in-one.
 */
export async function startTestPlatform(
  dialect: Dialect,
  opts: { eagerStart?: boolean } = {},
): Promise<TestPlatform> {
  const registry = await freshRegistry(dialect);
  const kek = parseKek(randomBytes(32).toString('base64'));
  const worker = await startTestWorker(registry.db, { kek, deviceCertificateDays: 30 });
  const eagerStart = opts.eagerStart === true;
  const client = eagerStart
    ? await clientOnWorkerConnection(worker.connection, NAMESPACE)
    : await testClient();
  const provision = createProvisionHandler({
    db: registry.db,
    client,
    taskQueue: worker.taskQueue,
    eagerStart,
    answerTimeoutMs: 30_000,
    perSource: new RateLimiter({ perSecond: 10_000, burst: 10_000 }),
    logger: pino({ level: 'silent' }),
  });
  const app = createApp({
    provision,
    kek,
    db: registry.db,
    temporal: { client, taskQueue: worker.taskQueue, eagerStart },
    workflowAnswerTimeoutMs: 30_000,
    logger: pino({ level: 'silent' }),
    health: {
      database: () => pingRegistry(registry.db),
      temporal: async () => {
        await client.connection.workflowService.getSystemInfo({});
      },
    },
  });
  const tenantA = await tenantWithKeys(registry, 'tenant-a');
  const tenantB = await tenantWithKeys(registry, 'tenant-b');
  return {
    registry,
    client,
    taskQueue: worker.taskQueue,
    eagerStart,
    app,
    tenantA,
    tenantB,
    call: (key, method, path, body) =>
      Promise.resolve(
        app.request(path, {
          method,
          headers: {
            ...(key ? { authorization: `Bearer ${key}` } : {}),
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        }),
      ),
    stop: async () => {
      await worker.stop(); // closes the client's connection too when it is the worker's
      if (!eagerStart) await client.connection.close();
      await registry.dispose();
    },
  };
}
