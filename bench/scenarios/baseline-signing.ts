import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createIssuingCa, createSoftwareIssuer } from '../../pki/issuing';
import type { BenchContext } from '../lib/context';
import { measure, type ScenarioResult } from '../lib/measure';
import { self } from '../lib/procs';

const DAY_MS = 86_400_000;
/** About the size of a device certificate's TBS, so the raw signs hash what issuance hashes. */
const TBS_BYTES = 400;
/** At least this many certificates, so that even --quick times the issuer for a while. */
const MIN_CERTIFICATES = 5_000;

/**
 * Baseline for rotation: certificate issuance by the platform's own software issuer (the one
 * activities get from loadIssuer: DER template + node:crypto ECDSA P-256) over fresh P-256
 * public keys, in the driver process. Key generation happens before the clock starts. The raw
 * `crypto.sign` rate (same key, same curve) goes in the checks: issuance minus that is encoding.
 */
export async function baselineSigning(ctx: BenchContext): Promise<ScenarioResult> {
  const n = Math.max(ctx.opts.n, MIN_CERTIFICATES);
  const now = new Date();
  const ca = await createIssuingCa({ name: 'bench signing baseline CA', validityDays: 30, now });
  const issuer = createSoftwareIssuer({ certificatePem: ca.certificatePem, privateKeyPem: ca.privateKeyPem });
  const keys = Array.from({ length: n }, () =>
    generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' }),
  );
  const r = await measure('baseline-signing', 'Baseline: certificate issuance, platform software issuer', {
    n,
    // Signing is synchronous OpenSSL: one at a time is what one process can do.
    concurrency: 1,
    maxSeconds: ctx.opts.maxSeconds,
    warmup: 200,
    watched: [self],
    task: async (i) => {
      await issuer.signDeviceCertificate({
        publicKeySpkiDer: keys[i] as Buffer,
        subjectCn: `bench-sign-${i}`,
        notBefore: now,
        notAfter: new Date(now.getTime() + 365 * DAY_MS),
      });
    },
  });
  r.checks = { rawP256SignsPerS: rawSignRate(ca.privateKeyPem, n) };
  r.notes = [
    'certificates/s by one driver process (pki/issuing createSoftwareIssuer, ECDSA P-256 CA) over fresh P-256 keys',
    `raw crypto.sign ECDSA P-256/SHA-256 over ${TBS_BYTES} bytes, same key: ${r.checks.rawP256SignsPerS}/s`,
  ];
  return r;
}

function rawSignRate(privateKeyPem: string, n: number): number {
  const key = createPrivateKey(privateKeyPem);
  const data = randomBytes(TBS_BYTES);
  for (let i = 0; i < 200; i++) sign('sha256', data, { key, dsaEncoding: 'der' });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) sign('sha256', data, { key, dsaEncoding: 'der' });
  return Math.round(n / ((performance.now() - t0) / 1000));
}
