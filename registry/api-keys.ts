import type { Kysely } from 'kysely';
import { randomBytes } from 'node:crypto';
import type { Role } from '../domain/roles';
import { isoNow } from './ids';
import type { ApiKeyRow, Database } from './schema';
import { digestsEqual, randomSecret, sha256Hex } from './secrets';

/** API keys look like `cf_<16 hex id>_<secret>`; the id finds the row, the secret proves it. */
const KEY_PATTERN = /^cf_([0-9a-f]{16})_([A-Za-z0-9_-]{20,})$/;

export type PublicApiKey = Omit<ApiKeyRow, 'secret_hash'>;

export async function createApiKey(
  db: Kysely<Database>,
  input: { tenantId: string; name: string; role: Role },
): Promise<{ apiKey: PublicApiKey; key: string }> {
  const id = randomBytes(8).toString('hex');
  const secret = randomSecret();
  const row: ApiKeyRow = {
    id,
    tenant_id: input.tenantId,
    name: input.name,
    role: input.role,
    secret_hash: sha256Hex(secret),
    created_at: isoNow(),
    revoked_at: null,
  };
  await db.insertInto('api_keys').values(row).execute();
  return { apiKey: toPublic(row), key: `cf_${id}_${secret}` };
}

/** The key's row when the key is well-formed, known, unrevoked and its secret matches. */
export async function authenticateApiKey(
  db: Kysely<Database>,
  key: string,
): Promise<PublicApiKey | undefined> {
  const match = KEY_PATTERN.exec(key);
  if (!match) return undefined;
  const [, id = '', secret = ''] = match;
  const row = await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
  // Hash and compare even when the row is missing, so timing does not reveal which ids exist.
  const ok = digestsEqual(sha256Hex(secret), row?.secret_hash ?? '0'.repeat(64));
  if (!row || !ok || row.revoked_at !== null) return undefined;
  return toPublic(row);
}

export async function listApiKeys(db: Kysely<Database>, tenantId: string): Promise<PublicApiKey[]> {
  const rows = await db
    .selectFrom('api_keys')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('created_at')
    .execute();
  return rows.map(toPublic);
}

/** Revokes a key of the tenant; false when the tenant has no such key. Idempotent. */
export async function revokeApiKey(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
): Promise<PublicApiKey | undefined> {
  await db
    .updateTable('api_keys')
    .set({ revoked_at: isoNow() })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .execute();
  const row = await db
    .selectFrom('api_keys')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toPublic(row);
}

function toPublic(row: ApiKeyRow): PublicApiKey {
  const { secret_hash: _hidden, ...rest } = row;
  return rest;
}
