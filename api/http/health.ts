import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from './context';
import { json } from './schemas';

const Check = z.object({ status: z.enum(['up', 'down']), error: z.string().optional() });
const Health = z
  .object({ status: z.enum(['ok', 'degraded']), checks: z.object({ database: Check, temporal: Check }) })
  .openapi('Health');

const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['operations'],
  summary: 'Health of the edge and its dependencies (Temporal, registry)',
  responses: { 200: json(Health, 'Every dependency answers'), 503: json(Health, 'A dependency is down') },
});

/** Each probe gets this long; a hung dependency must not hang the health check. */
const PROBE_TIMEOUT_MS = 3_000;

async function probe(check: () => Promise<void>): Promise<z.infer<typeof Check>> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)),
          PROBE_TIMEOUT_MS,
        );
      }),
    ]);
    return { status: 'up' };
  } catch (err) {
    // The first line only: enough to diagnose, no stack or connection strings.
    return { status: 'down', error: (err instanceof Error ? err.message : String(err)).split('\n')[0] };
  } finally {
    clearTimeout(timer);
  }
}

export function registerHealthRoute(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(healthRoute, async (c) => {
    const [database, temporal] = await Promise.all([
      probe(deps.health.database),
      probe(deps.health.temporal),
    ]);
    const ok = database.status === 'up' && temporal.status === 'up';
    return c.json({ status: ok ? 'ok' : 'degraded', checks: { database, temporal } }, ok ? 200 : 503);
  });
}
