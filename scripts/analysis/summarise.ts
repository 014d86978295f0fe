/**
 * summary.json from what a run measured: the load generator's per-route stats, the probes' event-loop samples and
 * blocking events, and the traces. Only what happened inside the measured load window counts (not start-up, not
 * warmup, not shutdown).
 */
import type { BlockingFile, CacheSummary, EventLoopSample, RequestStats, Summary } from '../../profiles/contract/types.js';
import { isDbQuerySpan, requestFacts, round, type Span } from './spans.js';

export interface LoadStats {
  overall: RequestStats;
  routes: Record<string, RequestStats>;
  /** Epoch ms: the measured load window. */
  startMs: number;
  endMs: number;
}

export interface SummariseInput {
  load: LoadStats;
  eventLoop: readonly EventLoopSample[];
  blocking: BlockingFile | null;
  /** Spans from the traces; null when tracing was off. */
  spans: readonly Span[] | null;
  /** The app's cache counters over the measured window (./cache.ts), when it reports them. */
  cache?: CacheSummary | null;
}

/** Nearest-rank percentile of unsorted numbers (0 for none). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Event-loop numbers over the samples whose interval ends inside the window (+1 s of slack for the last one):
 * p50 and p99 are medians of the per-second p50 and p99 (robust to one stray second), max the largest per-second
 * max, utilization the mean.
 */
export function summariseEventLoop(samples: readonly EventLoopSample[], window: { startMs: number; endMs: number }): Summary['eventLoop'] {
  const filled = fillBlockedIntervals(samples);
  let inside = filled.filter((s) => s.t > window.startMs && s.t <= window.endMs + 1000);
  if (inside.length === 0) inside = filled;
  return {
    delayMs: {
      p50: round(median(inside.map((s) => s.delayMs.p50)), 2),
      p99: round(median(inside.map((s) => s.delayMs.p99)), 2),
      max: round(Math.max(0, ...inside.map((s) => s.delayMs.max)), 2),
    },
    utilization: round(Math.min(1, Math.max(0, inside.reduce((a, s) => a + s.utilization, 0) / Math.max(1, inside.length))), 3),
  };
}

/**
 * A loop blocked for a whole sampling interval records no delay at all (the histogram's timer never ran), so the
 * sample reads 0 ms at 100 % utilization, and it comes late. Such a sample gets the lateness of its own timer as its
 * delay: the gap since the previous sample minus the usual one-second period.
 */
export function fillBlockedIntervals(samples: readonly EventLoopSample[], periodMs = 1000): EventLoopSample[] {
  const sorted = [...samples].sort((a, b) => a.t - b.t);
  return sorted.map((s, i) => {
    const gap = i > 0 ? s.t - sorted[i - 1].t : 0;
    if (i === 0 || s.delayMs.max > 0 || s.utilization < 0.99 || gap < 1.5 * periodMs) return s;
    const late = Math.round((gap - periodMs) * 1000) / 1000;
    return { ...s, delayMs: { min: late, mean: late, p50: late, p90: late, p99: late, max: late } };
  });
}

export function summarise(input: SummariseInput): Summary {
  const { load } = input;
  const window = { startMs: load.startMs, endMs: load.endMs };
  const requests = Math.max(1, load.overall.requests);

  const events = (input.blocking?.events ?? []).filter((e) => e.startMs >= window.startMs && e.startMs <= window.endMs);
  const totalMs = events.reduce((a, e) => a + e.durationMs, 0);
  const blockedByRoute = new Map<string, number>();
  for (const e of events) if (e.route) blockedByRoute.set(e.route, (blockedByRoute.get(e.route) ?? 0) + e.durationMs);

  const facts = input.spans ? requestFacts(input.spans, { fromMs: window.startMs, toMs: window.endMs }) : null;

  const routes: Record<string, RequestStats> = {};
  for (const [key, stats] of Object.entries(load.routes)) {
    const r: RequestStats = { ...stats, blockedMsPerRequest: round((blockedByRoute.get(key) ?? 0) / Math.max(1, stats.requests), 3) };
    const q = facts?.routes[key];
    if (q) r.queriesPerRequest = q.queriesPerRequest;
    routes[key] = r;
  }

  const summary: Summary = {
    overall: load.overall,
    routes,
    eventLoop: summariseEventLoop(input.eventLoop, window),
    blocking: { count: events.length, totalMs: round(totalMs, 1), msPerRequest: round(totalMs / requests, 3) },
  };
  if (facts && facts.requests > 0) {
    // an app that never queried PostgreSQL has no db section (rather than a misleading 0)
    if (input.spans?.some(isDbQuerySpan)) summary.db = { queriesPerRequest: facts.queriesPerRequest };
    if (facts.upstream.calls > 0) summary.upstream = facts.upstream;
  }
  if (input.cache) summary.cache = input.cache;
  return summary;
}
