import { describe, expect, it } from 'vitest';
import { newId } from '../../registry/ids';
import { digestsEqual, randomSecret, sha256Hex } from '../../registry/secrets';

describe('newId', () => {
  it('makes UUIDv7s that sort in creation order, even within one millisecond', () => {
    const ids = Array.from({ length: 1000 }, () => newId(1_800_000_000_000));
    expect(
      ids.every((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id)),
    ).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(1000);
  });
});

describe('secrets', () => {
  it('compares digests exactly and refuses empty or unequal lengths', () => {
    const a = sha256Hex('x');
    expect(digestsEqual(a, sha256Hex('x'))).toBe(true);
    expect(digestsEqual(a, sha256Hex('y'))).toBe(false);
    expect(digestsEqual(a, a.slice(0, 10))).toBe(false);
    expect(digestsEqual('', '')).toBe(false);
  });
  it('makes url-safe random secrets', () => {
    expect(randomSecret()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(randomSecret()).not.toBe(randomSecret());
  });
});
