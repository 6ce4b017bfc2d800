import { openRegistry, type Registry, type RegistryLocation } from '../registry/connect';
import { migrateToLatest } from '../registry/migrate';

/** Opens the registry and brings it to the latest schema (migrations run on every start). */
export async function openMigratedRegistry(location: RegistryLocation): Promise<Registry> {
  const registry = openRegistry(location);
  try {
    await migrateToLatest(registry.db, registry.schema);
  } catch (err) {
    await registry.close();
    throw err;
  }
  return registry;
}

/** Where the registry is, for logs: never the password. */
export function describeRegistry(location: RegistryLocation): string {
  if (location.dialect === 'sqlite') return `SQLite ${location.file}`;
  const url = new URL(location.url);
  return `PostgreSQL ${url.hostname}:${url.port || 5432}${url.pathname}`;
}
