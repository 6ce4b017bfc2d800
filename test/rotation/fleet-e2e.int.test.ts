import { Client, Connection } from '@temporalio/client';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import type { ItemState, RunProgress } from '../../domain/rotation';
import { parseKek } from '../../pki/issuing/key-envelope';
import { openRegistry, type Registry } from '../../registry/connect';
import { migrateToLatest } from '../../registry/migrate';
import { createTenantWithAdminKey } from '../../registry/tenants';
import { type Edge, startEdge } from '../../runtime/edge';
import { createManufacturerCa } from '../../sim/credentials';
import { createSimulatedFleet, type SimulatedFleet } from '../../sim/fleet';
import {
  createIssuingCa,
  httpOperatorApi,
  type OperatorCall,
  registerManufacturerCa,
} from '../../sim/operator-api';
import { eventually } from '../support/eventually';
import { testEdgeSettings } from '../support/jitp';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

/*
 * The end-to-end case: a fleet rotation run over 200 simulated devices (real MQTT/TLS
 * connections, real keys) with some offline, some slow, some sending a bad CSR first and some never
 * confirming, driven through the operator HTTP API, while the worker — a separate `npm run worker`
 * process — is killed with SIGKILL mid-run and started again. Every device must end in exactly the
 * expected state, with exactly one active certificate and no certificate issued twice.
 */

const COUNT = 200;
const OFFLINE = 20;
const NEVER_CONFIRM = 15;
const SLOW = 10;
const BAD_CSR = 5;
const DEADLINE_SECONDS = 40;

