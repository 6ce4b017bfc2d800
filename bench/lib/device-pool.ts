import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CryptoKey, webcrypto, x509 } from '../../pki/crypto';
import {
  createDeviceCert,
  createIntermediateCa,
  createRootCa,
  type DeviceCert,
  type TestCa,
} from '../../test/support/device-pki';
import { root } from './certflow';

/** A factory PKI (root → line intermediate → devices), generated once and cached across runs. */
export interface DevicePool {
  root: TestCa;
  line: TestCa;
  devices: (DeviceCert & { cn: string })[];
}

const CACHE = join(root, 'bench', 'results', 'cache');
const CAS_FILE = join(CACHE, 'factory-cas.json');
const DEVICES_FILE = join(CACHE, 'devices.jsonl');
const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;

interface StoredCa {
  certPem: string;
  keyPem: string;
  name: string;
}

async function loadCa(s: StoredCa): Promise<TestCa> {
  const der = x509.PemConverter.decode(s.keyPem)[0] as ArrayBuffer;
  const privateKey: CryptoKey = await webcrypto.subtle.importKey('pkcs8', der, EC, true, ['sign']);
  const cert = new x509.X509Certificate(s.certPem);
  const spki = cert.publicKey.rawData;
  const publicKey: CryptoKey = await webcrypto.subtle.importKey('spki', spki, EC, true, ['verify']);
  return { ...s, keyAlg: 'P-256', keys: { privateKey, publicKey } };
}

async function factoryCas(): Promise<{ root: TestCa; line: TestCa }> {
  if (existsSync(CAS_FILE)) {
    const stored = JSON.parse(readFileSync(CAS_FILE, 'utf8')) as { root: StoredCa; line: StoredCa };
    return { root: await loadCa(stored.root), line: await loadCa(stored.line) };
  }
  const rootCa = await createRootCa({ name: 'CN=Bench Factory Root,O=certflow bench' });
  const line = await createIntermediateCa(rootCa, { name: 'CN=Bench Line 1,O=certflow bench' });
  const store = (c: TestCa): StoredCa => ({ certPem: c.certPem, keyPem: c.keyPem, name: c.name });
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(DEVICES_FILE, '');
  writeFileSync(CAS_FILE, JSON.stringify({ root: store(rootCa), line: store(line) }));
  return { root: rootCa, line };
}

export const deviceName = (i: number) => `bench-dev-${String(i).padStart(6, '0')}`;

/**
 * At least `n` ECDSA P-256 device certificates issued by the line CA (CN bench-dev-NNNNNN), from
 * bench/results/cache; missing ones are generated (in parallel batches) and appended.
 */
export async function devicePool(n: number, say: (m: string) => void): Promise<DevicePool> {
  const cas = await factoryCas();
  const devices = existsSync(DEVICES_FILE)
    ? readFileSync(DEVICES_FILE, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as DevicePool['devices'][number])
    : [];
  if (devices.length < n) {
    say(`generating ${n - devices.length} device certificates (cached in ${CACHE})…`);
    const t0 = Date.now();
    while (devices.length < n) {
      const from = devices.length;
      const batch = await Promise.all(
        Array.from({ length: Math.min(256, n - from) }, async (_, k) => {
          const cn = deviceName(from + k);
          return { cn, ...(await createDeviceCert(cas.line, { cn, o: 'certflow bench' })) };
        }),
      );
      appendFileSync(DEVICES_FILE, batch.map((d) => JSON.stringify(d)).join('\n') + '\n');
      devices.push(...batch);
    }
    say(`  done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  return { ...cas, devices: devices.slice(0, n) };
}
