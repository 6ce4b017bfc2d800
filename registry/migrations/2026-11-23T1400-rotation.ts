import { type Kysely, PostgresAdapter } from 'kysely';

/**
 * Rotation, revocation and renewal: the issuing CA of certificates we sign, the rotation a new
 * credential waits to be confirmed by, fleet rotation runs and their per-device items, the one
 * rotation a device may have in progress, per-class renewal settings, and the feed of events
 * the edge polls to act on revocations and rotation requests within seconds.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;

  await db.schema.alterTable('certificates').addColumn('issuing_ca_id', 'text').execute();
  // certificates_device (device_id) already exists since 2026-11-23T1200.
  // Set while a rotated-in credential awaits its first use: the edge signals this workflow then.
  await db.schema.alterTable('device_credentials').addColumn('pending_rotation', 'text').execute();
  await db.schema
    .alterTable('device_classes')
    .addColumn('renewal', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();

  await db.schema
    .createTable('rotation_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_reason', 'text')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('selection', 'text', (c) => c.notNull())
    .addColumn('options', 'text', (c) => c.notNull())
    .addColumn('total', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('materialized', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .addColumn('report', 'text')
    .execute();
  await db.schema
    .createIndex('rotation_runs_tenant')
    .on('rotation_runs')
    .columns(['tenant_id', 'created_at'])
    .execute();

  await db.schema
    .createTable('rotation_items')
    .addColumn('run_id', 'text', (c) => c.notNull().references('rotation_runs.id'))
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('old_fingerprint', 'text')
    .addColumn('new_fingerprint', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('rotation_items_pk', ['run_id', 'device_id'])
    .addUniqueConstraint('rotation_items_run_seq', ['run_id', 'seq'])
    .execute();
  await db.schema
    .createIndex('rotation_items_run_state')
    .on('rotation_items')
    .columns(['run_id', 'state'])
    .execute();

  await db.schema
    .createTable('device_rotations')
    .addColumn('device_id', 'text', (c) => c.primaryKey().references('devices.id'))
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('rotation_id', 'text', (c) => c.notNull())
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text')
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('old_fingerprint', 'text', (c) => c.notNull())
    .addColumn('new_fingerprint', 'text')
    .addColumn('issuing_ca_id', 'text', (c) => c.notNull())
    .addColumn('deadline', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('edge_events')
    .addColumn('seq', pg ? 'bigserial' : 'integer', (c) =>
      pg ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text')
    .addColumn('data', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
}
