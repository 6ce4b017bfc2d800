import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { RenewalSettings } from '../domain/rotation';
import { readRenewalSettings } from './catalog';
import type { Database } from './schema';

/**
 * What scheduled renewal reads: device classes with renewal enabled, and, per class, the
 * devices whose confirmed certificate might be due and that nothing is rotating already.
 */
export interface RenewalClass {
  tenantId: string;
  classId: string;
  settings: RenewalSettings;
}

export async function listRenewalClasses(db: Kysely<Database>): Promise<RenewalClass[]> {
  const rows = await db
    .selectFrom('device_classes')
    .select(['id', 'tenant_id', 'renewal'])
    .where('renewal', '!=', '{}')
    .orderBy('id')
    .execute();
  return rows
    .map((r) => ({
      tenantId: r.tenant_id,
      classId: r.id,
      settings: readRenewalSettings(r.renewal),
    }))
    .filter((c) => c.settings.enabled);
}

/**
 * A run id derived from the sweep and the class (UUID-shaped, URL-safe): the same sweep run
 * again finds its own run instead of creating a second one.
 */
export function renewalRunId(sweepId: string, classId: string): string {
  const h = createHash('sha256').update(`renewal\n${sweepId}\n${classId}`).digest('hex');
  const variant = ((parseInt(h[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * One page (by device id) of the class's active devices with a confirmed active certificate,
 * no rotation in progress, and no item in an unfinished run other than `ownRunId`.
 */
export async function renewalCandidates(
  db: Kysely<Database>,
  c: { tenantId: string; classId: string },
  ownRunId: string,
  page: { limit: number; afterDeviceId?: string },
): Promise<{ deviceId: string; notBefore: string; notAfter: string }[]> {
  let q = db
    .selectFrom('devices as d')
    .innerJoin('device_credentials as c', 'c.device_id', 'd.id')
    .innerJoin('certificates as cert', 'cert.id', 'c.certificate_id')
    .leftJoin('device_rotations as dr', 'dr.device_id', 'd.id')
    .select(['d.id as deviceId', 'cert.not_before as notBefore', 'cert.not_after as notAfter'])
    .where('d.tenant_id', '=', c.tenantId)
    .where('d.device_class_id', '=', c.classId)
    .where('d.status', '=', 'active')
    // Only X.509 credentials reference a certificate (the join above), so no filter on c.type:
    // on PostgreSQL without fresh statistics it made the planner AND in the (type, lookup_key)
    // index for every device, seconds per page at 20,000 devices.
    .where('c.status', '=', 'active')
    .where('c.pending_rotation', 'is', null)
    .where('cert.status', '=', 'active')
    .where('dr.device_id', 'is', null)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('rotation_items as i')
            .innerJoin('rotation_runs as r', 'r.id', 'i.run_id')
            .select('i.seq')
            .whereRef('i.device_id', '=', 'd.id')
            .where('r.status', 'in', ['running', 'paused'])
            .where('r.id', '!=', ownRunId),
        ),
      ),
    );
  if (page.afterDeviceId !== undefined) q = q.where('d.id', '>', page.afterDeviceId);
  return q.orderBy('d.id').limit(page.limit).execute();
}

/** Device ids already itemized in a run (for resuming an interrupted plan). */
export async function runItemDeviceIds(db: Kysely<Database>, runId: string): Promise<Set<string>> {
  const rows = await db
    .selectFrom('rotation_items')
    .select('device_id')
    .where('run_id', '=', runId)
    .execute();
  return new Set(rows.map((r) => r.device_id));
}
