/**
 * What a rule is: a pure function from one run's evidence (scripts/analysis/evidence.ts: the measured window's
 * requests, blocks and per-route figures) to findings. Rules do no I/O and share these helpers, so each is testable
 * on a hand-built span set (test/diagnose/builder.ts).
 */
import { waitedMs, type Finding, type Span } from '../../profiles/contract/index.js';
import type { Evidence, EvidenceBlock, EvidenceRequest } from '../analysis/evidence.js';

export type { Evidence, EvidenceRequest } from '../analysis/evidence.js';

export interface Rule {
  kind: Finding['kind'];
  /** One line for `looplens diagnose --help` and the docs. */
  describe: string;
  /**
   * The rule reads database queries (or connects, pool checkouts) as its request's: it is not run when the run's
   * queries lost their request's context (evidence.measured.context.lost) — its findings would be drawn from
   * queries charged to the wrong request.
   */
  readsQueries?: true;
  /** Findings over the evidence's measured window (evidence.measured). */
  detect(evidence: Evidence): Finding[];
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
export function byRoute<R extends { route: string }>(requests: readonly R[]): Map<string, R[]> {
  return groupBy(requests, (r) => r.route);
}

/**
 * A rule fires on a route only when the window holds at least this many of its requests: fewer say nothing about a
 * pattern (a route requested once or twice is noise — one Express run gave hundreds of one-request "routes").
 */
export const MIN_ROUTE_REQUESTS = 5;

/** The measured window's traced requests by route, for the routes with at least MIN_ROUTE_REQUESTS of them. */
export function routesOf(measured: { requests: readonly EvidenceRequest[] }): Map<string, EvidenceRequest[]> {
  const out = new Map<string, EvidenceRequest[]>();
  for (const [route, list] of byRoute(measured.requests)) if (list.length >= MIN_ROUTE_REQUESTS) out.set(route, list);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Waiting behind other requests' blocks (the victim correction; see evidence.ts)

/** ms of [from, to] in which the request waited behind other requests' blocks. */
export function waitedIn(request: EvidenceRequest, from: number, to: number): number {
  return waitedMs(from, to, request.blockedByOthers, null);
}

/** A span's time with the waiting behind others' blocks taken out (a lower bound of its own time). */
export function ownSpanMs(span: Span, request: EvidenceRequest): number {
  return Math.max(0, span.endMs - span.startMs - waitedIn(request, span.startMs, span.endMs));
}

/** Covered time of the intervals, less the waiting behind others' blocks inside them. */
export function ownCovered(intervals: Interval[], request: EvidenceRequest): number {
  return union(intervals).reduce((a, [s, e]) => a + Math.max(0, e - s - waitedIn(request, s, e)), 0);
}

/**
 * What the waiting behind others' blocks did to a finding: the saving before and after it was taken out, and when
 * most of the raw evidence was waiting, the blocks it waited behind (route and function, most waited first). Goes
 * into the finding's evidence; diagnose ranks a finding that is mostly waiting after the causes.
 */
export function waitingEvidence(raw: number, corrected: number, affected: readonly EvidenceRequest[]): Record<string, unknown> {
  const takenOut = Math.max(0, raw - corrected);
  if (takenOut < 0.05 * Math.max(raw, 1e-9) && takenOut < 0.5) return {};
  const behind = new Map<string, number>();
  for (const r of affected) {
    for (const b of r.blockedByOthers) {
      const key = `${b.route ?? 'no request'} · ${b.topFrame}`;
      behind.set(key, (behind.get(key) ?? 0) + Math.max(0, Math.min(r.endMs, b.endMs) - Math.max(r.startMs, b.startMs)));
    }
  }
  const mostly = takenOut > 0.5 * raw;
  const top = [...behind].sort((a, b) => b[1] - a[1]).slice(0, 3);
  return {
    savingBeforeWaitingMs: round(raw),
    waitingTakenOutMs: round(takenOut),
    ...(mostly ? { mostlyWaiting: true } : {}),
    ...(top.length ? { waitedBehind: top.map(([block, ms]) => ({ block, ms: round(ms) })) } : {}),
  };
}

/** A finding whose evidence was mostly waiting behind other requests' blocks (see waitingEvidence). */
export function isMostlyWaiting(f: Finding): boolean {
  return f.evidence.mostlyWaiting === true;
}

export type { EvidenceBlock };

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

/** The stretches covered by `a` and not by `b`. */
export function except(a: Interval[], b: Interval[]): Interval[] {
  const ub = union(b);
  const out: Interval[] = [];
  for (const [s, e] of union(a)) {
    let cur = s;
    for (const [x, y] of ub) {
      if (y <= cur || x >= e) continue;
      if (x > cur) out.push([cur, x]);
      cur = Math.max(cur, y);
    }
    if (cur < e) out.push([cur, e]);
  }
  return out;
}

/** Time covered by `a` and not by `b`. */
export function coveredExcept(a: Interval[], b: Interval[]): number {
  return covered(except(a, b));
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
