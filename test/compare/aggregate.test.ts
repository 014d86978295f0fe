/** aggregateSummaries (--runs N): medians of every number, per-run values and [min, max] spreads under the keys compare reads. */
import { describe, expect, it } from 'vitest';
import { validateSummary } from '../../profiles/contract/index.js';
import { aggregateSummaries, medianRunIndex } from '../../scripts/compare/aggregate.js';
import { diffSummaries } from '../../scripts/compare/summary-diff.js';
import { REQUEST_METRICS, RUN_METRICS, routeSpreadKey } from '../../scripts/compare/metrics.js';
import { stats, summary } from './helpers.js';

const memory = (growth: number, share: number) => ({
  heapUsedMb: { start: 40, end: 60 },
  growthMbPer1kRequests: growth,
  allocatedKbPerRequest: 100,
  gc: { pauses: 10, ms: 100, share, longestPauseMs: 5, longestPauseKind: 'minor' as const, byKind: {} },
});
const runs = [
  summary({ overall: stats(100, 200, 2000), blocking: { count: 10, totalMs: 50, msPerRequest: 0.025 }, db: { queriesPerRequest: 3 }, memory: memory(2, 0.05) }),
  summary({ overall: stats(300, 100, 1000, 4), blocking: { count: 30, totalMs: 90, msPerRequest: 0.09 }, db: { queriesPerRequest: 2 }, memory: memory(4, 0.1) }),
  summary({ overall: stats(200, 150, 1500, 1), blocking: { count: 20, totalMs: 70, msPerRequest: 0.05 }, db: { queriesPerRequest: 4 }, memory: memory(3, 0.07) }),
];

describe('aggregateSummaries', () => {
  it('takes the median of every number and the [min, max] of every compared metric', () => {
    const s = aggregateSummaries(runs);
    expect(validateSummary(s)).toBeNull();
    expect(s.overall.latencyMs.p95).toBe(200);
    expect(s.overall.rps).toBe(150);
    expect(s.overall.requests).toBe(1500);
    expect(s.overall.errors).toBe(1);
    expect(s.blocking).toEqual({ count: 20, totalMs: 70, msPerRequest: 0.05 });
    expect(s.db).toEqual({ queriesPerRequest: 3 });
    expect(s.spread?.['overall.latencyMs.p95']).toEqual([100, 300]);
    expect(s.spread?.['overall.rps']).toEqual([100, 200]);
    expect(s.spread?.['blocking.msPerRequest']).toEqual([0.025, 0.09]);
    expect(s.spread?.['db.queriesPerRequest']).toEqual([2, 4]);
    // every metric compare reports has its spread, overall and per route
    for (const m of REQUEST_METRICS) {
      expect(s.spread).toHaveProperty([routeSpreadKey(null, m)]);
      expect(s.spread).toHaveProperty([routeSpreadKey('GET /a', m)]);
    }
    for (const m of RUN_METRICS) expect(s.spread).toHaveProperty([m.spreadKey]);
  });

  it('keeps every run\'s value of every compared metric in perRun, in run order, under the spread\'s keys', () => {
    const s = aggregateSummaries(runs);
    expect(s.perRun?.['overall.latencyMs.p95']).toEqual([100, 300, 200]);
    expect(s.perRun?.['overall.rps']).toEqual([200, 100, 150]);
    expect(s.perRun?.['blocking.msPerRequest']).toEqual([0.025, 0.09, 0.05]);
    expect(Object.keys(s.perRun!).sort()).toEqual(Object.keys(s.spread!).sort());
    for (const [key, values] of Object.entries(s.perRun!)) expect(s.spread![key]).toEqual([Math.min(...values), Math.max(...values)]);
  });

  it('even counts average the middle two; a route only some runs served is the median of those', () => {
    const two = [runs[0], { ...runs[1], routes: { 'GET /a': stats(120, 100), 'GET /c': stats(10, 5) } }];
    const s = aggregateSummaries(two);
    expect(s.overall.latencyMs.p95).toBe(200);
    expect(s.routes['GET /c'].latencyMs.p95).toBe(10);
    expect(s.routes['GET /a'].latencyMs.p95).toBe(110);
    expect(s.spread?.['routes.GET /c.latencyMs.p95']).toEqual([10, 10]);
    expect(validateSummary(s)).toBeNull();
  });

  it('one run is returned as it is, without a spread', () => {
    expect(aggregateSummaries([runs[0]])).toBe(runs[0]);
  });

  it('the median run is the one with the median req/s', () => {
    expect(medianRunIndex(runs)).toBe(2);
    expect(medianRunIndex(runs.slice(0, 2))).toBe(1); // the lower median
  });

  it('compare of any one run against the aggregate calls every change noise (or the same)', () => {
    const agg = aggregateSummaries(runs);
    for (const r of runs) {
      const d = diffSummaries(r, agg);
      const verdicts = [...Object.values(d.overall.metrics), ...d.routes.flatMap((x) => Object.values(x.metrics)), ...d.run.map((x) => x.change)].map((c) => c.verdict);
      expect(verdicts.filter((v) => v === 'better' || v === 'worse')).toEqual([]);
    }
    expect(Object.values(diffSummaries(runs[0], agg).overall.metrics).some((c) => c.verdict === 'noise')).toBe(true);
  });
});
