import Database from 'better-sqlite3';
import { join } from 'node:path';

export interface DeviceCount {
  rows: number;
  distinctNames: number;
  /** Names with more than one row. */
  duplicated: number;
}

/** Counts the devices whose name starts with `prefix` in certflow's SQLite registry (read-only). */
export function countDevices(dataDir: string, prefix: string): DeviceCount {
  const db = new Database(join(dataDir, 'certflow.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const like = `${prefix}%`;
    const row = db
      .prepare(
        `SELECT count(*) AS rows, count(DISTINCT name) AS distinctNames FROM devices WHERE name LIKE ?`,
      )
      .get(like) as { rows: number; distinctNames: number };
    const dup = db
      .prepare(
        `SELECT count(*) AS n FROM (SELECT name FROM devices WHERE name LIKE ? GROUP BY name HAVING count(*) > 1)`,
      )
      .get(like) as { n: number };
    return { ...row, duplicated: dup.n };
  } finally {
    db.close();
  }
}

/** Polls until the count stops changing for `quietMs` (workflows still finishing) or reaches `want`. */
export async function settledCount(
  dataDir: string,
  prefix: string,
  want: number,
  quietMs = 3_000,
): Promise<DeviceCount> {
  let last = countDevices(dataDir, prefix);
  let stableSince = Date.now();
  const deadline = Date.now() + 60_000;
  while (last.distinctNames < want && Date.now() - stableSince < quietMs && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    const now = countDevices(dataDir, prefix);
    if (now.rows !== last.rows) stableSince = Date.now();
    last = now;
  }
  return last;
}
