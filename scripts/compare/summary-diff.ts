/** summary.json of base and head, metric by metric and route by route. */
import type { RequestStats, Summary } from '../../profiles/contract/index.js';
import { makeChange, type Change, type NoiseInfo } from './change.js';
import { INFO_METRICS, REQUEST_METRICS, RUN_METRICS, routeSpreadKey, type RequestMetricDef } from './metrics.js';

export interface RouteDiff {
  /** "<METHOD> <path>", or "overall". */
  route: string;
  /** Route present in both runs, only in head (new) or only in base (gone). */
  presence: 'both' | 'new' | 'gone';
  baseRequests: number;
  headRequests: number;
  /** Keyed by request metric name (p50, p95, p99, rps, errors…); empty unless presence is "both". */
  metrics: Record<string, Change>;
}

export interface RunMetricDiff {
  name: string;
  label: string;
  change: Change;
}

export interface SummaryDiff {
  overall: RouteDiff;
  /** Routes in both runs first (most requests in head first), then new, then gone. */
  routes: RouteDiff[];
  /** Event loop, blocking, database, then the informational ones (cache hit ratio): only metrics both summaries carry. */
  run: RunMetricDiff[];
}

/** Each run's value of a metric (summary.json `perRun`), or undefined without it. */
function valuesOf(summary: Summary, key: string): number[] | undefined {
  const v = summary.perRun?.[key];
  return Array.isArray(v) && v.length > 0 && v.every(Number.isFinite) ? v : undefined;
}

function spreadOf(summary: Summary, key: string): [number, number] | undefined {
  const s = summary.spread?.[key];
  return Array.isArray(s) && s.length === 2 && s.every(Number.isFinite) ? [s[0], s[1]] : undefined;
}

/** (max − min) / value of a spread, or undefined without one. */
function relativeWidth(summary: Summary, key: string, value: number): number | undefined {
  const s = spreadOf(summary, key);
  if (!s || value <= 0) return undefined;
  return (Math.max(...s) - Math.min(...s)) / value;
}

function diffRequestStats(
  route: string | null,
  base: RequestStats | undefined,
  head: RequestStats | undefined,
  baseSummary: Summary,
  headSummary: Summary,
): RouteDiff {
  // A route with no request in a run has no numbers there (its latencies would read 0): treat it as absent.
  if (base && base.requests === 0) base = undefined;
  if (head && head.requests === 0) head = undefined;
  const diff: RouteDiff = {
    route: route ?? 'overall',
    presence: base && head ? 'both' : head ? 'new' : 'gone',
    baseRequests: base?.requests ?? 0,
    headRequests: head?.requests ?? 0,
    metrics: {},
  };
  if (base && head) {
    for (const m of REQUEST_METRICS) diff.metrics[m.name] = requestChange(m, route, base, head, baseSummary, headSummary);
  }
  return diff;
}

function requestChange(
  m: RequestMetricDef,
  route: string | null,
  base: RequestStats,
  head: RequestStats,
  baseSummary: Summary,
  headSummary: Summary,
): Change {
  const key = routeSpreadKey(route, m);
  const noise: NoiseInfo = {
    base: spreadOf(baseSummary, key),
    head: spreadOf(headSummary, key),
    baseValues: valuesOf(baseSummary, key),
    headValues: valuesOf(headSummary, key),
  };
  if (route !== null && !noise.base && !noise.head) {
    // a route's metric without a spread of its own: borrow the relative width of the overall metric's spread
    const overallKey = routeSpreadKey(null, m);
    const widths = [relativeWidth(baseSummary, overallKey, m.get(baseSummary.overall)), relativeWidth(headSummary, overallKey, m.get(headSummary.overall))].filter(
      (w): w is number => w !== undefined,
    );
    if (widths.length > 0) noise.relativeNoise = Math.max(...widths);
  }
  return makeChange(m.get(base), m.get(head), m.better, noise);
}

export function diffSummaries(base: Summary, head: Summary): SummaryDiff {
  const names = [...new Set([...Object.keys(base.routes), ...Object.keys(head.routes)])];
  const routes = names
    .map((r) => diffRequestStats(r, base.routes[r], head.routes[r], base, head))
    .filter((r) => r.baseRequests > 0 || r.headRequests > 0); // a route neither run served says nothing
  const rank = { both: 0, new: 1, gone: 2 } as const;
  routes.sort(
    (a, b) =>
      rank[a.presence] - rank[b.presence] ||
      Math.max(b.headRequests, b.baseRequests) - Math.max(a.headRequests, a.baseRequests) ||
      (a.route < b.route ? -1 : 1),
  );
  const run: RunMetricDiff[] = [];
  for (const m of [...RUN_METRICS, ...INFO_METRICS]) {
    const b = m.get(base);
    const h = m.get(head);
    if (b === undefined || h === undefined) continue;
    run.push({
      name: m.name,
      label: m.label,
      change: makeChange(b, h, m.better, {
        base: spreadOf(base, m.spreadKey),
        head: spreadOf(head, m.spreadKey),
        baseValues: valuesOf(base, m.spreadKey),
        headValues: valuesOf(head, m.spreadKey),
      }),
    });
  }
  return { overall: diffRequestStats(null, base.overall, head.overall, base, head), routes, run };
}
