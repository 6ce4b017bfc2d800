import type { Kysely } from 'kysely';
import { type AuthenticatedDevice, findDeviceByCredential } from '../../registry/devices';
import type { Database } from '../../registry/schema';
import { sha256Hex } from '../../registry/secrets';

/**
 * Resolves a device from the credentials of an MQTT CONNECT, straight from the registry:
 * Temporal is never on an already-provisioned device's connect path. A short positive cache
 * absorbs reconnect storms; misses are not cached so a just-created device gets in at once.
 */
export function createDeviceAuthenticator(db: Kysely<Database>, ttlMs = 5_000) {
  const cache = new Map<string, { device: AuthenticatedDevice; until: number }>();
  return async function authenticateToken(
    token: string,
    now = Date.now(),
  ): Promise<AuthenticatedDevice | undefined> {
    const hash = sha256Hex(token);
    const hit = cache.get(hash);
    if (hit && hit.until > now) return hit.device;
    cache.delete(hash);
    const device = await findDeviceByCredential(db, 'ACCESS_TOKEN', hash);
    if (device) {
      if (cache.size > 10_000) cache.clear();
      cache.set(hash, { device, until: now + ttlMs });
    }
    return device;
  };
}
