import { describe, expect, it } from 'vitest';
import { assignBehaviours, backoffMs, BehaviourSpecError, deviceName, NORMAL } from '../../sim/behaviours';

describe('simulated device behaviours', () => {
  it('assigns special devices from the end of the fleet, without overlap, the same every time', () => {
    const spec = { offline: 2, neverConfirm: 3, slow: { count: 1, delayMs: 500 }, badCsr: 1 };
    const a = assignBehaviours(10, spec);
    expect(a).toEqual(assignBehaviours(10, spec));
    expect(a.map((b) => (b.online ? '.' : 'o')).join('')).toBe('........oo');
    expect(a.map((b) => (b.neverConfirm ? 'n' : '.')).join('')).toBe('.....nnn..');
    expect(a.map((b) => (b.slowMs > 0 ? 's' : '.')).join('')).toBe('....s.....');
    expect(a.map((b) => (b.badCsr ? 'b' : '.')).join('')).toBe('...b......');
    expect(a.slice(0, 3)).toEqual([NORMAL, NORMAL, NORMAL]);
    expect(a[4]?.slowMs).toBe(500);
  });

  it('applies per-index overrides after the counts', () => {
    const a = assignBehaviours(4, {
      offline: 1,
      perIndex: { 0: { neverConfirm: true }, 3: { online: true } },
    });
    expect(a[0]).toEqual({ ...NORMAL, neverConfirm: true });
    expect(a[3]?.online).toBe(true);
    expect(a.every((b) => b.autoReconnect)).toBe(true);
    expect(assignBehaviours(2, { autoReconnect: false }).every((b) => !b.autoReconnect)).toBe(true);
  });

  it('refuses more special devices than the fleet has, and bad numbers', () => {
    expect(() => assignBehaviours(3, { offline: 2, neverConfirm: 2 })).toThrow(BehaviourSpecError);
    expect(() => assignBehaviours(3, { offline: -1 })).toThrow(/offline/);
    expect(() => assignBehaviours(3, { slow: { count: 1, delayMs: -5 } })).toThrow(/delayMs/);
    expect(() => assignBehaviours(3, { perIndex: { 7: { online: false } } })).toThrow(/perIndex\.7/);
    expect(assignBehaviours(0)).toEqual([]);
  });

  it('names devices so they sort in index order', () => {
    expect(deviceName('sim', 7, 10)).toBe('sim-0007');
    expect(deviceName('sim', 7, 100_000)).toBe('sim-00007');
    expect(deviceName('sim', 99_999, 100_000)).toBe('sim-99999');
  });

  it('backs off by doubling up to the cap, with bounded jitter', () => {
    expect(backoffMs(0, 1000, 30_000, () => 0.5)).toBe(1000);
    expect(backoffMs(3, 1000, 30_000, () => 0.5)).toBe(8000);
    expect(backoffMs(50, 1000, 30_000, () => 0.5)).toBe(30_000);
    expect(backoffMs(0, 1000, 30_000, () => 0)).toBe(800);
    expect(backoffMs(0, 1000, 30_000, () => 0.999999)).toBeLessThanOrEqual(1200);
  });
});
