import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { PublicApiKey } from '../../registry/api-keys';
import type { Database } from '../../registry/schema';
import type { Kek } from '../../pki/issuing/key-envelope';
import type { ProvisionHandler } from '../provisioning/handler';

/** What the HTTP edge needs; `createApp(deps)` builds the app over it (tests pass their own). */
export interface AppDeps {
  db: Kysely<Database>;
  /** `eagerStart`: see `FirstConnectDeps.eagerStart`. */
  temporal: { client: Client; taskQueue: string; eagerStart?: boolean };
  /** How long a request waits for a workflow's answer before giving up with 504. */
  workflowAnswerTimeoutMs: number;
  /** Health probes; each resolves when its dependency answers. */
  health: { database: () => Promise<void>; temporal: () => Promise<void> };
  logger: Logger;
  /** CAs expiring within this many days are flagged (default 30). */
  caExpiryWarningDays?: number;
  /** Key/secret device provisioning (`POST /api/v1/provision`); absent: the route is not served. */
  provision?: ProvisionHandler;
  /** Encrypts issuing CA keys at rest; absent: issuing CAs cannot be created or imported. */
  kek?: Kek;
  /** The clock; tests pass a fixed one. */
  now?: () => Date;
}

export interface AppEnv {
  Variables: {
    requestId: string;
    apiKey: PublicApiKey;
  };
}
