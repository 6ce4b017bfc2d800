import type { Kysely } from 'kysely';

/**
 * Claim provisioning (ThingsBoard-compatible key/secret): profiles gain a rate limit and an
 * encrypted-key issuing CA they sign CSRs with; devices gain the gateway they sit behind.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('issuing_cas')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('fingerprint_sha256', 'text', (c) => c.notNull())
    .addColumn('certificate_pem', 'text', (c) => c.notNull())
    /** The chain above the CA certificate (PEM, may be empty), returned to devices with their certificate. */
    .addColumn('chain_pem', 'text', (c) => c.notNull().defaultTo(''))
    /** AES-256-GCM envelope of the PKCS#8 private key; the key encryption key comes from configuration. */
    .addColumn('encrypted_private_key', 'text', (c) => c.notNull())
    .addColumn('not_before', 'text', (c) => c.notNull())
    .addColumn('not_after', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('issuing_cas_tenant_name', ['tenant_id', 'name'])
    .execute();
  await db.schema.alterTable('device_profiles').addColumn('issuing_ca_ref', 'text').execute();
  await db.schema
    .alterTable('device_profiles')
    .addColumn('rate_per_minute', 'integer', (c) => c.notNull().defaultTo(600))
    .execute();
  await db.schema
    .alterTable('device_profiles')
    .addColumn('updated_at', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
  await db.schema.alterTable('devices').addColumn('gateway_id', 'text').execute();
  await db.schema.alterTable('devices').addColumn('provisioned_at', 'text').execute();
}
