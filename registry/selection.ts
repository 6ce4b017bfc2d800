import type { Kysely } from 'kysely';
import type { RotationSelection } from '../domain/rotation';
import type { Database } from './schema';

/**
 * Which devices a rotation run covers: active devices of the tenant whose confirmed X.509
 * credential (active, not itself awaiting a rotation's first use) is backed by a stored active
 * certificate, matching every criterion of the selection. Keyset-paged by device id so a
 * run over 100,000 devices is read (and resumed) one page at a time.
 */
export interface SelectedDevice {
  deviceId: string;
  deviceName: string;
  fingerprint: string;
  notAfter: string | null;
}

/** Explicit device ids are queried this many at a time (`in` lists stay far below parameter limits). */
const ID_CHUNK = 500;

function baseQuery(db: Kysely<Database>, tenantId: string, s: RotationSelection) {
  let q = db
    .selectFrom('devices as d')
    .innerJoin('device_credentials as c', 'c.device_id', 'd.id')
    .innerJoin('certificates as cert', 'cert.id', 'c.certificate_id')
    .where('d.tenant_id', '=', tenantId)
    .where('d.status', '=', 'active')
    // Only X.509 credentials reference a certificate (the join above), so no filter on c.type:
    // on PostgreSQL without fresh statistics it made the planner AND in the (type, lookup_key)
    // index for every device, seconds per page at 20,000 devices.
    .where('c.status', '=', 'active')
    .where('c.pending_rotation', 'is', null)
    .where('cert.status', '=', 'active');
  if (s.productId) q = q.where('d.product_id', '=', s.productId);
  if (s.cohortId) q = q.where('d.cohort_id', '=', s.cohortId);
  if (s.deviceClassId) q = q.where('d.device_class_id', '=', s.deviceClassId);
  if (s.caId) {
    const caId = s.caId;
    q = q.where((eb) => eb.or([eb('cert.issuer_ca_id', '=', caId), eb('cert.issuing_ca_id', '=', caId)]));
  }
  if (s.expiringBefore) q = q.where('cert.not_after', '<', normalizeInstant(s.expiringBefore));
  // A coarse SQL filter (SQLite's LIKE ignores case, `_` is a wildcard); hasTags decides exactly.
  for (const tag of s.tags ?? []) q = q.where('d.tags', 'like', `%${JSON.stringify(tag)}%`);
  return q;
}

/** Stored instants are `toISOString()` text; compare like with like so text order is time order. */
function normalizeInstant(value: string): string {
  const t = Date.parse(value);
  return Number.isNaN(t) ? value : new Date(t).toISOString();
}

function hasTags(tagsJson: string, wanted: string[] | undefined): boolean {
  if (!wanted || wanted.length === 0) return true;
  const tags = JSON.parse(tagsJson) as string[];
  return wanted.every((t) => tags.includes(t));
}

/** Sorted, de-duplicated explicit ids after the cursor; undefined when the selection has none. */
function explicitIds(s: RotationSelection, after: string | undefined): string[] | undefined {
  if (!s.deviceIds) return undefined;
  const ids = [...new Set(s.deviceIds)].sort();
  return after === undefined ? ids : ids.filter((id) => id > after);
}

async function rawPage(
  db: Kysely<Database>,
  tenantId: string,
  s: RotationSelection,
  after: string | undefined,
  limit: number,
  ids: string[] | undefined,
) {
  let q = baseQuery(db, tenantId, s).select([
    'd.id as deviceId',
    'd.name as deviceName',
    'd.tags as tags',
    'cert.fingerprint_sha256 as fingerprint',
    'cert.not_after as notAfter',
  ]);
  if (after !== undefined) q = q.where('d.id', '>', after);
  if (ids) q = q.where('d.id', 'in', ids);
  return q.orderBy('d.id').orderBy('c.id').limit(limit).execute();
}

/**
 * One page of selected devices after `afterDeviceId`, ordered by device id, one row per device.
 * A device holding two confirmed certificates appears once; a page may be short only at the end.
 */
export async function selectDevicesForRotation(
  db: Kysely<Database>,
  tenantId: string,
  selection: RotationSelection,
  page: { limit: number; afterDeviceId?: string },
): Promise<SelectedDevice[]> {
  const out: SelectedDevice[] = [];
  let after = page.afterDeviceId;
  const ids = explicitIds(selection, after);
  let idOffset = 0;
  for (;;) {
    let chunk: string[] | undefined;
    if (ids) {
      if (idOffset >= ids.length) break;
      chunk = ids.slice(idOffset, idOffset + ID_CHUNK);
      idOffset += ID_CHUNK;
    }
    // Loop within a chunk: duplicates and exact tag filtering can make a raw page shrink.
    for (;;) {
      const want = page.limit - out.length;
      const rows = await rawPage(db, tenantId, selection, after, want + 1, chunk);
      for (const row of rows) {
        after = row.deviceId;
        if (out.at(-1)?.deviceId === row.deviceId || !hasTags(row.tags, selection.tags)) continue;
        out.push({
          deviceId: row.deviceId,
          deviceName: row.deviceName,
          fingerprint: row.fingerprint,
          notAfter: row.notAfter,
        });
        if (out.length === page.limit) return out;
      }
      if (rows.length <= want) break;
    }
    if (!ids) break;
  }
  return out;
}

/** How many devices the selection covers (for a dry run and the run's total). */
export async function countDevicesForRotation(
  db: Kysely<Database>,
  tenantId: string,
  selection: RotationSelection,
): Promise<number> {
  if (!selection.tags?.length && !selection.deviceIds) {
    const row = await baseQuery(db, tenantId, selection)
      .select((eb) => eb.fn.count<number | string>('d.id').distinct().as('n'))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }
  let n = 0;
  let after: string | undefined;
  for (;;) {
    const page = await selectDevicesForRotation(db, tenantId, selection, {
      limit: 1000,
      afterDeviceId: after,
    });
    n += page.length;
    if (page.length < 1000) return n;
    after = page.at(-1)?.deviceId;
  }
}
