/**
 * Cacheable repeated reads — the same read statement with the same parameters, repeated across requests within a
 * short window: a cache would have answered all but the first.
 *
 * The rule replays every read of the run, in time order, through a simulated cache-aside with a TTL of WINDOW_MS
 * (no invalidation on writes — a short-TTL cache tolerates that staleness): a read whose key was loaded less than
 * WINDOW_MS before is "absorbed". The key is the statement text plus its bound parameters; repeats of a key inside
 * one request count once (those are the N+1 rule's business).
 *
 * When the instrumentation did not record parameters (pg without enhancedDatabaseReporting) and the statement has
 * placeholders, the GET request's path and query stand in for them (the URL is what a GET's reads depend on), and
 * the n-th read of a statement in a request is told from the others by n — documented in the finding as
 * `parameters: "request target"`. Reads of other methods (a POST body is not in its URL) are then left out.
 *
 * Fires per route when at least MIN_ABSORBED_SHARE of its reads would have been absorbed and the saving is worth it.
 * A route that already answers from a cache is left alone: when most of its requests look a cache (Redis, Memcached)
 * up before touching the database and some are answered by that lookup alone, its database reads are the cache's
 * misses — a low hit rate there is a matter of TTL or invalidation, not a missing cache.
 *
 * Saving per request: the wall-clock time of the absorbed reads, averaged over the route's requests (a cache lookup
 * costs well under a millisecond locally). How often real traffic repeats is what decides the real gain: the
 * figures are those of the load that ran.
 */
import type { Finding } from '../../../profiles/contract/index.js';
import { isCacheSystem, type DbQuery, type RequestTrace } from '../spans.js';
import { byRoute, covered, findingKey, groupBy, interval, medianExample, pct, round, spanMs, sum, type Rule } from '../rule.js';

export const WINDOW_MS = 10_000;
/** A quarter of the route's reads: a cache answering one request in four already pays for itself. */
export const MIN_ABSORBED_SHARE = 0.25;
/** "Already cached": requests consulting a cache first, and requests it answered alone, as shares of the route. */
export const CACHED_LOOKUP_SHARE = 0.5;
export const CACHED_ANSWER_SHARE = 0.05;
export const MIN_SAVING_MS = 0.5;
/** Too few reads to judge a repetition pattern. */
export const MIN_READS = 10;

const PLACEHOLDER = /\$\d+|\?|:\w+/;

/**
 * The cache key of a read: statement plus parameters, or — parameters not recorded — statement, GET target and the
 * read's rank among same-statement reads of the request; null when a read cannot be keyed (non-GET, no parameters).
 */
/** The route already reads through a cache (see the header); its database reads are misses. */
export function alreadyCached(requests: RequestTrace[]): { lookups: number; answered: number; yes: boolean } {
  let lookups = 0;
  let answered = 0;
  for (const r of requests) {
    const cache = r.queries.filter((q) => isCacheSystem(q.system));
    if (cache.length === 0) continue;
    const reads = r.queries.filter((q) => q.read && !isCacheSystem(q.system));
    if (reads.length === 0) answered++;
    if (reads.length === 0 || cache[0]!.span.startMs <= reads[0]!.span.startMs) lookups++;
  }
  const n = Math.max(1, requests.length);
  return { lookups, answered, yes: lookups / n >= CACHED_LOOKUP_SHARE && answered / n >= CACHED_ANSWER_SHARE };
}

export function readKey(q: DbQuery, request: RequestTrace, rank: number): { key: string; parameters: 'recorded' | 'inline' | 'request target' } | null {
  const text = q.statement.replace(/\s+/g, ' ').trim();
  if (q.values !== null) return { key: `${q.system}\u0000${text}\u0000${q.values}`, parameters: 'recorded' };
  if (!PLACEHOLDER.test(text)) return { key: `${q.system}\u0000${text}`, parameters: 'inline' };
  if (!/^(GET|HEAD) /.test(request.route)) return null;
  return { key: `${q.system}\u0000${text}\u0000${request.target ?? request.route}\u0000${rank}`, parameters: 'request target' };
}

