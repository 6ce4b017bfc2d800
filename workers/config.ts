import { resolve } from 'node:path';
import { z } from 'zod';
import { parseDatabaseUrl, type RegistryLocation } from '../registry/connect';

const port = (fallback: number) => z.coerce.number().int().min(1).max(65_535).default(fallback);

/** Every variable certflow reads. README.md documents each one; keep the two in step. */
const schema = z.object({
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z.string().min(1).optional(),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: port(8080),
  PUBLIC_HOSTNAME: z.string().min(1).default('localhost'),
  MQTT_PORT: port(1883),
  MQTTS_PORT: port(8883),
  DEVICE_HTTPS_PORT: port(8443),
  JITP_HOLD_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  JITP_RATE_PER_CA: z.coerce.number().positive().default(200),
  JITP_BURST_PER_CA: z.coerce.number().int().min(1).default(400),
  JITP_RATE_PER_TENANT: z.coerce.number().positive().default(500),
  JITP_BURST_PER_TENANT: z.coerce.number().int().min(1).default(1000),
  CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
  CA_EXPIRY_WARNING_DAYS: z.coerce.number().int().min(0).max(3650).default(30),
  CA_KEY_ENCRYPTION_KEY: z.string().min(1).optional(),
  DEVICE_CERT_DAYS: z.coerce.number().int().min(1).max(3650).default(365),
  PROVISION_RATE_PER_SOURCE: z.coerce.number().positive().default(20),
  PROVISION_BURST_PER_SOURCE: z.coerce.number().int().min(1).default(100),
  COAP_PORT: port(5683),
  MQTT_URL: z.string().url().optional(),
  TEMPORAL_ADDRESS: z.string().min(1).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('certflow'),
  TEMPORAL_CLI: z.string().min(1).optional(),
  TEMPORAL_DEV_PORT: port(7233),
  TEMPORAL_DEV_UI_PORT: port(8233),
  WORKFLOW_ANSWER_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(15_000),
  RENEWAL_SWEEP_INTERVAL_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(31 * 86_400)
    .default(3600),
  EDGE_EVENT_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(500),
  BOOTSTRAP_TENANT: z.string().min(1).max(64).default('default'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface Config {
  dataDir: string;
  registry: RegistryLocation;
  host: string;
  port: number;
  publicHostname: string;
  mqttPort: number;
  mqttsPort: number;
  deviceHttpsPort: number;
  jitp: {
    holdTimeoutMs: number;
    perCa: { perSecond: number; burst: number };
    perTenant: { perSecond: number; burst: number };
  };
  clockSkewSeconds: number;
  caExpiryWarningDays: number;
  /** Key encryption key text (32 bytes, base64 or hex) for issuing CA private keys. */
  caKeyEncryptionKey?: string;
  deviceCertificateDays: number;
  provisioning: {
    perSource: { perSecond: number; burst: number };
    coapPort: number;
    externalMqttUrl?: string;
  };
  temporal: {
    /** Undefined: the all-in-one process starts its own dev server. */
    address?: string;
    namespace: string;
    taskQueue: string;
    cli?: string;
    devPort: number;
    devUiPort: number;
  };
  workflowAnswerTimeoutMs: number;
  /** Seconds between scheduled renewal sweeps; 0: no renewal schedule. */
  renewalSweepIntervalSeconds: number;
  /** How often each edge polls the registry's edge events (revocations, rotation requests). */
  edgeEventPollMs: number;
  bootstrapTenant: string;
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Validates the environment; throws a ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // An empty variable means "unset", as shells and compose files often leave them.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const dataDir = resolve(e.DATA_DIR);
  let registry: RegistryLocation;
  try {
    registry = parseDatabaseUrl(e.DATABASE_URL ?? resolve(dataDir, 'certflow.sqlite'));
  } catch (err) {
    throw new ConfigError(`invalid configuration:\n  DATABASE_URL: ${(err as Error).message}`);
  }
  return {
    dataDir,
    registry,
    host: e.HOST,
    port: e.PORT,
    publicHostname: e.PUBLIC_HOSTNAME,
    mqttPort: e.MQTT_PORT,
    mqttsPort: e.MQTTS_PORT,
    deviceHttpsPort: e.DEVICE_HTTPS_PORT,
    jitp: {
      holdTimeoutMs: e.JITP_HOLD_TIMEOUT_MS,
      perCa: { perSecond: e.JITP_RATE_PER_CA, burst: e.JITP_BURST_PER_CA },
      perTenant: { perSecond: e.JITP_RATE_PER_TENANT, burst: e.JITP_BURST_PER_TENANT },
    },
    clockSkewSeconds: e.CLOCK_SKEW_SECONDS,
    caExpiryWarningDays: e.CA_EXPIRY_WARNING_DAYS,
    caKeyEncryptionKey: e.CA_KEY_ENCRYPTION_KEY,
    deviceCertificateDays: e.DEVICE_CERT_DAYS,
    provisioning: {
      perSource: { perSecond: e.PROVISION_RATE_PER_SOURCE, burst: e.PROVISION_BURST_PER_SOURCE },
      coapPort: e.COAP_PORT,
      externalMqttUrl: e.MQTT_URL,
    },
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      cli: e.TEMPORAL_CLI,
      devPort: e.TEMPORAL_DEV_PORT,
      devUiPort: e.TEMPORAL_DEV_UI_PORT,
    },
    workflowAnswerTimeoutMs: e.WORKFLOW_ANSWER_TIMEOUT_MS,
    renewalSweepIntervalSeconds: e.RENEWAL_SWEEP_INTERVAL_SECONDS,
    edgeEventPollMs: e.EDGE_EVENT_POLL_MS,
    bootstrapTenant: e.BOOTSTRAP_TENANT,
    logLevel: e.LOG_LEVEL,
  };
}
