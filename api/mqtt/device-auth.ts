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
 * not cached so a just-provisioned device gets in at once. `forgetDevice` evicts a revoked
 * device at once (the edge event feed calls it), so revocation does not wait for the TTL.
 */
export function createDeviceAuthenticator(db: Kysely<Database>, ttlMs = 5_000) {
  const cache = new Map<string, { device: AuthenticatedDevice; until: number }>();
  // device id → its cache keys, so eviction touches only that device's entries.
  const keysOf = new Map<string, Set<string>>();
  // Bumped by every eviction: a registry read that began before one is not cached, since it
  // may have seen the credential just before it was revoked.
  let evictions = 0;
  const remember = (key: string, device: AuthenticatedDevice | undefined, now: number, readAt: number) => {
    if (!device || readAt !== evictions) return device;
    if (cache.size > 10_000) {
      cache.clear();
      keysOf.clear();
    }
    cache.set(key, { device, until: now + ttlMs });
    const keys = keysOf.get(device.deviceId) ?? new Set<string>();
    keysOf.set(device.deviceId, keys.add(key));
    return device;
  };
  const cached = (key: string, now: number) => {
    const hit = cache.get(key);
    if (!hit) return undefined;
    if (hit.until > now) return hit.device;
    cache.delete(key);
    const keys = keysOf.get(hit.device.deviceId);
    keys?.delete(key);
    if (keys?.size === 0) keysOf.delete(hit.device.deviceId);
    return undefined;
  };

  /** ThingsBoard access token, sent as the MQTT username. */
  async function byToken(token: string, now = Date.now()): Promise<AuthenticatedDevice | undefined> {
    const hash = sha256Hex(token);
    const readAt = evictions;
    return (
      cached(`t:${hash}`, now) ??
      remember(`t:${hash}`, await findDeviceByCredential(db, 'ACCESS_TOKEN', hash), now, readAt)
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
    const readAt = evictions;
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
          readAt,
        );
    }
    return undefined;
  }

  /** Drops every cached credential of the device (revoked device or credential). */
  function forgetDevice(deviceId: string): void {
    evictions += 1;
    for (const key of keysOf.get(deviceId) ?? []) cache.delete(key);
    keysOf.delete(deviceId);
  }

  return { byToken, byBasic, forgetDevice };
}

export type DeviceAuthenticator = ReturnType<typeof createDeviceAuthenticator>;
