import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type Kek, parseKek } from '../pki/issuing/key-envelope';

/**
 * The key encryption key for issuing CA private keys: from `CA_KEY_ENCRYPTION_KEY` when set.
 * The all-in-one process (`createLocal`) otherwise keeps one in `<dataDir>/keys/kek` (mode
 * 0600), made on first start — an embedded default, like the SQLite files beside it. Scale-out
 * workers must be given the variable; without it CSR signing answers PROVISION_NO_ISSUING_CA.
 */
export function loadKek(
  configured: string | undefined,
  opts: { dataDir: string; createLocal: boolean },
): Kek | undefined {
  if (configured) return parseKek(configured);
  const file = join(opts.dataDir, 'keys', 'kek');
  if (existsSync(file)) return parseKek(readFileSync(file, 'utf8'));
  if (!opts.createLocal) return undefined;
  mkdirSync(join(opts.dataDir, 'keys'), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  return parseKek(readFileSync(file, 'utf8'));
}
