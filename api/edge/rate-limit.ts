/*
 * In-memory token buckets keyed by string, for the edge to bound first-connect provisioning per
 * CA and per tenant. Pure: the caller passes the time, so tests use fixed clocks and nothing here
 * reads a clock or schedules work. A refusal carries when to retry (MQTT CONNACK 3, HTTP 429 with
 * Retry-After = ceil(retryAfterMs / 1000)). State is per process: with several edges the
 * effective limit is the sum of theirs.
 */

export interface RateLimit {
  /**
   * Sustained rate: tokens added per second, > 0. `Infinity` means unlimited (every take is
   * allowed and no bucket is kept). 0 is refused: in config files it reads as "no limit" to some
   * and "block" to others, and a bucket that never refills is not a rate limit (an evicted key
   * would even get its burst back). To stop provisioning, disable JITP instead.
   */
  perSecond: number;
  /** Bucket capacity: the most takes allowed at once after a quiet period. A whole number ≥ 1. */
  burst: number;
}

export type TakeResult = { allowed: true } | { allowed: false; retryAfterMs: number };

export interface RateLimiterOptions {
  /**
   * Most buckets kept; beyond it the least recently used is forgotten (it comes back full).
   * Bounds memory against many distinct keys (one per CA or tenant, possibly attacker-chosen).
   * Default 100_000.
   */
  maxKeys?: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

/** Float slack: tokens refilled over exactly retryAfterMs must count as enough. */
const EPSILON = 1e-9;
const ALLOWED: TakeResult = { allowed: true };

export class RateLimiter {
  readonly limit: Readonly<RateLimit>;
  private readonly maxKeys: number;
  /** Map iteration order is insertion order: re-inserting on use keeps the LRU bucket first. */
  private readonly buckets = new Map<string, Bucket>();

  constructor(limit: RateLimit, opts: RateLimiterOptions = {}) {
    if (!(limit.perSecond > 0))
      throw new RangeError(`perSecond must be > 0 or Infinity, got ${limit.perSecond}`);
    if (!Number.isInteger(limit.burst) || limit.burst < 1) {
      throw new RangeError(`burst must be a whole number >= 1, got ${limit.burst}`);
    }
    const maxKeys = opts.maxKeys ?? 100_000;
    if (!Number.isInteger(maxKeys) || maxKeys < 1)
      throw new RangeError(`maxKeys must be >= 1, got ${maxKeys}`);
    this.limit = { ...limit };
    this.maxKeys = maxKeys;
  }

  get unlimited(): boolean {
    return this.limit.perSecond === Infinity;
  }

  /** Buckets currently held (at most maxKeys). */
  get size(): number {
    return this.buckets.size;
  }

  /** Takes one token for key at time nowMs; returns { allowed: true } or { allowed: false, retryAfterMs }. */
  take(key: string, nowMs: number): TakeResult {
    return RateLimiter.takeAll([[this, key]], nowMs);
  }

  /** See the exported `takeAll`. Static so it may reach every limiter's private buckets. */
  static takeAll(entries: readonly (readonly [RateLimiter, string])[], nowMs: number): TakeResult {
    if (!Number.isFinite(nowMs)) throw new RangeError(`nowMs must be finite, got ${nowMs}`);
    // The same (limiter, key) may appear more than once: it must then afford every token asked.
    const demand = new Map<RateLimiter, Map<string, number>>();
    for (const [limiter, key] of entries) {
      if (limiter.unlimited) continue;
      const keys = demand.get(limiter) ?? new Map<string, number>();
      keys.set(key, (keys.get(key) ?? 0) + 1);
      demand.set(limiter, keys);
    }
    let retryAfterMs = 0;
    const charges: [Bucket, number][] = [];
    for (const [limiter, keys] of demand) {
      for (const [key, count] of keys) {
        const bucket = limiter.refill(key, nowMs);
        retryAfterMs = Math.max(retryAfterMs, limiter.waitMs(bucket, count));
        charges.push([bucket, count]);
      }
    }
    // Every bucket is checked before any is charged: a refusal by one limiter costs the others nothing.
    if (retryAfterMs > 0) return { allowed: false, retryAfterMs };
    for (const [bucket, count] of charges) bucket.tokens = Math.max(0, bucket.tokens - count);
    return ALLOWED;
  }

  /**
   * The key's bucket brought up to nowMs, marked most recently used. Refusals touch it too: a
   * key under pressure must not drift to the LRU end and be evicted back to a full burst.
   * Time never runs backwards for a bucket (an earlier nowMs refills nothing).
   */
  private refill(key: string, nowMs: number): Bucket {
    const { perSecond, burst } = this.limit;
    let bucket = this.buckets.get(key);
    if (bucket) {
      this.buckets.delete(key);
      if (nowMs > bucket.atMs) {
        bucket.tokens = Math.min(burst, bucket.tokens + ((nowMs - bucket.atMs) * perSecond) / 1000);
        bucket.atMs = nowMs;
      }
    } else {
      bucket = { tokens: burst, atMs: nowMs };
    }
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next();
      if (!oldest.done) this.buckets.delete(oldest.value);
    }
    return bucket;
  }

  /** 0 when `count` tokens are there now, else whole milliseconds until they will be. */
  private waitMs(bucket: Bucket, count: number): number {
    const { perSecond, burst } = this.limit;
    if (count > burst) throw new RangeError(`${count} tokens asked of one bucket of burst ${burst}`);
    const deficit = count - bucket.tokens;
    return deficit <= EPSILON ? 0 : Math.max(1, Math.ceil((deficit * 1000) / perSecond));
  }
}

/**
 * Takes one token from each (limiter, key) atomically at nowMs: allowed only if all allow, and
 * if any refuses none is charged. retryAfterMs is the longest wait among the refusing buckets,
 * the earliest time all could pass absent other traffic. An empty list is allowed.
 */
export function takeAll(entries: readonly (readonly [RateLimiter, string])[], nowMs: number): TakeResult {
  return RateLimiter.takeAll(entries, nowMs);
}
