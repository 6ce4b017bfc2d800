import { sql } from 'kysely';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { openRegistry, type Registry } from '../../registry/connect';
import { migrateToLatest } from '../../registry/migrate';

export const dialects = ['sqlite', 'postgres'] as const;
export type Dialect = (typeof dialects)[number];

/** PostgreSQL for tests: the machine's server (trust auth), database `test`. */
export const TEST_POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A fresh, migrated registry: a temp SQLite file, or a new schema in PostgreSQL so parallel
 * test files never see each other's rows. `dispose()` removes it.
 */
export async function freshRegistry(dialect: Dialect): Promise<Registry & { dispose(): Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'certflow-reg-'));
    const registry = openRegistry({ dialect: 'sqlite', file: join(dir, 'registry.sqlite') });
    await migrateToLatest(registry.db);
    return {
      ...registry,
      dispose: async () => {
        await registry.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new Pool({ connectionString: TEST_POSTGRES_URL, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const registry = openRegistry({ dialect: 'postgres', url: TEST_POSTGRES_URL, schema });
  await migrateToLatest(registry.db, schema);
  return {
    ...registry,
    dispose: async () => {
      await registry.close();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    },
  };
}

/** Rows in a table, for "nothing half-written" assertions. */
export async function countRows(registry: Registry, table: string): Promise<number> {
  const result = await sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM ${sql.table(table)}`.execute(
    registry.db,
  );
  return Number(result.rows[0]?.n ?? 0);
}
