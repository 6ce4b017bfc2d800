import type { Kysely } from 'kysely';
import { createApiKey } from './api-keys';
import { appendAuditEvent } from './audit';
import { isoNow, newId } from './ids';
import type { Database, TenantRow } from './schema';

export async function findTenantByName(db: Kysely<Database>, name: string): Promise<TenantRow | undefined> {
  return db.selectFrom('tenants').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function getTenant(db: Kysely<Database>, id: string): Promise<TenantRow | undefined> {
  return db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listTenants(db: Kysely<Database>): Promise<TenantRow[]> {
  return db.selectFrom('tenants').selectAll().orderBy('created_at').orderBy('id').execute();
}

/** Creates a tenant with its first admin key; the key is returned once and stored hashed. */
export async function createTenantWithAdminKey(
  db: Kysely<Database>,
  name: string,
  actor: string,
): Promise<{ tenant: TenantRow; adminKey: string }> {
  return db.transaction().execute(async (trx) => {
    const tenant: TenantRow = { id: newId(), name, created_at: isoNow() };
    await trx.insertInto('tenants').values(tenant).execute();
    const { key } = await createApiKey(trx, { tenantId: tenant.id, name: 'bootstrap admin', role: 'admin' });
    await appendAuditEvent(trx, {
      tenantId: tenant.id,
      eventKey: `tenant.created/${tenant.id}`,
      type: 'tenant.created',
      actor,
      data: { name },
    });
    return { tenant, adminKey: key };
  });
}

/**
 * On first start (no tenant at all) creates the bootstrap tenant and its admin key. Returns
 * the key only when it was just created: it can never be shown again.
 */
export async function ensureBootstrapTenant(
  db: Kysely<Database>,
  name: string,
): Promise<{ tenant: TenantRow; adminKey?: string }> {
  const existing = await db
    .selectFrom('tenants')
    .selectAll()
    .orderBy('created_at')
    .limit(1)
    .executeTakeFirst();
  if (existing) return { tenant: existing };
  return createTenantWithAdminKey(db, name, 'system:bootstrap');
}
