import type { Kysely } from 'kysely';
import {
  type AuthenticatedDevice,
  findCredentialHolders,
  findDeviceByCredential,
} from '../../registry/devices';
import type { Database } from '../../registry/schema';
import { mqttBasicLookupKey, sha256Hex, verifyPassword } from '../../registry/secrets';

/**
 * Resolves a device from the credentials of an MQTT CONNECT, straight from the registry:
 * Temporal is never on an already-provisioned device's connect path. A short positive cache
 * absorbs reconnect storms (and spares the scrypt check of MQTT basic passwords); misses are
 * not cached so a just-provisioned device gets in at once.
 */
export function createDeviceAuthenticator(db: Kysely<Database>, ttlMs = 5_000) {
  const cache = new Map<string, { device: AuthenticatedDevice; until: number }>();
  const remember = (key: string, device: AuthenticatedDevice | undefined, now: number) => {
    if (!device) return device;
    if (cache.size > 10_000) cache.clear();
    cache.set(key, { device, until: now + ttlMs });
    return device;
  };
  const cached = (key: string, now: number) => {
    const hit = cache.get(key);
    if (hit && hit.until > now) return hit.device;
    cache.delete(key);
    return undefined;
  };

  /** ThingsBoard access token, sent as the MQTT username. */
  async function byToken(token: string, now = Date.now()): Promise<AuthenticatedDevice | undefined> {
    const hash = sha256Hex(token);
    return (
      cached(`t:${hash}`, now) ??
      remember(`t:${hash}`, await findDeviceByCredential(db, 'ACCESS_TOKEN', hash), now)
    );
  }

  /**
   * ThingsBoard MQTT basic credentials: (client id, username, password), (username, password)
   * or the client id alone, as provisioned. A stored password must match (scrypt, constant
   * time); a credential provisioned without one accepts no password.
   */
  async function byBasic(
    clientId: string,
    username: string | undefined,
    password: string | undefined,
    now = Date.now(),
  ): Promise<AuthenticatedDevice | undefined> {
    const cacheKey = `b:${sha256Hex(JSON.stringify([clientId, username ?? null, password ?? null]))}`;
    const hit = cached(cacheKey, now);
    if (hit) return hit;
    const keys = username
      ? [mqttBasicLookupKey(clientId, username), mqttBasicLookupKey(null, username)]
      : [mqttBasicLookupKey(clientId, null)];
    const rows = await findCredentialHolders(db, 'MQTT_BASIC', keys);
    for (const row of rows) {
      const ok = row.secretHash
        ? password !== undefined && (await verifyPassword(password, row.secretHash))
        : !password;
      if (ok)
        return remember(
          cacheKey,
          { tenantId: row.tenantId, deviceId: row.deviceId, deviceName: row.deviceName },
          now,
        );
    }
    return undefined;
  }

  return { byToken, byBasic };
}

export type DeviceAuthenticator = ReturnType<typeof createDeviceAuthenticator>;
