import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EdgeEventFeed, startEdgeEventFeed } from '../../api/edge/event-feed';
import type { EdgeEvent } from '../../domain/rotation';
import { appendEdgeEvent } from '../../registry/edge-events';
import { createTenantWithAdminKey } from '../../registry/tenants';
import { eventually } from '../support/eventually';
import { dialects, freshRegistry } from '../support/registry';

describe.each(dialects)('edge event feed (%s)', (dialect) => {
  let registry: Awaited<ReturnType<typeof freshRegistry>>;
  let tenantId: string;
  const logger = pino({ level: 'silent' });

  beforeAll(async () => {
    registry = await freshRegistry(dialect);
    tenantId = (await createTenantWithAdminKey(registry.db, 'feed', 'test')).tenant.id;
  });
  afterAll(async () => {
    await registry?.dispose();
  });

  const append = (deviceId: string) =>
    appendEdgeEvent(registry.db, { tenantId, deviceId, type: 'device.revoked', fingerprint: null });

  it('starts after the newest event and delivers later ones once, in order, past a failing handler', async () => {
    await append('before-start');
    const seen: string[] = [];
    let concurrent = 0;
    let overlapped = false;
    const feed: EdgeEventFeed = await startEdgeEventFeed({
      db: registry.db,
      intervalMs: 20,
      logger,
      onEvent: async (event: EdgeEvent) => {
        concurrent += 1;
        overlapped ||= concurrent > 1;
        await new Promise((r) => setTimeout(r, 5));
        concurrent -= 1;
        if (event.deviceId === 'throws') throw new Error('handler bug');
        seen.push(event.deviceId ?? '');
      },
    });
    try {
      for (const id of ['a', 'throws', 'b']) await append(id);
      // More than one page (500) arrives in one burst and is drained in order.
      for (let i = 0; i < 520; i++) await append(`bulk-${i}`);
      await eventually(
        () => Promise.resolve(seen.length),
        (n) => n >= 522,
        30_000,
      );
      expect(seen.slice(0, 2)).toEqual(['a', 'b']);
      expect(seen).toHaveLength(522);
      expect(seen.at(-1)).toBe('bulk-519');
      expect(seen).not.toContain('before-start');
      expect(overlapped).toBe(false);
    } finally {
      await feed.stop();
    }
    // Stopped: nothing more is delivered.
    await append('after-stop');
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).not.toContain('after-stop');
  });

  // PostgreSQL hands out seqs at insert; transactions commit in any order.
  it.runIf(dialect === 'postgres')(
    'delivers an event whose transaction commits after a later one',
    async () => {
      const seen: string[] = [];
      const feed = await startEdgeEventFeed({
        db: registry.db,
        intervalMs: 20,
        logger,
        onEvent: (event) => {
          seen.push(event.deviceId ?? '');
        },
      });
      try {
        let commit = () => {};
        const held = new Promise<void>((resolve) => (commit = resolve));
        let inserted = () => {};
        const taken = new Promise<void>((resolve) => (inserted = resolve));
        const slow = registry.db.transaction().execute(async (trx) => {
          await appendEdgeEvent(trx, {
            tenantId,
            deviceId: 'slow',
            type: 'device.revoked',
            fingerprint: null,
          });
          inserted();
          await held;
        });
        await taken;
        await append('fast');
        await eventually(
          () => Promise.resolve(seen),
          (s) => s.includes('fast'),
          10_000,
        );
        expect(seen).not.toContain('slow');
        commit();
        await slow;
        const after = await eventually(
          () => Promise.resolve(seen),
          (s) => s.includes('slow'),
          10_000,
        );
        expect(after.filter((d) => d === 'slow')).toHaveLength(1);
      } finally {
        await feed.stop();
      }
    },
  );
});
