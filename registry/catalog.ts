import type { Insertable, Kysely, Selectable } from 'kysely';
import { CertflowError } from '../domain/errors';
import { DEFAULT_RENEWAL, type RenewalSettings } from '../domain/rotation';
import { isForeignKeyViolation, isUniqueViolation } from './errors';
import { isoNow, newId } from './ids';
import type { Database, ProductTable } from './schema';

/** Products, cohorts and device classes: tenant-scoped named things devices refer to. */
export type CatalogTable = 'products' | 'cohorts' | 'device_classes';
type Row<T extends CatalogTable> = Selectable<Database[T]>;
type Fields<T extends CatalogTable> = Omit<Insertable<Database[T]>, 'id' | 'tenant_id' | 'created_at'>;

export async function createCatalogItem<T extends CatalogTable>(
  db: Kysely<Database>,
  table: T,
  tenantId: string,
  fields: Fields<T>,
): Promise<Row<T>> {
  const row = { ...fields, id: newId(), tenant_id: tenantId, created_at: isoNow() } as Row<T>;
  try {
    // kysely cannot type a query over a union of tables; the row type is checked above.
    await db
      .insertInto(table as 'products')
      .values(row as Insertable<ProductTable>)
      .execute();
  } catch (err) {
    if (isUniqueViolation(err))
      throw new CertflowError('NAME_TAKEN', `the name is already taken in this tenant`);
    if (isForeignKeyViolation(err))
      throw new CertflowError('REFERENCE_NOT_FOUND', 'a referenced resource does not exist');
    throw err;
  }
  return row;
}

export async function listCatalogItems<T extends CatalogTable>(
  db: Kysely<Database>,
  table: T,
  tenantId: string,
): Promise<Row<T>[]> {
  const rows = await db
    .selectFrom(table as 'products')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('id')
    .execute();
  return rows as unknown as Row<T>[];
}

export async function getCatalogItem<T extends CatalogTable>(
  db: Kysely<Database>,
  table: T,
  tenantId: string,
  id: string,
): Promise<Row<T> | undefined> {
  const row = await db
    .selectFrom(table as 'products')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row as unknown as Row<T> | undefined;
}

/**
 * A device class's renewal settings as stored (`{}` or a partial object in older rows) filled
 * with the defaults of domain/rotation, so every reader sees complete settings.
 */
export function readRenewalSettings(raw: string | null | undefined): RenewalSettings {
  let stored: unknown;
  try {
    stored = raw ? JSON.parse(raw) : {};
  } catch {
    stored = {};
  }
  const fields = stored && typeof stored === 'object' && !Array.isArray(stored) ? stored : {};
  const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  return { ...DEFAULT_RENEWAL, ...(defined as Partial<RenewalSettings>) };
}

/** Changes a device class's policy and/or renewal settings (already validated, serialized). */
export async function updateDeviceClass(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
  fields: { policy?: string; renewal?: string },
): Promise<Row<'device_classes'> | undefined> {
  if (fields.policy !== undefined || fields.renewal !== undefined) {
    await db
      .updateTable('device_classes')
      .set({
        ...(fields.policy === undefined ? {} : { policy: fields.policy }),
        ...(fields.renewal === undefined ? {} : { renewal: fields.renewal }),
      })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .execute();
  }
  return getCatalogItem(db, 'device_classes', tenantId, id);
}
