/**
 * Repeated runs (`--runs N` on profile and lab) → one summary.json: every number is the median over the runs,
 * `perRun` holds, for every metric compare reports, its value in each run (in run order), and `spread` their
 * [min, max] — both keyed exactly as compare reads them (./metrics.ts: "overall.latencyMs.p95", "routes.<route>.rps",
 * "eventLoop.delayMs.p99", …), so compare of two such summaries compares medians and tests the change on the runs'
 * values (./stats.ts).
 */
import type { RequestStats, Summary } from '../../profiles/contract/index.js';
import { median } from '../analysis/summarise.js';
import { REQUEST_METRICS, RUN_METRICS, routeSpreadKey } from './metrics.js';

/** The run with the median overall req/s (the lower median for an even count): its files stand for the runs. */
export function medianRunIndex(summaries: readonly Summary[]): number {
  const order = summaries.map((s, i) => ({ rps: s.overall.rps, i })).sort((a, b) => a.rps - b.rps || a.i - b.i);
  return order[(order.length - 1) >> 1].i;
}

const med = (values: readonly number[]): number => median(values);
const medInt = (values: readonly number[]): number => Math.round(median(values));

/** Median of the values some runs have (undefined when none has it). */
function medOptional(values: readonly (number | undefined)[]): number | undefined {
  const have = values.filter((v): v is number => v !== undefined);
  return have.length ? med(have) : undefined;
}

function medianStats(list: readonly RequestStats[]): RequestStats {
  const stats: RequestStats = {
    requests: medInt(list.map((s) => s.requests)),
    rps: med(list.map((s) => s.rps)),
    latencyMs: {
      p50: med(list.map((s) => s.latencyMs.p50)),
      p90: med(list.map((s) => s.latencyMs.p90)),
      p95: med(list.map((s) => s.latencyMs.p95)),
      p99: med(list.map((s) => s.latencyMs.p99)),
      max: med(list.map((s) => s.latencyMs.max)),
    },
    non2xx: medInt(list.map((s) => s.non2xx)),
    errors: medInt(list.map((s) => s.errors)),
  };
  const blocked = medOptional(list.map((s) => s.blockedMsPerRequest));
  if (blocked !== undefined) stats.blockedMsPerRequest = blocked;
  const queries = medOptional(list.map((s) => s.queriesPerRequest));
  if (queries !== undefined) stats.queriesPerRequest = queries;
  const waited = medOptional(list.map((s) => s.waitedMsPerRequest));
  if (waited !== undefined) stats.waitedMsPerRequest = waited;
  return stats;
}

function range(values: readonly number[]): [number, number] {
  return [Math.min(...values), Math.max(...values)];
}

/**
 * Medians and spread of N summaries of the same app under the same load. A route some runs did not serve is the
 * median of the runs that did. With one summary, that summary (no spread: one run says nothing about noise).
 */
export function aggregateSummaries(summaries: readonly Summary[]): Summary {
  if (summaries.length === 0) throw new Error('aggregateSummaries: no summaries');
  if (summaries.length === 1) return summaries[0];
  const spread: Record<string, [number, number]> = {};
  const perRun: Record<string, number[]> = {};
  const record = (key: string, values: number[]) => {
    spread[key] = range(values);
    perRun[key] = values;
  };
  const requestSpreads = (route: string | null, list: readonly RequestStats[]) => {
    for (const m of REQUEST_METRICS) record(routeSpreadKey(route, m), list.map((s) => m.get(s)));
  };

  const overalls = summaries.map((s) => s.overall);
  requestSpreads(null, overalls);
  const routes: Record<string, RequestStats> = {};
  const names = [...new Set(summaries.flatMap((s) => Object.keys(s.routes)))].sort();
  for (const name of names) {
    const list = summaries.map((s) => s.routes[name]).filter((r): r is RequestStats => r !== undefined && r.requests > 0);
    if (list.length === 0) {
      routes[name] = summaries.map((s) => s.routes[name]).find((r) => r !== undefined)!;
      continue;
    }
    routes[name] = medianStats(list);
    requestSpreads(name, list);
  }

  const summary: Summary = {
    overall: medianStats(overalls),
    routes,
    eventLoop: {
      delayMs: {
        p50: med(summaries.map((s) => s.eventLoop.delayMs.p50)),
        p99: med(summaries.map((s) => s.eventLoop.delayMs.p99)),
        max: med(summaries.map((s) => s.eventLoop.delayMs.max)),
      },
      utilization: med(summaries.map((s) => s.eventLoop.utilization)),
    },
    blocking: {
      count: medInt(summaries.map((s) => s.blocking.count)),
      totalMs: med(summaries.map((s) => s.blocking.totalMs)),
      msPerRequest: med(summaries.map((s) => s.blocking.msPerRequest)),
    },
  };
  const queries = medOptional(summaries.map((s) => s.db?.queriesPerRequest));
  if (queries !== undefined) summary.db = { queriesPerRequest: queries };
  const withUpstream = summaries.filter((s) => s.upstream);
  if (withUpstream.length) {
    summary.upstream = { calls: medInt(withUpstream.map((s) => s.upstream!.calls)), failures: medInt(withUpstream.map((s) => s.upstream!.failures)) };
  }
  // the cache's figures of the run with the median hit ratio (its counts and per-route figures belong together)
  const withCache = summaries.filter((s) => s.cache).sort((a, b) => a.cache!.hitRatio - b.cache!.hitRatio);
  if (withCache.length) {
    summary.cache = withCache[(withCache.length - 1) >> 1].cache;
    record('cache.hitRatio', withCache.map((s) => s.cache!.hitRatio));
  }
  // per process and the offload pool: the median run's (a run's processes and their figures belong together)
  const middle = summaries[medianRunIndex(summaries)];
  if (middle.processes) summary.processes = middle.processes;
  if (middle.offloadPool) summary.offloadPool = middle.offloadPool;
  if (middle.memory) summary.memory = middle.memory;
  for (const m of RUN_METRICS) {
    const values = summaries.map((s) => m.get(s)).filter((v): v is number => v !== undefined);
    if (values.length) record(m.spreadKey, values);
  }
  summary.spread = spread;
  summary.perRun = perRun;
  return summary;
}
