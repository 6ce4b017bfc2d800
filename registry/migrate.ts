import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import * as initial from './migrations/2026-11-23T1100-initial';
import * as caRegistration from './migrations/2026-11-23T1200-ca-registration';
import * as provisioning from './migrations/2026-11-23T1300-provisioning';
import * as rotation from './migrations/2026-11-23T1400-rotation';
import type { Database } from './schema';

/** Migrations are listed here, by timestamped name, so they bundle and run the same everywhere. */
const migrations: Record<string, Migration> = {
  '2026-11-23T1100-initial': initial,
  '2026-11-23T1200-ca-registration': caRegistration,
  '2026-11-23T1300-provisioning': provisioning,
  '2026-11-23T1400-rotation': rotation,
};

const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations) };

/** Brings the registry to the latest schema; throws with the failing migration's name. */
export async function migrateToLatest(db: Kysely<Database>, schema?: string): Promise<string[]> {
  // With a schema, kysely must look for its own tables there: its existence check otherwise
  // sees another schema's migration tables (PostgreSQL introspection spans schemas).
  const migrator = new Migrator({ db, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error) {
    const name = failed ? ` (${failed.migrationName})` : '';
    throw new Error(
      `registry migration failed${name}: ${error instanceof Error ? error.message : JSON.stringify(error)}`,
      {
        cause: error,
      },
    );
  }
  return (results ?? []).map((r) => r.migrationName);
}
