/**
 * summary.json `cache`: the app's response-cache counters over the measured window. The app (target-app's cached
 * stage) reports running totals in its GET /stats answer, `cache: { hits, misses, stale, errors, byRoute? }`; the
 * runner reads it before and after the load and the difference is the window's. Any other app, or a /stats answer of
 * another shape, gives no `cache` (never an error).
 */
import type { CacheCounts, CacheSummary } from '../../profiles/contract/types.js';

/** One reading of the app's cache counters (running totals since the app started). */
export interface CacheReading {
  /** The process that answered: with several workers two readings may come from different processes. */
  pid?: number;
  /** Requests the app had answered (target-app counts on response, /stats excluded). */
  requests?: number;
  hits: number;
  misses: number;
  stale: number;
  errors: number;
  byRoute?: Record<string, { hits: number; misses: number; stale: number }>;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** The cache counters of a GET /stats answer, or null when it has none of the expected shape. */
export function parseCacheStats(body: unknown): CacheReading | null {
  if (!body || typeof body !== 'object') return null;
  const b = body as Record<string, unknown>;
  const c = b.cache as Record<string, unknown> | undefined;
  if (!c || typeof c !== 'object' || !isCount(c.hits) || !isCount(c.misses)) return null;
  const reading: CacheReading = {
    hits: c.hits,
    misses: c.misses,
    stale: isCount(c.stale) ? c.stale : 0,
    errors: isCount(c.errors) ? c.errors : 0,
  };
  if (isCount(b.pid)) reading.pid = b.pid;
  if (isCount(b.requests)) reading.requests = b.requests;
  if (c.byRoute && typeof c.byRoute === 'object') {
    const byRoute: NonNullable<CacheReading['byRoute']> = {};
    for (const [route, v] of Object.entries(c.byRoute as Record<string, unknown>)) {
      const x = v as Record<string, unknown> | null;
      if (x && isCount(x.hits) && isCount(x.misses)) byRoute[route] = { hits: x.hits, misses: x.misses, stale: isCount(x.stale) ? x.stale : 0 };
    }
    if (Object.keys(byRoute).length) reading.byRoute = byRoute;
  }
  return reading;
}

function counts(hits: number, misses: number, stale: number): CacheCounts {
  const lookups = hits + misses;
  return { hits, misses, stale, hitRatio: lookups > 0 ? Math.round((hits / lookups) * 1000) / 1000 : 0 };
}

/**
 * The window's figures: after − before. Null when the two readings cannot be subtracted (different processes, or
 * counters that went down: the app restarted in between).
 */
export function cacheWindow(before: CacheReading, after: CacheReading): CacheSummary | null {
  if (before.pid !== undefined && after.pid !== undefined && before.pid !== after.pid) return null;
  const d = (k: 'hits' | 'misses' | 'stale' | 'errors') => after[k] - before[k];
  if (d('hits') < 0 || d('misses') < 0 || d('stale') < 0 || d('errors') < 0) return null;
  const summary: CacheSummary = { ...counts(d('hits'), d('misses'), d('stale')) };
  if (d('errors') > 0) summary.errors = d('errors');
  if (after.byRoute) {
    const byRoute: Record<string, CacheCounts> = {};
    for (const [route, a] of Object.entries(after.byRoute)) {
      const b = before.byRoute?.[route] ?? { hits: 0, misses: 0, stale: 0 };
      const h = a.hits - b.hits;
      const m = a.misses - b.misses;
      const s = a.stale - b.stale;
      if (h < 0 || m < 0 || s < 0) return null;
      if (h + m > 0) byRoute[route] = counts(h, m, s);
    }
    if (Object.keys(byRoute).length) summary.byRoute = byRoute;
  }
  return summary;
}
