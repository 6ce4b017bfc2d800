import Database from 'better-sqlite3';
import { join } from 'node:path';

/** What the registry says after a rotation run (read-only), for the scenario's checks. */
export interface RotationCheck {
  runItems: number;
  succeeded: number;
  /** Items (any outcome) whose device has exactly one active certificate. */
  itemsWithOneActiveCert: number;
  /** Succeeded items whose one active certificate was issued by the run's issuing CA. */
  succeededActiveFromIssuingCa: number;
  /** Succeeded items whose active certificate is the one the simulated device connects with. */
  succeededActiveIsDevicesCert: number;
  /** Devices holding more than one certificate from the issuing CA (must be 0). */
  devicesIssuedTwice: number;
  /** Rotation slots still held by the run's devices (must be 0 once it ended). */
  slotsLeft: number;
}

export function checkRotation(
  dataDir: string,
  runId: string,
  issuingCaId: string,
  deviceFingerprint: (name: string) => string | undefined,
): RotationCheck {
  const db = new Database(join(dataDir, 'certflow.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const items = db
      .prepare(
        `SELECT d.name AS name, i.state AS state,
                (SELECT count(*) FROM certificates c WHERE c.device_id = i.device_id AND c.status = 'active') AS active,
                (SELECT c.fingerprint_sha256 FROM certificates c WHERE c.device_id = i.device_id AND c.status = 'active' LIMIT 1) AS fingerprint,
                (SELECT c.issuing_ca_id FROM certificates c WHERE c.device_id = i.device_id AND c.status = 'active' LIMIT 1) AS issuingCaId
         FROM rotation_items i JOIN devices d ON d.id = i.device_id WHERE i.run_id = ?`,
      )
      .all(runId) as {
      name: string;
      state: string;
      active: number;
      fingerprint: string | null;
      issuingCaId: string | null;
    }[];
    const succeeded = items.filter((i) => i.state === 'succeeded');
    const twice = db
      .prepare(
        `SELECT count(*) AS n FROM (SELECT device_id FROM certificates WHERE issuing_ca_id = ? GROUP BY device_id HAVING count(*) > 1)`,
      )
      .get(issuingCaId) as { n: number };
    const slots = db
      .prepare(
        `SELECT count(*) AS n FROM device_rotations WHERE device_id IN (SELECT device_id FROM rotation_items WHERE run_id = ?)`,
      )
      .get(runId) as { n: number };
    return {
      runItems: items.length,
      succeeded: succeeded.length,
      itemsWithOneActiveCert: items.filter((i) => i.active === 1).length,
      succeededActiveFromIssuingCa: succeeded.filter((i) => i.active === 1 && i.issuingCaId === issuingCaId)
        .length,
      succeededActiveIsDevicesCert: succeeded.filter((i) => i.fingerprint === deviceFingerprint(i.name))
        .length,
      devicesIssuedTwice: twice.n,
      slotsLeft: slots.n,
    };
  } finally {
    db.close();
  }
}