interface Read {
  request: RequestTrace;
  query: DbQuery;
  key: string;
  parameters: string;
  absorbed: boolean;
}

export const cacheableReads: Rule = {
  kind: 'cacheable-reads',
  describe: 'identical reads (same statement and parameters) repeated across requests within a short window',
  detect({ requests }): Finding[] {
    // All reads of the run, once per request and key, replayed through a TTL cache.
    const reads: Read[] = [];
    for (const request of requests) {
      const seen = new Set<string>();
      const rank = new Map<string, number>();
      for (const query of request.queries) {
        if (!query.read || isCacheSystem(query.system)) continue;
        const n = (rank.get(query.statement) ?? 0) + 1;
        rank.set(query.statement, n);
        const keyed = readKey(query, request, n);
        if (!keyed) continue;
        const { key, parameters } = keyed;
        if (seen.has(key)) continue;
        seen.add(key);
        reads.push({ request, query, key, parameters, absorbed: false });
      }
    }
    reads.sort((a, b) => a.query.span.startMs - b.query.span.startMs);
    const loadedAt = new Map<string, number>();
    for (const r of reads) {
      const t = r.query.span.startMs;
      const at = loadedAt.get(r.key);
      if (at !== undefined && t - at <= WINDOW_MS) r.absorbed = true;
      else loadedAt.set(r.key, t);
    }

    const findings: Finding[] = [];
    const readsByRequest = groupBy(reads, (r) => r.request);
    for (const [route, list] of byRoute(requests)) {
      const routeReads = list.flatMap((r) => readsByRequest.get(r) ?? []);
      const absorbed = routeReads.filter((r) => r.absorbed);
      if (routeReads.length < MIN_READS || alreadyCached(list).yes) continue;
      const share = absorbed.length / routeReads.length;
      const perRequest = list.map((req) => covered((readsByRequest.get(req) ?? []).filter((r) => r.absorbed).map((r) => interval(r.query.span))));
      const saving = sum(perRequest) / list.length;
      if (share < MIN_ABSORBED_SHARE || saving < MIN_SAVING_MS) continue;
      // The statements that would gain most.
      const top = [...groupBy(absorbed, (r) => r.query.shape).values()]
        .map((rs) => ({ statement: rs[0]!.query.statement.replace(/\s+/g, ' ').trim(), absorbed: rs.length, ms: round(sum(rs.map((r) => spanMs(r.query.span)))) }))
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 3);
      const parameters = [...new Set(routeReads.map((r) => r.parameters))];
      const example = medianExample(list, (req) => (readsByRequest.get(req) ?? []).filter((r) => r.absorbed).length)!;
      findings.push({
        kind: 'cacheable-reads',
        key: findingKey('cacheable-reads', route, 'reads'),
        route,
        title: `${route}: a cache would have answered ${pct(share)} % of its database reads (${absorbed.length} of ${routeReads.length} within ${WINDOW_MS / 1000} s)`,
        evidence: {
          reads: routeReads.length,
          absorbed: absorbed.length,
          absorbedShare: pct(share),
          distinctKeys: new Set(routeReads.map((r) => r.key)).size,
          windowMs: WINDOW_MS,
          parameters: parameters.length === 1 ? parameters[0] : parameters,
          topStatements: top,
          requests: list.length,
          estimate: `reads replayed through a ${WINDOW_MS / 1000} s TTL cache: wall-clock time of the reads it would have answered, averaged over the route's requests`,
        },
        savingMsPerRequest: round(saving),
        fix: 'Cache the result (cache-aside in Redis or an in-process LRU, keyed by the query and its parameters, with a short TTL) and serve repeats from it.',
        traceId: example.traceId,
      });
    }
    return findings;
  },
};
