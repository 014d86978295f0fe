/**
 * The test compare judges repeated runs with: Mann–Whitney U (Wilcoxon rank-sum) on the per-run values of a metric,
 * one-sided in each direction, and the Hodges–Lehmann shift with its distribution-free interval (Moses), which is
 * the interval dual to the same test: a one-sided test at level α rejects "no shift that way" exactly when the
 * (1 − 2α) two-sided interval excludes 0 on that side.
 *
 * Exact p-values: for small samples (≤ EXACT_LIMIT ways to split the pooled values) every split is enumerated, so ties
 * are handled exactly; larger samples use the normal approximation with the tie correction and a continuity
 * correction. No npm package offers this (simple-statistics has the rank sum only and a randomised permutation
 * test), so it is here, small and tested (test/compare/stats.test.ts).
 */

/** One-sided level per direction: a change counts at 95 % confidence. */
export const ALPHA = 0.05;

/** Enumerate every split of the pooled values up to this many (C(n+m, n); 3 vs 3 = 20, 8 vs 8 = 12,870). */
export const EXACT_LIMIT = 200_000;

export interface ShiftTest {
  method: 'mann-whitney-u';
  /** Runs on each side. */
  baseN: number;
  headN: number;
  /** U of head over base: pairs (b, h) with h > b, ties counting ½. */
  u: number;
  /** One-sided p-values: P(U ≥ u) under "no shift" (head larger), P(U ≤ u) (head smaller). */
  pUp: number;
  pDown: number;
  /** "exact" (every split enumerated) or "normal" (approximation). */
  exact: boolean;
  /** The smallest one-sided p-value these sample sizes can give: above ALPHA, the test can never call a change. */
  minP: number;
  /** Hodges–Lehmann estimate of head − base: the median of all pairwise differences. */
  shift: number;
  /** Distribution-free interval of head − base at `level` (two-sided), from the pairwise differences. */
  interval: [number, number];
  level: number;
  /** Which way the test calls the change at ALPHA one-sided, or null (not significant). */
  significant: 'up' | 'down' | null;
}

function choose(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

/** U of y over x: pairs with y > x, ties ½. */
export function uStatistic(x: readonly number[], y: readonly number[]): number {
  let u = 0;
  for (const a of x) for (const b of y) u += b > a ? 1 : b === a ? 0.5 : 0;
  return u;
}

/** Average ranks (1-based) of the pooled values, ties sharing their mean rank. */
function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
  const r = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1].v === order[i].v) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[order[k].i] = rank;
    i = j + 1;
  }
  return r;
}

/**
 * The exact null distribution of U for these pooled values: every way to pick which `m` of them are "head".
 * Returns the counts of U ≥ u and U ≤ u, and the number of splits.
 */
function exactTail(pooled: readonly number[], m: number, u: number): { ge: number; le: number; total: number } {
  const r = ranks(pooled);
  const N = pooled.length;
  const offset = (m * (m + 1)) / 2; // U = rank sum of head − m(m+1)/2
  let ge = 0;
  let le = 0;
  let total = 0;
  const eps = 1e-9;
  const walk = (start: number, left: number, sum: number) => {
    if (left === 0) {
      const uu = sum - offset;
      total++;
      if (uu >= u - eps) ge++;
      if (uu <= u + eps) le++;
      return;
    }
    for (let i = start; i <= N - left; i++) walk(i + 1, left - 1, sum + r[i]);
  };
  walk(0, m, 0);
  return { ge, le, total };
}

/** Standard normal upper tail, P(Z ≥ z) (Abramowitz–Stegun 26.2.17, |error| < 7.5e-8). */
export function normalUpper(z: number): number {
  if (z < 0) return 1 - normalUpper(-z);
  const t = 1 / (1 + 0.2316419 * z);
  const poly = t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  return (Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI)) * poly;
}

function normalTail(pooled: readonly number[], n: number, m: number, u: number): { pUp: number; pDown: number } {
  const N = n + m;
  const counts = new Map<number, number>();
  for (const v of pooled) counts.set(v, (counts.get(v) ?? 0) + 1);
  let ties = 0;
  for (const t of counts.values()) ties += t * t * t - t;
  const mean = (n * m) / 2;
  const variance = ((n * m) / 12) * (N + 1 - ties / (N * (N - 1)));
  if (variance <= 0) return { pUp: 1, pDown: 1 };
  const sd = Math.sqrt(variance);
  return { pUp: normalUpper((u - mean - 0.5) / sd), pDown: normalUpper((mean - u - 0.5) / sd) };
}

