import type { Kysely } from 'kysely';
import type { AnchorCa } from '../../pki/device-chain';
import { listTrustAnchors } from '../../registry/cas';
import type { Database } from '../../registry/schema';

export interface TrustStoreOptions {
  /** Anchors are reloaded at most this often in steady state. */
  ttlMs?: number;
  /**
   * A miss (no registered CA matched) may force a reload, but not more often than this: a CA
   * registered a moment ago works at once, while a stream of foreign certificates cannot turn
   * into a stream of registry queries.
   */
  missReloadIntervalMs?: number;
}

/** The registered CAs the edge validates first connects against, cached. */
export function createTrustStore(db: Kysely<Database>, opts: TrustStoreOptions = {}) {
  const ttlMs = opts.ttlMs ?? 2_000;
  const missReloadIntervalMs = opts.missReloadIntervalMs ?? 1_000;
  let cached: { anchors: AnchorCa[]; loadedAt: number } | undefined;
  let loading: Promise<AnchorCa[]> | undefined;

  const load = (): Promise<AnchorCa[]> =>
    (loading ??= listTrustAnchors(db)
      .then((cas) => {
        const anchors = cas.map((ca) => ({
          id: ca.id,
          tenantId: ca.tenantId,
          fingerprintSha256: ca.fingerprintSha256,
          certificatePem: ca.certificatePem,
          status: ca.status,
          jitpEnabled: ca.jitp.enabled,
        }));
        cached = { anchors, loadedAt: Date.now() };
        return anchors;
      })
      .finally(() => {
        loading = undefined;
      }));

  return {
    async anchors(nowMs = Date.now()): Promise<AnchorCa[]> {
      if (cached && nowMs - cached.loadedAt < ttlMs) return cached.anchors;
      return load();
    },
    /** Reloads after a miss if the cache is older than the miss interval; true if it did. */
    async reloadAfterMiss(nowMs = Date.now()): Promise<boolean> {
      if (cached && nowMs - cached.loadedAt < missReloadIntervalMs) return false;
      await load();
      return true;
    },
  };
}

export type TrustStore = ReturnType<typeof createTrustStore>;
