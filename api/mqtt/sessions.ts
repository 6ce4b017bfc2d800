/**
 * The broker's live device sessions, indexed by device, with the certificate (SHA-256) each
 * authenticated with (null for token and basic credentials), so a revocation closes exactly
 * the sessions it concerns without scanning every client.
 *
 * A revocation also has to catch a connect that is still being authenticated: it may have
 * been answered from a cache just before the event, and only joins the index once accepted.
 * A logical clock orders the two: `mark()` at the start of an authentication, and
 * `revokedSince(device, mark)` before accepting it.
 */
export interface SessionClient {
  readonly closed: boolean;
  close(): void;
}

export function createSessionIndex() {
  const byDevice = new Map<string, Map<SessionClient, string | null>>();
  let clock = 0;
  // Bounded: entries only matter for connects in flight, which last seconds.
  const revokedAt = new Map<string, number>();

  return {
    mark: (): number => clock,

    revokedSince: (deviceId: string, mark: number): boolean => (revokedAt.get(deviceId) ?? 0) > mark,

    add(deviceId: string, client: SessionClient, fingerprint: string | null): void {
      const own = byDevice.get(deviceId) ?? new Map<SessionClient, string | null>();
      byDevice.set(deviceId, own.set(client, fingerprint));
    },

    remove(deviceId: string, client: SessionClient): void {
      const own = byDevice.get(deviceId);
      own?.delete(client);
      if (own?.size === 0) byDevice.delete(deviceId);
    },

    /** Records a revocation of the device: connects in flight since `mark()` are refused. */
    revoke(deviceId: string): void {
      clock += 1;
      if (revokedAt.size > 10_000) revokedAt.clear();
      revokedAt.set(deviceId, clock);
    },

    /** Closes the sessions using this certificate, or all the device's without one. */
    disconnect(deviceId: string, fingerprint?: string | null): number {
      const own = byDevice.get(deviceId);
      let closed = 0;
      for (const [client, used] of own ?? []) {
        // A session aedes never registered (dropped before its CONNACK) has no disconnect
        // event to remove it; it is pruned here.
        if (client.closed) {
          own?.delete(client);
          continue;
        }
        if (fingerprint && used !== fingerprint) continue;
        closed += 1;
        client.close();
      }
      if (own?.size === 0) byDevice.delete(deviceId);
      return closed;
    },

    has: (deviceId: string): boolean => byDevice.has(deviceId),
  };
}

export type SessionIndex = ReturnType<typeof createSessionIndex>;