/**
 * The smallest k such that the interval [D(k), D(nm+1−k)] of the sorted pairwise differences has coverage
 * ≥ 1 − 2α: P(U ≤ k − 1) ≤ α under the null without ties. Uses the exact distribution of U for small samples.
 */
function intervalRank(n: number, m: number, alpha: number): { k: number; level: number } {
  const nm = n * m;
  let cdf: (k: number) => number;
  if (choose(n + m, n) <= EXACT_LIMIT) {
    // counts of U = 0..nm by the classic recursion over (n, m)
    const memo = new Map<string, number[]>();
    const dist = (a: number, b: number): number[] => {
      if (a === 0 || b === 0) return [1];
      const key = `${a},${b}`;
      const hit = memo.get(key);
      if (hit) return hit;
      // the largest value is head's (adds a to U) or base's
      const left = dist(a, b - 1);
      const right = dist(a - 1, b);
      const out = new Array<number>(a * b + 1).fill(0);
      left.forEach((c, i) => (out[i + a] += c));
      right.forEach((c, i) => (out[i] += c));
      memo.set(key, out);
      return out;
    };
    const counts = dist(n, m);
    const total = counts.reduce((s, c) => s + c, 0);
    cdf = (k) => counts.slice(0, k + 1).reduce((s, c) => s + c, 0) / total;
  } else {
    const sd = Math.sqrt((nm * (n + m + 1)) / 12);
    cdf = (k) => 1 - normalUpper((k + 0.5 - nm / 2) / sd);
  }
  let k = 0;
  while (k + 1 <= nm && cdf(k) <= alpha) k++;
  // the interval is [D(c), D(nm + 1 − c)] with coverage 1 − 2·P(U ≤ c − 1); when even P(U = 0) > α (too few
  // runs), c = 1 — the whole range of differences, at the lower coverage it has
  const c = Math.max(1, k);
  return { k: c, level: 1 - 2 * cdf(c - 1) };
}

function medianOf(sorted: readonly number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Mann–Whitney U of `head` against `base` (per-run values), with the Hodges–Lehmann shift and its interval at
 * (1 − 2·alpha). Needs at least one value on each side; throws otherwise. `exactLimit` (default EXACT_LIMIT) caps
 * the splits enumerated before the normal approximation is used.
 */
export function shiftTest(base: readonly number[], head: readonly number[], options: { alpha?: number; exactLimit?: number } = {}): ShiftTest {
  const alpha = options.alpha ?? ALPHA;
  const n = base.length;
  const m = head.length;
  if (n === 0 || m === 0) throw new Error('shiftTest: a side has no values');
  const u = uStatistic(base, head);
  const pooled = [...base, ...head];
  const splits = choose(n + m, m);
  let pUp: number;
  let pDown: number;
  const exact = splits <= (options.exactLimit ?? EXACT_LIMIT);
  if (exact) {
    // head's values are the last m of the pooled list; the tail counts are over every choice of m of them
    const t = exactTail(pooled, m, u);
    pUp = t.ge / t.total;
    pDown = t.le / t.total;
  } else {
    ({ pUp, pDown } = normalTail(pooled, n, m, u));
  }
  const diffs: number[] = [];
  for (const b of base) for (const h of head) diffs.push(h - b);
  diffs.sort((a, b) => a - b);
  const { k, level } = intervalRank(n, m, alpha);
  const interval: [number, number] = [diffs[k - 1], diffs[diffs.length - k]];
  const minP = 1 / splits;
  const significant = pUp <= alpha + 1e-12 ? 'up' : pDown <= alpha + 1e-12 ? 'down' : null;
  return { method: 'mann-whitney-u', baseN: n, headN: m, u, pUp, pDown, exact, minP: exact ? minP : 0, shift: medianOf(diffs), interval, level, significant };
}

/** Whether these sample sizes can ever reach ALPHA one-sided (3 vs 3 can: 1/20 = 0.05; 2 vs 3 cannot: 1/10). */
export function testable(baseN: number, headN: number, alpha = ALPHA): boolean {
  return baseN > 0 && headN > 0 && 1 / choose(baseN + headN, headN) <= alpha + 1e-12;
}
