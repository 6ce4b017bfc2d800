import type { Kysely } from 'kysely';
import type { Database } from '../registry/schema';
import { createAuditActivities } from './audit';
import { createDeviceActivities } from './devices';

export interface ActivityDeps {
  db: Kysely<Database>;
}

/** Every activity the worker registers, built over injected dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createDeviceActivities(deps),
    ...createAuditActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
