import { describe, expect, it } from 'vitest';
import { RateLimiter, takeAll } from '../../api/edge/rate-limit';

const T0 = 1_780_000_000_000; // a fixed instant; only differences matter

describe('RateLimiter', () => {
  it('allows a burst, then refuses with the wait until the next token', () => {
    const limiter = new RateLimiter({ perSecond: 2, burst: 3 });
    for (let i = 0; i < 3; i++) expect(limiter.take('ca-1', T0)).toEqual({ allowed: true });
    expect(limiter.take('ca-1', T0)).toEqual({ allowed: false, retryAfterMs: 500 });
    expect(limiter.take('ca-1', T0 + 200)).toEqual({ allowed: false, retryAfterMs: 300 });
  });

  it('refills at perSecond up to burst, and a refusal costs nothing', () => {
    const limiter = new RateLimiter({ perSecond: 2, burst: 3 });
    for (let i = 0; i < 3; i++) limiter.take('ca-1', T0);
    expect(limiter.take('ca-1', T0 + 499).allowed).toBe(false);
    expect(limiter.take('ca-1', T0 + 500)).toEqual({ allowed: true });
    expect(limiter.take('ca-1', T0 + 500).allowed).toBe(false);
    // A long quiet period refills to burst, not beyond.
    const later = T0 + 60_000;
    for (let i = 0; i < 3; i++) expect(limiter.take('ca-1', later)).toEqual({ allowed: true });
    expect(limiter.take('ca-1', later)).toEqual({ allowed: false, retryAfterMs: 500 });
  });

  it('allows a take exactly retryAfterMs later, even when 1000/perSecond is not whole', () => {
    const limiter = new RateLimiter({ perSecond: 3, burst: 1 });
    let now = T0;
    expect(limiter.take('k', now).allowed).toBe(true);
    for (let i = 0; i < 50; i++) {
      const refused = limiter.take('k', now);
      if (refused.allowed) throw new Error(`allowed early at step ${i}`);
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      now += refused.retryAfterMs;
      expect(limiter.take('k', now)).toEqual({ allowed: true });
    }
  });

  it('keeps keys independent', () => {
    const limiter = new RateLimiter({ perSecond: 1, burst: 1 });
    expect(limiter.take('tenant-a', T0).allowed).toBe(true);
    expect(limiter.take('tenant-a', T0).allowed).toBe(false);
    expect(limiter.take('tenant-b', T0).allowed).toBe(true);
  });

  it('refills nothing when the clock goes backwards', () => {
    const limiter = new RateLimiter({ perSecond: 1, burst: 1 });
    limiter.take('k', T0);
    expect(limiter.take('k', T0 - 5_000)).toEqual({ allowed: false, retryAfterMs: 1000 });
    expect(limiter.take('k', T0 + 1_000)).toEqual({ allowed: true });
  });

  it('treats perSecond Infinity as unlimited, keeping no state', () => {
    const limiter = new RateLimiter({ perSecond: Infinity, burst: 1 });
    for (let i = 0; i < 1000; i++) expect(limiter.take(`k${i % 3}`, T0)).toEqual({ allowed: true });
    expect(limiter.size).toBe(0);
  });

  it('refuses perSecond 0, a fractional or zero burst, and a bad maxKeys or clock', () => {
    expect(() => new RateLimiter({ perSecond: 0, burst: 5 })).toThrow(RangeError);
    expect(() => new RateLimiter({ perSecond: -1, burst: 5 })).toThrow(RangeError);
    expect(() => new RateLimiter({ perSecond: NaN, burst: 5 })).toThrow(RangeError);
    expect(() => new RateLimiter({ perSecond: 1, burst: 0 })).toThrow(RangeError);
    expect(() => new RateLimiter({ perSecond: 1, burst: 1.5 })).toThrow(RangeError);
    expect(() => new RateLimiter({ perSecond: 1, burst: 1 }, { maxKeys: 0 })).toThrow(RangeError);
    expect(() => new RateLimiter({ perSecond: 1, burst: 1 }).take('k', NaN)).toThrow(RangeError);
  });

  it('holds at most maxKeys buckets, forgetting the least recently used', () => {
    const limiter = new RateLimiter({ perSecond: 1, burst: 1 }, { maxKeys: 3 });
    for (const key of ['a', 'b', 'c']) limiter.take(key, T0);
    expect(limiter.take('a', T0).allowed).toBe(false); // touches a: b is now the oldest
    limiter.take('d', T0); // evicts b
    expect(limiter.size).toBe(3);
    expect(limiter.take('b', T0).allowed).toBe(true); // b came back full; evicts c
    expect(limiter.take('a', T0).allowed).toBe(false); // a, refused but touched, was kept
    expect(limiter.take('d', T0).allowed).toBe(false);
    for (let i = 0; i < 10_000; i++) limiter.take(`flood-${i}`, T0);
    expect(limiter.size).toBe(3);
  });
});

describe('takeAll', () => {
  it('charges every limiter when all allow', () => {
    const perCa = new RateLimiter({ perSecond: 1, burst: 2 });
    const perTenant = new RateLimiter({ perSecond: 1, burst: 2 });
    const entries: [RateLimiter, string][] = [
      [perCa, 'ca-1'],
      [perTenant, 't-1'],
    ];
    expect(takeAll(entries, T0)).toEqual({ allowed: true });
    expect(takeAll(entries, T0)).toEqual({ allowed: true });
    expect(perCa.take('ca-1', T0).allowed).toBe(false);
    expect(perTenant.take('t-1', T0).allowed).toBe(false);
  });

  it('charges none when one refuses, and reports the longest wait', () => {
    const perCa = new RateLimiter({ perSecond: 10, burst: 5 });
    const perTenant = new RateLimiter({ perSecond: 0.5, burst: 1 });
    perTenant.take('t-1', T0);
    expect(
      takeAll(
        [
          [perCa, 'ca-1'],
          [perTenant, 't-1'],
        ],
        T0,
      ),
    ).toEqual({ allowed: false, retryAfterMs: 2000 });
    // perCa was not charged: its whole burst is still there.
    for (let i = 0; i < 5; i++) expect(perCa.take('ca-1', T0).allowed).toBe(true);
    expect(perCa.take('ca-1', T0)).toEqual({ allowed: false, retryAfterMs: 100 });
  });

  it('counts a repeated (limiter, key) once per entry', () => {
    const limiter = new RateLimiter({ perSecond: 1, burst: 2 });
    limiter.take('k', T0);
    expect(
      takeAll(
        [
          [limiter, 'k'],
          [limiter, 'k'],
        ],
        T0,
      ),
    ).toEqual({ allowed: false, retryAfterMs: 1000 });
    expect(limiter.take('k', T0)).toEqual({ allowed: true });
  });

  it('allows an empty list and skips unlimited limiters', () => {
    const open = new RateLimiter({ perSecond: Infinity, burst: 1 });
    expect(takeAll([], T0)).toEqual({ allowed: true });
    expect(takeAll([[open, 'x']], T0)).toEqual({ allowed: true });
  });
});
