/** The Mann–Whitney U test and the Hodges–Lehmann interval compare judges repeated runs with. */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../target-app/lib/random.js';
import { ALPHA, normalUpper, shiftTest, testable, uStatistic } from '../../scripts/compare/stats.js';

/** P(U ≥ u) by brute force over every subset, computing U pair by pair (independent of the rank-sum path). */
function bruteUpper(base: number[], head: number[]): number {
  const pooled = [...base, ...head];
  const N = pooled.length;
  const m = head.length;
  const u0 = uStatistic(base, head);
  let ge = 0;
  let total = 0;
  for (let mask = 0; mask < 1 << N; mask++) {
    let bits = 0;
    for (let i = 0; i < N; i++) if (mask & (1 << i)) bits++;
    if (bits !== m) continue;
    const h = pooled.filter((_, i) => mask & (1 << i));
    const b = pooled.filter((_, i) => !(mask & (1 << i)));
    total++;
    if (uStatistic(b, h) >= u0 - 1e-9) ge++;
  }
  return ge / total;
}

function normal(rand: () => number): number {
  const u = Math.max(1e-12, rand());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

describe('shiftTest', () => {
  it('3 runs against 3: complete separation is significant at 95 % one-sided (p = 1/20), the interval the range of differences at 90 %', () => {
    const t = shiftTest([1, 2, 3], [4, 5, 6]);
    expect(t.u).toBe(9);
    expect(t.pUp).toBeCloseTo(0.05, 12);
    expect(t.pDown).toBe(1);
    expect(t.exact).toBe(true);
    expect(t.significant).toBe('up');
    expect(t.shift).toBe(3);
    expect(t.interval).toEqual([1, 5]);
    expect(t.level).toBeCloseTo(0.9, 12);
    // one overlap is not
    const o = shiftTest([1, 2, 4.5], [4, 5, 6]);
    expect(o.pUp).toBeCloseTo(0.1, 12);
    expect(o.significant).toBeNull();
    expect(o.interval[0]).toBeLessThan(0);
    // and the other way round
    expect(shiftTest([4, 5, 6], [1, 2, 3]).significant).toBe('down');
  });

  it("matches R's wilcox.test example (W = 35, one-sided p = 0.1272)", () => {
    const x = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
    const y = [1.15, 0.88, 0.9, 0.74, 1.21];
    const t = shiftTest(y, x);
    expect(t.u).toBe(35);
    expect(t.pUp).toBeCloseTo(0.1272, 4);
    expect(t.significant).toBeNull();
  });

  it('exact p-values equal a brute-force enumeration, ties included', () => {
    const rand = mulberry32(11);
    for (let trial = 0; trial < 40; trial++) {
      const n = 2 + Math.floor(rand() * 4);
      const m = 2 + Math.floor(rand() * 4);
      // a coarse grid makes ties common
      const draw = () => Math.round(rand() * 6);
      const base = Array.from({ length: n }, draw);
      const head = Array.from({ length: m }, draw);
      const t = shiftTest(base, head);
      expect(t.pUp, `${base} vs ${head}`).toBeCloseTo(bruteUpper(base, head), 12);
      expect(t.pDown, `${base} vs ${head}`).toBeCloseTo(bruteUpper(head, base), 12);
    }
  });

  it('the normal approximation (used past the enumeration limit) agrees with the exact p-value', () => {
    const rand = mulberry32(3);
    for (const shift of [0, 0.5, 1]) {
      const base = Array.from({ length: 10 }, () => normal(rand));
      const head = Array.from({ length: 10 }, () => normal(rand) + shift);
      const exact = shiftTest(base, head);
      const approx = shiftTest(base, head, { exactLimit: 0 });
      expect(exact.exact).toBe(true);
      expect(approx.exact).toBe(false);
      expect(Math.abs(exact.pUp - approx.pUp), `shift ${shift}`).toBeLessThan(0.01);
      expect(Math.abs(exact.pDown - approx.pDown), `shift ${shift}`).toBeLessThan(0.01);
    }
    expect(shiftTest(Array.from({ length: 12 }, (_, i) => i), Array.from({ length: 12 }, (_, i) => i + 0.5)).exact).toBe(false); // C(24,12) > limit
    expect(normalUpper(1.959964)).toBeCloseTo(0.025, 5);
    expect(normalUpper(-1)).toBeCloseTo(0.841345, 5);
  });

  it('is calibrated: under no change it calls at most ~5 % per direction; the interval covers the true shift', () => {
    const rand = mulberry32(42);
    let falseUp = 0;
    let covered = 0;
    let level = 0;
    const trials = 2000;
    for (let i = 0; i < trials; i++) {
      const base = Array.from({ length: 5 }, () => 10 + normal(rand));
      const same = Array.from({ length: 5 }, () => 10 + normal(rand));
      if (shiftTest(base, same).significant === 'up') falseUp++;
      const shifted = Array.from({ length: 5 }, () => 12 + normal(rand));
      const t = shiftTest(base, shifted);
      level = t.level;
      if (t.interval[0] <= 2 && 2 <= t.interval[1]) covered++;
    }
    expect(falseUp / trials).toBeLessThanOrEqual(ALPHA + 0.015);
    expect(level).toBeGreaterThanOrEqual(0.9);
    expect(covered / trials).toBeGreaterThanOrEqual(level - 0.03);
  });

  it('says which sample sizes can reach 95 % one-sided at all', () => {
    expect(testable(3, 3)).toBe(true);
    expect(testable(2, 3)).toBe(false);
    expect(testable(1, 19)).toBe(true);
    expect(testable(1, 5)).toBe(false);
    expect(shiftTest([5], [9, 9, 9]).minP).toBeCloseTo(0.25, 12);
    expect(() => shiftTest([], [1])).toThrow();
  });
});
