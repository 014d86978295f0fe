/**
 * What a rule is: a pure function from one run's evidence (requests built from spans, blocking events, the summary)
 * to findings. Rules do no I/O and share these helpers, so each is testable on a hand-built span set.
 */
import type { BlockingFile, Finding, Summary } from '../../profiles/contract/index.js';
import type { RequestTrace, Span } from './spans.js';

export interface DiagnoseInput {
  /** Every span of the run (normalised). */
  spans: Span[];
  /** Incoming requests, in start order. */
  requests: RequestTrace[];
  blocking: BlockingFile | null;
  summary: Summary | null;
}

export interface Rule {
  kind: Finding['kind'];
  /** One line for `looplens diagnose --help` and the docs. */
  describe: string;
  detect(input: DiagnoseInput): Finding[];
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers shared by rules

/** Items grouped by key, keys in first-seen order. */
export function groupBy<T, K>(items: Iterable<T>, key: (t: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

/** Requests grouped by route, routes in first-seen order. */
export function byRoute(requests: RequestTrace[]): Map<string, RequestTrace[]> {
  return groupBy(requests, (r) => r.route);
}

/**
 * A per-request pattern judged at route level: the share of the route's requests that show it, and the saving per
 * request of the route (requests without the pattern save nothing). `fires` applies the rule's two thresholds.
 */
export function routeVerdict(hits: readonly { savingMs: number }[], requests: number, minShare: number, minSavingMs: number): { share: number; saving: number; fires: boolean } {
  const share = requests === 0 ? 0 : hits.length / requests;
  const saving = requests === 0 ? 0 : sum(hits.map((h) => h.savingMs)) / requests;
  return { share, saving, fires: hits.length > 0 && share >= minShare && saving >= minSavingMs };
}

export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function mean(values: number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

export function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

export type Interval = [number, number];

/** Merged, sorted, non-overlapping intervals. */
export function union(intervals: Interval[]): Interval[] {
  const s = intervals.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const out: Interval[] = [];
  for (const [a, b] of s) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** Wall-clock time covered by the intervals (overlaps counted once). */
export function covered(intervals: Interval[]): number {
  return sum(union(intervals).map(([a, b]) => b - a));
}

/** Time covered by `a` and not by `b`. */
export function coveredExcept(a: Interval[], b: Interval[]): number {
  const ua = union(a);
  const ub = union(b);
  let total = 0;
  for (const [s, e] of ua) {
    let cut = 0;
    for (const [x, y] of ub) cut += Math.max(0, Math.min(e, y) - Math.max(s, x));
    total += e - s - cut;
  }
  return total;
}

export const spanMs = (s: Span): number => s.endMs - s.startMs;
export const interval = (s: Span): Interval => [s.startMs, s.endMs];

/** Rounds for display and JSON: 2 significant decimals below 10, 1 below 100, integers above. */
export function round(ms: number): number {
  if (!Number.isFinite(ms)) return 0;
  const a = Math.abs(ms);
  const f = a < 10 ? 100 : a < 100 ? 10 : 1;
  return Math.round(ms * f) / f;
}

export function pct(share: number): number {
  return Math.round(share * 1000) / 10;
}

/** The request whose value is the median of the group: the example trace to open. */
export function medianExample<T>(items: T[], value: (t: T) => number): T | undefined {
  if (items.length === 0) return undefined;
  const s = [...items].sort((a, b) => value(a) - value(b));
  return s[(s.length - 1) >> 1];
}

/** Stable identity of a finding across runs (compare: fixed / introduced): kind, route and what it is about. */
export function findingKey(kind: Finding['kind'], route: string | null, subject: string): string {
  return `${kind} ${route ?? '-'} ${subject}`;
}
