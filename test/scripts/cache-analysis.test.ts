/**
 * summary.json `cache` without services: the /stats parsing and window subtraction, its schema, summary.md, the lab.md
 * row, `--runs` aggregation and compare's informational (never gated) metric. The real runs are in
 * cache-summary.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CacheSummary, Summary } from '../../profiles/contract/types.js';
import { validateSummary } from '../../profiles/contract/validate.js';
import { cacheWindow, parseCacheStats } from '../../scripts/analysis/cache.js';
import { renderLabMd, renderSummaryMd } from '../../scripts/analysis/markdown.js';
import { aggregateSummaries } from '../../scripts/compare/aggregate.js';
import { GATE_METRICS, findMetric } from '../../scripts/compare/metrics.js';
import { diffSummaries } from '../../scripts/compare/summary-diff.js';

const base = JSON.parse(readFileSync(new URL('./fixtures/run-none/summary.json', import.meta.url), 'utf8')) as Summary;
const T = 'GET /users/:id/timeline';
const N = 'GET /users/:id/notifications';

const stats = (pid: number, hits: number, misses: number, stale: number, byRoute?: Record<string, [number, number, number]>) => ({
  stage: 'cached',
  pid,
  requests: hits + misses,
  db: { queries: 1, connections: 1 },
  cache: {
    hits,
    misses,
    stale,
    errors: 0,
    invalidations: 3,
    byKind: {},
    ...(byRoute ? { byRoute: Object.fromEntries(Object.entries(byRoute).map(([k, [h, m, s]]) => [k, { hits: h, misses: m, stale: s }])) } : {}),
  },
});

const withCache = (hitRatio: number, hits = 100): Summary => ({
  ...base,
  cache: { hits, misses: Math.round(hits / hitRatio) - hits, stale: 1, hitRatio },
});

describe('cache counters from GET /stats', () => {
  it('counts only the window between the two readings, per route too; the result is schema-valid', () => {
    const before = parseCacheStats(stats(7, 40, 60, 2, { [T]: [30, 40, 2], [N]: [10, 20, 0] }))!;
    const after = parseCacheStats(stats(7, 140, 360, 12, { [T]: [100, 240, 12], [N]: [40, 120, 0], 'GET /other': [5, 5, 0] }))!;
    const w = cacheWindow(before, after)!;
    expect(w).toEqual({
      hits: 100,
      misses: 300,
      stale: 10,
      hitRatio: 0.25,
      byRoute: {
        [T]: { hits: 70, misses: 200, stale: 10, hitRatio: 0.259 },
        [N]: { hits: 30, misses: 100, stale: 0, hitRatio: 0.231 },
        'GET /other': { hits: 5, misses: 5, stale: 0, hitRatio: 0.5 },
      },
    });
    expect(validateSummary({ ...base, cache: w })).toBeNull();
    expect(validateSummary({ ...base, cache: { ...w, hitRatio: 1.5 } })).not.toBeNull();
  });

  it('no cache for other apps, other shapes, another process or counters that went back', () => {
    for (const body of [null, 'x', {}, { stage: 'pooled', db: {} }, { cache: { hits: '3', misses: 1 } }, { cache: { hits: 1.5, misses: 1 } }]) {
      expect(parseCacheStats(body)).toBeNull();
    }
    const a = parseCacheStats(stats(7, 10, 10, 0))!;
    expect(cacheWindow(a, parseCacheStats(stats(8, 20, 20, 0))!)).toBeNull(); // another worker answered
    expect(cacheWindow(parseCacheStats(stats(7, 20, 20, 0))!, a)).toBeNull(); // the app restarted
    expect(cacheWindow(a, a)).toEqual({ hits: 0, misses: 0, stale: 0, hitRatio: 0 });
  });
});

describe('cache in summary.md, lab.md, --runs and compare', () => {
  it('summary.md: a column and a line only when the run has a cache', () => {
    const run = { id: 'r', command: ['node', 'a.js'], profiler: 'none' as const, load: { durationS: 1, warmupS: 0, connections: 1 }, complete: true };
    expect(renderSummaryMd(base, run)).not.toContain('cache');
    const md = renderSummaryMd({ ...base, cache: { hits: 29, misses: 71, stale: 5, hitRatio: 0.29 } }, run);
    expect(md).toContain('| cache hit ratio |');
    expect(md).toContain('- cache: hit ratio 29 % — 29 hits, 71 misses (5 of them stale');
  });

  it('lab.md: a "cache hit ratio" row, – for stages without a cache; no row when no stage has one', () => {
    const stages = [
      { stage: 'pooled', run: '01-pooled', summary: base },
      { stage: 'cached', run: '02-cached', summary: withCache(0.287) },
    ];
    expect(renderLabMd({ id: 'lab', settingsLine: 'x', stages })).toContain('| cache hit ratio | – | 29 % | – |');
    expect(renderLabMd({ id: 'lab', settingsLine: 'x', stages: [stages[0]] })).not.toContain('cache hit ratio');
    // a cache that was never asked (a load of writes only) has no ratio to show
    const unused = { stage: 'cached', run: '02-cached', summary: { ...base, cache: { hits: 0, misses: 0, stale: 0, hitRatio: 0 } } };
    expect(renderLabMd({ id: 'lab', settingsLine: 'x', stages: [stages[0], unused] })).toContain('| cache hit ratio | – | – |');
  });

  it('--runs: the cache of the run with the median hit ratio, and its spread', () => {
    const agg = aggregateSummaries([withCache(0.3, 300), withCache(0.1, 100), withCache(0.2, 200)]);
    expect(agg.cache).toEqual<CacheSummary>({ hits: 200, misses: 800, stale: 1, hitRatio: 0.2 });
    expect(agg.spread?.['cache.hitRatio']).toEqual([0.1, 0.3]);
    expect(validateSummary(agg)).toBeNull();
  });

  it('compare: cache hit ratio is listed when both runs have it, and cannot be gated on', () => {
    const diff = diffSummaries(withCache(0.2), withCache(0.3));
    const row = diff.run.find((r) => r.name === 'cache-hit-ratio');
    expect(row?.label).toBe('cache hit ratio');
    expect(row?.change.base).toBe(0.2);
    expect(row?.change.head).toBe(0.3);
    expect(diffSummaries(base, withCache(0.3)).run.some((r) => r.name === 'cache-hit-ratio')).toBe(false);
    expect(findMetric('cache-hit-ratio')).toBeUndefined();
    expect(GATE_METRICS.map((m) => m.name)).not.toContain('cache-hit-ratio');
  });
});
