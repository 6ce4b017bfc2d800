import type { Kysely } from 'kysely';
import { revokeTarget } from '../registry/revocations';
import type { Database } from '../registry/schema';
import { currentWorkflow } from './context';
import { permanentOnDomainError } from './failures';
import type { RevocationActivities } from './rotation-contract';

export interface RevocationActivityDeps {
  db: Kysely<Database>;
}

/**
 * Revocation that takes effect at once: the registry change, its audit event and the edge
 * event (caches evicted, live sessions closed) commit together. Idempotent on the request id.
 */
export function createRevocationActivities({ db }: RevocationActivityDeps): RevocationActivities {
  return {
    async revokeInRegistry(input) {
      return permanentOnDomainError(() => revokeTarget(db, input, currentWorkflow()));
    },
  };
}
