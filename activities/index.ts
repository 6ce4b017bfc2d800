import type { Kysely } from 'kysely';
import { PublicKeyCache } from '../pki/chain';
import type { Database } from '../registry/schema';
import { createAuditActivities } from './audit';
import { createClaimActivities } from './claims';
import { createDeviceActivities } from './devices';
import { createIssuanceActivities, type IssuanceActivityDeps } from './issuance';
import { createJitpActivities } from './jitp';
import { createRenewalActivities } from './renewal';
import { createRevocationActivities } from './revocation';
import { createRotationActivities } from './rotation';
import { createRunActivities } from './runs';

export interface ActivityDeps {
  db: Kysely<Database>;
  /** One per worker process: decoded CA public keys are reused across validations. */
  keyCache?: PublicKeyCache;
  clockSkewSeconds?: number;
  /** Key encryption key of issuing CA private keys; without it CSRs cannot be signed. */
  kek?: IssuanceActivityDeps['kek'];
  deviceCertificateDays?: number;
}

/** Every activity the worker registers, built over injected dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createDeviceActivities(deps),
    ...createAuditActivities(deps),
    ...createClaimActivities(deps),
    ...createIssuanceActivities({
      db: deps.db,
      kek: deps.kek,
      deviceCertificateDays: deps.deviceCertificateDays ?? 365,
    }),
    ...createJitpActivities({
      db: deps.db,
      keyCache: deps.keyCache ?? new PublicKeyCache(),
      clockSkewSeconds: deps.clockSkewSeconds ?? 60,
    }),
    ...createRotationActivities({
      db: deps.db,
      kek: deps.kek,
      deviceCertificateDays: deps.deviceCertificateDays ?? 365,
    }),
    ...createRunActivities(deps),
    ...createRevocationActivities(deps),
    ...createRenewalActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
