/**
 * One number in base and head: how it moved, and whether that is better, worse, the same, or noise.
 *
 * Noise: with `--runs N`, summary.json carries `spread` — per metric, the [min, max] of the repeated runs. A change is
 * noise when the two ranges overlap: some run of the base was as good as some run of the head, so the medians'
 * difference is within what repetition alone produces. A metric without a spread of its own (a route's p95, say) can
 * borrow one: `relativeNoise`, the relative width of the same metric's overall spread; a smaller relative change is
 * noise.
 */

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
  /** Relative changes below this are noise (for metrics measured without a spread of their own). */
  relativeNoise?: number;
}

export function makeChange(base: number, head: number, better: Better, spreads: NoiseInfo = {}): Change {
  const delta = head - base;
  const relative = relativeChange(base, head);
  const direction = delta > 0 ? 'up' : delta < 0 ? 'down' : 'flat';
  let verdict: Verdict;
  if (direction === 'flat' || Math.abs(relative) < SAME_WITHIN) verdict = 'same';
  else if ((spreads.base || spreads.head) && rangesOverlap(spreads.base ?? [base, base], spreads.head ?? [head, head])) verdict = 'noise';
  else if (!spreads.base && !spreads.head && spreads.relativeNoise !== undefined && Math.abs(relative) < spreads.relativeNoise) verdict = 'noise';
  else verdict = (direction === 'down') === (better === 'lower') ? 'better' : 'worse';
  const change: Change = { base, head, delta, relative, direction, verdict };
  if (spreads.base) change.baseSpread = spreads.base;
  if (spreads.head) change.headSpread = spreads.head;
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