describe('fleet rotation run, end to end with the simulator and a killed worker', () => {
  let dir: string;
  let registry: Registry;
  let client: Client;
  let edge: Edge;
  let worker: WorkerProcess | undefined;
  let fleet: SimulatedFleet;
  let call: OperatorCall;
  let issuingCaId: string;
  const taskQueue = `e2e-${randomBytes(6).toString('hex')}`;
  const kekText = randomBytes(32).toString('base64');

  const startWorker = async () =>
    startWorkerProcess({
      temporalAddress: inject('temporalAddress'),
      taskQueue,
      databaseUrl: join(dir, 'registry.sqlite'),
      dataDir: dir,
      kek: kekText,
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certflow-e2e-'));
    registry = openRegistry({ dialect: 'sqlite', file: join(dir, 'registry.sqlite') });
    await migrateToLatest(registry.db);
    const tenant = await createTenantWithAdminKey(registry.db, 'e2e', 'test');
    worker = await startWorker();
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection, namespace: 'default' });
    edge = await startEdge({
      db: registry.db,
      client,
      logger: pino({ level: 'silent' }),
      kek: parseKek(kekText),
      settings: testEdgeSettings(dir, taskQueue, { holdTimeoutMs: 30_000, eventPollMs: 500 }),
    });
    call = httpOperatorApi(`http://127.0.0.1:${edge.httpPort}`, tenant.adminKey);
    const manufacturer = await createManufacturerCa('e2e manufacturer CA');
    await registerManufacturerCa(call, manufacturer, { enabled: true, tags: ['e2e-fleet'] });
    issuingCaId = (await createIssuingCa(call, 'e2e rotation CA')).id;
    fleet = await createSimulatedFleet({
      mqttsUrl: `mqtts://localhost:${edge.broker.ports.tls}`,
      serverCaPem: readFileSync(edge.caFile, 'utf8'),
      manufacturer,
      count: COUNT,
      namePrefix: 'e2e',
      // Offline devices are provisioned first and taken off line before the run (below).
      behaviours: { neverConfirm: NEVER_CONFIRM, slow: { count: SLOW, delayMs: 1_500 }, badCsr: BAD_CSR },
      reconnect: { minMs: 200, maxMs: 2_000 },
      connectConcurrency: 25,
    });
  }, 300_000);

  afterAll(async () => {
    await fleet?.stop();
    await edge?.close();
    await worker?.stop();
    await client?.connection.close();
    await registry?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const progress = async (runId: string): Promise<RunProgress> =>
    (await (await call('GET', `/api/rotation-runs/${runId}`)).json()) as RunProgress;

  const tableCounts = async () => {
    const tables = [
      'devices',
      'certificates',
      'device_credentials',
      'rotation_runs',
      'rotation_items',
      'device_rotations',
      'edge_events',
      'audit_events',
    ] as const;
    const counts: Record<string, number> = {};
    for (const t of tables) {
      const row = await registry.db
        .selectFrom(t)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      counts[t] = Number(row.n);
    }
    return counts;
  };

  it('rotates the fleet: exact per-device outcomes, one active certificate each, through a worker crash', async () => {
    const connected = await fleet.connectAll();
    expect(connected.states.connected).toBe(COUNT);
    // The last OFFLINE normal devices go off line: they will not hear the request until the deadline.
    const special = NEVER_CONFIRM + SLOW + BAD_CSR;
    const offline = fleet.devices.slice(COUNT - special - OFFLINE, COUNT - special);
    expect(offline.every((d) => !d.behaviour.neverConfirm && !d.behaviour.badCsr)).toBe(true);
    await Promise.all(offline.map((d) => d.setOnline(false)));
    const original = new Map(fleet.devices.map((d) => [d.name, d.fingerprint]));

    const selection = { tags: ['e2e-fleet'] };
    const options = { concurrency: 60, deadlineSeconds: DEADLINE_SECONDS, issuingCaId };

    // A dry run names the whole fleet and changes nothing.
    const before = await tableCounts();
    const dry = (await (
      await call('POST', '/api/rotation-runs', { selection, options, dryRun: true })
    ).json()) as { dryRun: boolean; devices: number };
    expect(dry).toMatchObject({ dryRun: true, devices: COUNT });
    expect(await tableCounts()).toEqual(before);

    const started = await call('POST', '/api/rotation-runs', { selection, options });
    expect(started.status).toBe(202);
    const runId = ((await started.json()) as RunProgress).runId;

    // Kill the worker (no drain) once part of the fleet has rotated, then start another.
    await eventually(
      () => progress(runId),
      (p) => p.counts.succeeded >= 40,
      120_000,
    );
    await worker?.kill();
    const atKill = await progress(runId);
    expect(atKill.counts.succeeded).toBeLessThan(COUNT - OFFLINE - NEVER_CONFIRM);
    worker = await startWorker();

    const done = await eventually(
      () => progress(runId),
      (p) => p.status !== 'running',
      300_000,
    );
    expect(done.status).toBe('completed');
    expect(done.total).toBe(COUNT);
    const expected: Record<ItemState, number> = {
      pending: 0,
      in_progress: 0,
      succeeded: COUNT - OFFLINE - NEVER_CONFIRM,
      failed: 0,
      rolled_back: OFFLINE + NEVER_CONFIRM,
      cancelled: 0,
    };
    expect(done.counts).toEqual(expected);

    const items = await registry.db
      .selectFrom('rotation_items as i')
      .innerJoin('devices as d', 'd.id', 'i.device_id')
      .select(['d.id as deviceId', 'd.name as name', 'i.state as state', 'i.reason as reason'])
      .where('i.run_id', '=', runId)
      .execute();
    const offlineNames = new Set(offline.map((d) => d.name));
    for (const item of items) {
      const sim = fleet.byName(item.name);
      if (!sim) throw new Error(`no simulated device ${item.name}`);
      const certs = await registry.db
        .selectFrom('certificates')
        .select(['fingerprint_sha256 as fingerprint', 'status', 'issuing_ca_id as issuingCaId'])
        .where('device_id', '=', item.deviceId)
        .execute();
      const creds = await registry.db
        .selectFrom('device_credentials')
        .select(['lookup_key as fingerprint', 'status'])
        .where('device_id', '=', item.deviceId)
        .where('type', '=', 'X509_CERTIFICATE')
        .execute();
      const active = certs.filter((c) => c.status === 'active').map((c) => c.fingerprint);
      const activeCreds = creds.filter((c) => c.status === 'active').map((c) => c.fingerprint);
      const issued = certs.filter((c) => c.issuingCaId === issuingCaId);
      // Exactly one active certificate and credential, whatever the outcome.
      expect(active, item.name).toHaveLength(1);
      expect(activeCreds, item.name).toEqual(active);
      if (offlineNames.has(item.name)) {
        expect(item, item.name).toMatchObject({ state: 'rolled_back' });
        expect(item.reason ?? '').toMatch(/^DEADLINE: no CSR/);
        expect(issued, item.name).toHaveLength(0);
        expect(active[0]).toBe(original.get(item.name));
      } else if (sim.behaviour.neverConfirm) {
        expect(item, item.name).toMatchObject({ state: 'rolled_back' });
        expect(item.reason ?? '').toMatch(/^DEADLINE: the new certificate/);
        // Issued once, never used, revoked; the factory certificate stays.
        expect(
          issued.map((c) => c.status),
          item.name,
        ).toEqual(['revoked']);
        expect(active[0]).toBe(original.get(item.name));
      } else {
        expect(item, item.name).toMatchObject({ state: 'succeeded', reason: null });
        // Issued exactly once, despite the crash and, for some, a refused bad CSR first.
        expect(
          issued.map((c) => c.status),
          item.name,
        ).toEqual(['active']);
        expect(active[0]).toBe(sim.fingerprint);
        expect(active[0]).not.toBe(original.get(item.name));
        expect(certs.find((c) => c.fingerprint === original.get(item.name))?.status).toBe('revoked');
      }
    }
    expect(items).toHaveLength(COUNT);
    // No rotation slot is left held.
    expect(await registry.db.selectFrom('device_rotations').selectAll().execute()).toEqual([]);
    // Rotated devices are back on line with their new certificate.
    const rotated = fleet.devices.filter((d) => !offlineNames.has(d.name) && !d.behaviour.neverConfirm);
    await fleet.waitUntil(() => rotated.every((d) => d.state === 'connected'), 30_000);
  }, 600_000);
});
