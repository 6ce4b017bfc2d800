import { parse } from 'csv-parse/sync';
import type { Kysely } from 'kysely';
import { deviceNameProblem } from '../../domain/device';
import { CertflowError } from '../../domain/errors';
import { findProfileByName } from '../../registry/profiles';
import type { Database } from '../../registry/schema';
import {
  type BulkItemResult,
  createDevicesInBulk,
  type CreateDeviceDeps,
  type DeviceRequest,
} from './create-devices';

export const CSV_MAX_ROWS = 10_000;

export type CsvRowResult =
  | { row: number; name: string; status: 'created'; deviceId: string }
  | { row: number; name: string; status: 'failed'; error: { code: string; detail: string } };

/**
 * Pre-provisions devices from CSV (`name,type,label`; `type` is a device profile name). Every
 * row gets a result; refused rows (bad name, unknown profile, taken name) do not stop the
 * others, and each created device went through its own creation workflow.
 */
export async function importDevicesCsv(
  db: Kysely<Database>,
  deps: CreateDeviceDeps,
  tenantId: string,
  requestedBy: string,
  csv: string,
): Promise<CsvRowResult[]> {
  let records: Record<string, string>[];
  try {
    records = parse(csv, {
      columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()),
      skip_empty_lines: true,
      trim: true,
      bom: true,
    });
  } catch (err) {
    throw new CertflowError('VALIDATION_FAILED', `the CSV cannot be read: ${(err as Error).message}`);
  }
  if (records.length === 0) throw new CertflowError('VALIDATION_FAILED', 'the CSV has no rows');
  if (records.length > CSV_MAX_ROWS)
    throw new CertflowError('VALIDATION_FAILED', `at most ${CSV_MAX_ROWS} rows per import`);
  if (!('name' in (records[0] ?? {})))
    throw new CertflowError('VALIDATION_FAILED', 'the CSV needs a "name" column');

  const results = new Array<CsvRowResult | undefined>(records.length);
  const requests: { row: number; request: DeviceRequest }[] = [];
  const profiles = new Map<string, string | undefined>();
  for (const [i, rec] of records.entries()) {
    const row = i + 2; // 1-based, after the header line
    const name = rec.name ?? '';
    const why = deviceNameProblem(name);
    if (why) {
      results[i] = {
        row,
        name,
        status: 'failed',
        error: { code: 'VALIDATION_FAILED', detail: `name ${why}` },
      };
      continue;
    }
    let profileId: string | undefined;
    if (rec.type) {
      if (!profiles.has(rec.type))
        profiles.set(rec.type, (await findProfileByName(db, tenantId, rec.type))?.id);
      profileId = profiles.get(rec.type);
      if (!profileId) {
        results[i] = {
          row,
          name,
          status: 'failed',
          error: { code: 'REFERENCE_NOT_FOUND', detail: `no device profile named "${rec.type}"` },
        };
        continue;
      }
    }
    requests.push({ row, request: { name, label: rec.label || null, profileId: profileId ?? null } });
  }
  const created = await createDevicesInBulk(
    deps,
    tenantId,
    requestedBy,
    requests.map((r) => r.request),
  );
  created.forEach((r: BulkItemResult, k) => {
    const { row } = requests[k] as { row: number };
    results[row - 2] =
      r.status === 'created'
        ? { row, name: r.name, status: 'created', deviceId: r.device.id }
        : { row, name: r.name, status: 'failed', error: r.error };
  });
  return results as CsvRowResult[];
}
