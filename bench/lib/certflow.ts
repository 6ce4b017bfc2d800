import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../../test/support/ports';
import { commandLine, descendants, type Watched } from './procs';

export const root = resolve(__dirname, '../..');

/** The benchmark lifts the per-CA, per-tenant and per-source admission limits out of the way. */
export const BENCH_LIMITS = {
  JITP_RATE_PER_CA: '100000',
  JITP_BURST_PER_CA: '100000',
  JITP_RATE_PER_TENANT: '100000',
  JITP_BURST_PER_TENANT: '100000',
  PROVISION_RATE_PER_SOURCE: '100000',
  PROVISION_BURST_PER_SOURCE: '100000',
};

export interface Certflow {
  api: string;
  adminKey: string;
  tenantId: string;
  mqttsPort: number;
  temporalAddress: string;
  dataDir: string;
  /** The processes `npm start` runs (certflow itself, the Temporal dev server, launchers). */
  processes(): Watched[];
  stop(): Promise<void>;
}

/** `npm start` with embedded defaults on free ports and a fresh DATA_DIR, in its own process group. */
export async function startCertflow(): Promise<Certflow> {
  const dataDir = mkdtempSync(join(tmpdir(), 'certflow-bench-'));
  const ports = {
    PORT: await freePort(),
    MQTT_PORT: await freePort(),
    MQTTS_PORT: await freePort(),
    DEVICE_HTTPS_PORT: await freePort(),
    COAP_PORT: await freePort(),
    TEMPORAL_DEV_PORT: await freePort(),
    TEMPORAL_DEV_UI_PORT: await freePort(),
  };
  const { TEMPORAL_ADDRESS: _ignored, ...inherited } = process.env;
  const env = {
    ...inherited,
    ...BENCH_LIMITS,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
  };
  const child = spawn('npm', ['start'], { cwd: root, env, detached: true });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 150_000;
  while (!/Tenant\s+\S+ \(\S+\)/.test(out) || !out.includes('Admin API key')) {
    if (child.exitCode !== null) throw new Error(`npm start exited early:\n${out}`);
    if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const adminKey = /Admin API key \(shown once, stored hashed\): (cf_\S+)/.exec(out)?.[1];
  const tenantId = /Tenant\s+\S+ \((\S+)\)/.exec(out)?.[1];
  if (!adminKey || !tenantId) throw new Error(`no admin key or tenant in the banner:\n${out}`);
  return {
    api: `http://127.0.0.1:${ports.PORT}`,
    adminKey,
    tenantId,
    mqttsPort: ports.MQTTS_PORT,
    temporalAddress: `127.0.0.1:${ports.TEMPORAL_DEV_PORT}`,
    dataDir,
    processes: () => classify(child),
    stop: () => stop(child, dataDir),
  };
}

function classify(child: ChildProcess): Watched[] {
  return descendants(child.pid ?? 0).map((pid) => {
    const cmd = commandLine(pid);
    if (/temporal\b.*server start-dev/.test(cmd)) return { pid, role: 'temporal dev server' };
    if (/all-in-one\.ts/.test(cmd) && /tsx\/dist\/loader/.test(cmd)) return { pid, role: 'certflow' };
    return { pid, role: 'launchers (npm, sh, tsx)' };
  });
}

/** Ctrl-C to the process group, as a terminal sends it; SIGKILL if it has not ended in 30 s. */
async function stop(child: ChildProcess, dataDir: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    process.kill(-(child.pid ?? 0), 'SIGINT');
    const timer = setTimeout(() => process.kill(-(child.pid ?? 0), 'SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(dataDir, { recursive: true, force: true });
}
