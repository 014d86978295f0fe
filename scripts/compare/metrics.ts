/**
 * The metrics compare reports and gates on: one table, used by the summary diff, the markdown and `--fail-on`.
 *
 * `spreadKey` is the key under which summary.json's `spread` holds the metric's [min, max] across repeated runs
 * (`--runs N`): the dotted path of the value in summary.json, e.g. "overall.latencyMs.p95",
 * "routes.GET /users/:id.latencyMs.p95", "eventLoop.delayMs.p99", "blocking.msPerRequest".
 */
import type { RequestStats, Summary } from '../../profiles/contract/index.js';
import type { Better } from './change.js';
import { failedShare } from '../load/check.js';

export type Unit = 'ms' | 'req/s' | 'ratio' | 'count';

export interface MetricDef {
  /** The name used in `--fail-on` and in compare.json. */
  name: string;
  label: string;
  unit: Unit;
  better: Better;
}

/** Request metrics, per route and overall. */
export interface RequestMetricDef extends MetricDef {
  get(stats: RequestStats): number;
  /** Path inside a RequestStats, appended to "overall." or "routes.<route>." for the spread key. */
  path: string;
}

/** Run-level metrics (event loop, blocking, database). */
export interface RunMetricDef extends MetricDef {
  get(summary: Summary): number | undefined;
  spreadKey: string;
}

const latency = (p: 'p50' | 'p90' | 'p95' | 'p99' | 'max'): RequestMetricDef => ({
  name: p,
  label: p === 'max' ? 'max latency' : `${p} latency`,
  unit: 'ms',
  better: 'lower',
  get: (s) => s.latencyMs[p],
  path: `latencyMs.${p}`,
});

/**
 * Errors are compared as a rate, so runs of different length compare: the share of the requests sent that failed —
 * with no answer (`errors`: connection errors, timeouts, requests never answered) or a non-2xx one.
 */
export function errorRate(s: RequestStats): number {
  return failedShare(s);
}

export const REQUEST_METRICS: RequestMetricDef[] = [
  latency('p50'),
  latency('p90'),
  latency('p95'),
  latency('p99'),
  latency('max'),
  { name: 'rps', label: 'requests/s', unit: 'req/s', better: 'higher', get: (s) => s.rps, path: 'rps' },
  { name: 'errors', label: 'error rate', unit: 'ratio', better: 'lower', get: errorRate, path: 'errorRate' },
];

export const RUN_METRICS: RunMetricDef[] = [
  {
    name: 'delay',
    label: 'event-loop delay p99',
    unit: 'ms',
    better: 'lower',
    get: (s) => s.eventLoop.delayMs.p99,
    spreadKey: 'eventLoop.delayMs.p99',
  },
  {
    name: 'delay-max',
    label: 'event-loop delay max',
    unit: 'ms',
    better: 'lower',
    get: (s) => s.eventLoop.delayMs.max,
    spreadKey: 'eventLoop.delayMs.max',
  },
  {
    name: 'elu',
    label: 'event-loop utilization',
    unit: 'ratio',
    better: 'lower',
    get: (s) => s.eventLoop.utilization,
    spreadKey: 'eventLoop.utilization',
  },
  {
    name: 'blocked',
    label: 'blocked ms per request',
    unit: 'ms',
    better: 'lower',
    get: (s) => s.blocking.msPerRequest,
    spreadKey: 'blocking.msPerRequest',
  },
  {
    name: 'queries',
    label: 'DB queries per request',
    unit: 'count',
    better: 'lower',
    get: (s) => s.db?.queriesPerRequest,
    spreadKey: 'db.queriesPerRequest',
  },
  {
    name: 'heap',
    label: 'heap growth MiB per 1,000 requests',
    unit: 'count',
    better: 'lower',
    // below the memory-growth rule's floor a run keeps nothing to speak of: the floor, so two runs that keep ~0 compare equal
    get: (s) => (s.memory?.growthMbPer1kRequests == null ? undefined : Math.max(HEAP_FLOOR_MB_PER_1K, s.memory.growthMbPer1kRequests)),
    spreadKey: 'memory.growthMbPer1kRequests',
  },
  {
    name: 'gc',
    label: 'GC share of the window',
    unit: 'ratio',
    better: 'lower',
    // a GC share below the floor counts as the floor (a 0.5 % → 1 % move is not a +100 % regression)
    get: (s) => (s.memory ? Math.max(GC_FLOOR_SHARE, s.memory.gc.share) : undefined),
    spreadKey: 'memory.gc.share',
  },
];

/** `heap` counts growth below 1 MiB per 1,000 requests (the memory-growth rule's MIN_BYTES_PER_1K) as 1. */
export const HEAP_FLOOR_MB_PER_1K = 1;
/** `gc` counts a GC share below 2 % of the window as 2 %. */
export const GC_FLOOR_SHARE = 0.02;

/**
 * Shown by compare when both runs carry them (the event-loop table), never gated: not in GATE_METRICS, so `--fail-on`
 * does not accept them, and not among the highlights.
 */
export const INFO_METRICS: RunMetricDef[] = [
  {
    name: 'cache-hit-ratio',
    label: 'cache hit ratio',
    unit: 'ratio',
    better: 'higher',
    get: (s) => s.cache?.hitRatio,
    spreadKey: 'cache.hitRatio',
  },
];

/** A run-level metric (gated or informational) by name. */
export function runMetric(name: string): RunMetricDef | undefined {
  return RUN_METRICS.find((m) => m.name === name) ?? INFO_METRICS.find((m) => m.name === name);
}

/** Every name `--fail-on` accepts, in the order the help lists them. */
export const GATE_METRICS: MetricDef[] = [...REQUEST_METRICS, ...RUN_METRICS];

export function findMetric(name: string): RequestMetricDef | RunMetricDef | undefined {
  return (
    REQUEST_METRICS.find((m) => m.name === name) ?? RUN_METRICS.find((m) => m.name === name)
  );
}

export function isRequestMetric(m: MetricDef): m is RequestMetricDef {
  return 'path' in m;
}

export function routeSpreadKey(route: string | null, m: RequestMetricDef): string {
  return route === null ? `overall.${m.path}` : `routes.${route}.${m.path}`;
}
