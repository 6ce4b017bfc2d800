import type { Kysely } from 'kysely';

/**
 * CA registration codes (proof of possession, one current code per tenant), the issuer name
 * on CA rows (lookups by the leaf's issuer), and an index for certificate-credential lookups.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('ca_registration_codes')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id'))
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .alterTable('ca_certificates')
    .addColumn('serial_hex', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
  await db.schema
    .createIndex('ca_certificates_fingerprint')
    .on('ca_certificates')
    .column('fingerprint_sha256')
    .execute();
  await db.schema.createIndex('certificates_device').on('certificates').column('device_id').execute();
}
