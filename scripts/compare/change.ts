/**
 * One number in base and head: how it moved, and whether that is better, worse, the same, or noise.
 *
 * Noise, in the order compare tries:
 * 1. With `--runs N` on both sides, summary.json carries `perRun` — per metric, each run's value. When both sides have
 *    enough runs for the test to reach 95 % (3 against 3 can; ./stats.ts `testable`), the change is tested with
 *    Mann–Whitney U, one-sided in each direction at 95 % confidence: a change the test does not call is noise, and the
 *    change carries the test (its Hodges–Lehmann interval included).
 * 2. Otherwise, with `spread` (the [min, max] of the repeated runs) on either side: noise when the two ranges overlap
 *    (some run of the base was as good as some run of the head). A single run is the range [value, value].
 *    A metric without a spread of its own (a route's p95 in an older summary) can borrow one: `relativeNoise`, the
 *    relative width of the same metric's overall spread; a smaller relative change is noise.
 * 3. Single runs on both sides: nothing is noise; the change is judged by its size alone.
 */
import { shiftTest, testable, type ShiftTest } from './stats.js';

/** Which way is good: latency, delay and blocked time want to go down, throughput up. */
export type Better = 'lower' | 'higher';

export type Verdict = 'better' | 'worse' | 'same' | 'noise';

export interface Change {
  base: number;
  head: number;
  /** head − base. */
  delta: number;
  /** head / base − 1; ±Infinity when base is 0 and head is not; 0 when both are 0. */
  relative: number;
  /** Direction of the value itself (▲ up / ▼ down). */
  direction: 'up' | 'down' | 'flat';
  verdict: Verdict;
  /** The ranges of repeated runs, when summary.json had them. */
  baseSpread?: [number, number];
  headSpread?: [number, number];
  /** The Mann–Whitney test on the runs' values, when both sides had enough runs (see above). */
  test?: ShiftTest;
}

/** Relative changes below this are reported as "same" (a 0.4 % move in req/s is not news). */
export const SAME_WITHIN = 0.01;

export function relativeChange(base: number, head: number): number {
  if (base === head) return 0;
  if (base === 0) return head > 0 ? Infinity : -Infinity;
  return head / base - 1;
}

export function rangesOverlap(a: [number, number], b: [number, number]): boolean {
  const [a0, a1] = [Math.min(...a), Math.max(...a)];
  const [b0, b1] = [Math.min(...b), Math.max(...b)];
  return a0 <= b1 && b0 <= a1;
}

export interface NoiseInfo {
  base?: [number, number];
  head?: [number, number];
  /** Each run's value (summary.json `perRun`), per side. */
  baseValues?: readonly number[];
  headValues?: readonly number[];
  /** Relative changes below this are noise (for metrics measured without a spread of their own). */
  relativeNoise?: number;
}

export function makeChange(base: number, head: number, better: Better, spreads: NoiseInfo = {}): Change {
  const delta = head - base;
  const relative = relativeChange(base, head);
  const direction = delta > 0 ? 'up' : delta < 0 ? 'down' : 'flat';
  const test = spreads.baseValues && spreads.headValues && testable(spreads.baseValues.length, spreads.headValues.length)
    ? shiftTest(spreads.baseValues, spreads.headValues)
    : undefined;
  let verdict: Verdict;
  if (direction === 'flat' || Math.abs(relative) < SAME_WITHIN) verdict = 'same';
  else if (test) verdict = test.significant === direction ? ((direction === 'down') === (better === 'lower') ? 'better' : 'worse') : 'noise';
  else if ((spreads.base || spreads.head) && rangesOverlap(spreads.base ?? [base, base], spreads.head ?? [head, head])) verdict = 'noise';
  else if (!spreads.base && !spreads.head && spreads.relativeNoise !== undefined && Math.abs(relative) < spreads.relativeNoise) verdict = 'noise';
  else verdict = (direction === 'down') === (better === 'lower') ? 'better' : 'worse';
  const change: Change = { base, head, delta, relative, direction, verdict };
  if (spreads.base) change.baseSpread = spreads.base;
  if (spreads.head) change.headSpread = spreads.head;
  if (test) change.test = test;
  return change;
}

/** "+12%", "−34%", "new" (from zero), "gone" (to zero). */
export function formatRelative(c: Pick<Change, 'base' | 'head' | 'relative'>): string {
  if (c.base === 0 && c.head !== 0) return 'from 0';
  if (c.head === 0 && c.base !== 0) return '−100%';
  const pct = c.relative * 100;
  const abs = Math.abs(pct);
  const digits = abs >= 10 || abs === 0 ? 0 : 1;
  const text = abs.toFixed(digits);
  if (Number(text) === 0) return '±0%';
  return `${pct > 0 ? '+' : '−'}${text}%`;
}

/**
 * The test's interval of head − base as relative changes of the base ("+80…+120%"), or null without a test. Relative
 * to the base's median (the value compare shows); in the metric's own unit when the base is 0.
 */
export function relativeInterval(c: Change): [number, number] | null {
  if (!c.test) return null;
  const [lo, hi] = c.test.interval;
  return c.base !== 0 ? [lo / Math.abs(c.base), hi / Math.abs(c.base)] : null;
}
