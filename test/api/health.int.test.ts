import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/http/app';
import { pingRegistry } from '../../registry/connect';
import { freePort } from '../support/ports';
import { freshRegistry } from '../support/registry';
import { testClient } from '../support/temporal';

type Health = { status: string; checks: Record<string, { status: string; error?: string }> };

describe('GET /healthz', () => {
  let live: Client;
  beforeAll(async () => {
    live = await testClient();
  });
  afterAll(async () => {
    await live.connection.close();
  });

  function appOver(db: Awaited<ReturnType<typeof freshRegistry>>, client: Client) {
    return createApp({
      db: db.db,
      temporal: { client, taskQueue: 'unused' },
      workflowAnswerTimeoutMs: 1_000,
      logger: pino({ level: 'silent' }),
      health: {
        database: () => pingRegistry(db.db),
        temporal: async () => {
          await client.connection.workflowService.getSystemInfo({});
        },
      },
    });
  }

  it('is 200 when Temporal and the database answer', async () => {
    const registry = await freshRegistry('sqlite');
    const res = await appOver(registry, live).request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ok',
      checks: { database: { status: 'up' }, temporal: { status: 'up' } },
    });
    await registry.dispose();
  });

  it('is 503 naming Temporal when Temporal does not answer', async () => {
    const registry = await freshRegistry('sqlite');
    const dead = new Client({
      connection: Connection.lazy({ address: `127.0.0.1:${await freePort()}`, connectTimeout: 500 }),
    });
    const res = await appOver(registry, dead).request('/healthz');
    expect(res.status).toBe(503);
    const body = (await res.json()) as Health;
    expect(body.checks.database?.status).toBe('up');
    expect(body.checks.temporal?.status).toBe('down');
    await registry.dispose();
  });

  it('is 503 naming the database when the registry is gone', async () => {
    const registry = await freshRegistry('postgres');
    const app = appOver(registry, live);
    await registry.dispose();
    const res = await app.request('/healthz');
    expect(res.status).toBe(503);
    const body = (await res.json()) as Health;
    expect(body.checks.database?.status).toBe('down');
    expect(body.checks.temporal?.status).toBe('up');
    expect(JSON.stringify(body)).not.toContain('postgres://');
  });
});
