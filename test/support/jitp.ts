import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { type Edge, type EdgeSettings, startEdge } from '../../runtime/edge';
import { createVerificationCert, type TestCa } from './device-pki';
import type { TestPlatform } from './platform';

export interface CaBody {
  id: string;
  status: string;
  subject: string;
  jitp: Record<string, unknown>;
  expiry: { daysLeft: number; warning: boolean };
}

/** Registers `ca` in the key's tenant through the API, with proof of possession. */
export async function registerCaViaApi(
  p: TestPlatform,
  key: string,
  ca: TestCa,
  jitp: Record<string, unknown> = { enabled: true },
  extra: Record<string, unknown> = {},
): Promise<Response> {
  const code = (await (await p.call(key, 'POST', '/api/cas/registration-code')).json()) as {
    registrationCode: string;
  };
  return p.call(key, 'POST', '/api/cas', {
    caCertificate: ca.certPem,
    verificationCertificate: await createVerificationCert(ca, code.registrationCode),
    jitp,
    ...extra,
  });
}

export type TestEdgeLimits = Partial<{
  perCa: { perSecond: number; burst: number };
  perTenant: { perSecond: number; burst: number };
  holdTimeoutMs: number;
  /** Edge event poll interval (revocations, rotation requests); default 100 ms in tests. */
  eventPollMs: number;
}>;

/** Edge settings for tests: loopback, free ports, generous limits. */
export function testEdgeSettings(
  dataDir: string,
  taskQueue: string,
  jitp: TestEdgeLimits = {},
): EdgeSettings {
  return {
    dataDir,
    host: '127.0.0.1',
    port: 0,
    mqttPort: 0,
    mqttsPort: 0,
    deviceHttpsPort: 0,
    publicHostname: 'localhost',
    workflowAnswerTimeoutMs: 30_000,
    caExpiryWarningDays: 30,
    clockSkewSeconds: 60,
    taskQueue,
    eventPollMs: jitp.eventPollMs ?? 100,
    trustStore: { ttlMs: 2_000, missReloadIntervalMs: 0 },
    provisioning: { perSource: { perSecond: 10_000, burst: 10_000 }, coapPort: 0 },
    jitp: {
      holdTimeoutMs: jitp.holdTimeoutMs ?? 20_000,
      perCa: jitp.perCa ?? { perSecond: 1000, burst: 1000 },
      perTenant: jitp.perTenant ?? { perSecond: 1000, burst: 1000 },
    },
  };
}

/** A real edge (MQTT plain + TLS, device HTTPS, operator HTTP) on free ports over the platform. */
export async function startTestEdge(
  p: TestPlatform,
  jitp: TestEdgeLimits = {},
): Promise<Edge & { dispose(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'certflow-edge-'));
  const edge = await startEdge({
    db: p.registry.db,
    client: p.client,
    logger: pino({ level: 'silent' }),
    settings: { ...testEdgeSettings(dataDir, p.taskQueue, jitp), eagerStart: p.eagerStart },
  });
  return {
    ...edge,
    dispose: async () => {
      await edge.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
