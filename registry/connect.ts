import Sqlite from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { Pool } from 'pg';
import type { Database } from './schema';

export type RegistryLocation =
  { dialect: 'sqlite'; file: string } | { dialect: 'postgres'; url: string; schema?: string };

export interface Registry {
  db: Kysely<Database>;
  dialect: RegistryLocation['dialect'];
  /** The PostgreSQL schema the registry lives in, when not the default search path. */
  schema?: string;
  close(): Promise<void>;
}

/** Opens the registry; the caller owns it and must `close()` it. */
export function openRegistry(location: RegistryLocation): Registry {
  if (location.dialect === 'sqlite') {
    if (location.file !== ':memory:') mkdirSync(dirname(location.file), { recursive: true });
    const database = new Sqlite(location.file);
    // WAL + busy timeout: the worker and the edge may be separate processes on one file.
    database.pragma('journal_mode = WAL');
    database.pragma('busy_timeout = 5000');
    database.pragma('foreign_keys = ON');
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
    return { db, dialect: 'sqlite', close: () => db.destroy() };
  }
  const pool = new Pool({
    connectionString: location.url,
    max: 10,
    ...(location.schema ? { options: `-c search_path=${location.schema}` } : {}),
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', schema: location.schema, close: () => db.destroy() };
}

/** `DATABASE_URL` forms: `postgres://…` / `postgresql://…`, `sqlite:<file>`, or a plain file path. */
export function parseDatabaseUrl(url: string): RegistryLocation {
  if (/^postgres(ql)?:\/\//.test(url)) return { dialect: 'postgres', url };
  if (url.startsWith('sqlite:'))
    return { dialect: 'sqlite', file: url.slice('sqlite:'.length).replace(/^\/\//, '') };
  if (url.includes('://')) throw new Error(`unsupported database URL scheme in "${url.split('://')[0]}://…"`);
  return { dialect: 'sqlite', file: url };
}

/** Whether the database answers; used by the health check. */
export async function pingRegistry(db: Kysely<Database>): Promise<void> {
  await db.selectFrom('tenants').select('id').limit(1).execute();
}
