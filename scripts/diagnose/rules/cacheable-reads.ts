/**
 * Cacheable repeated reads — the same read statement with the same parameters, read again by other requests: a cache
 * would have answered all but the first.
 *
 * Whether a route's reads repeat is judged independently of throughput and run length. A slow stage serves a few
 * dozen requests in a run and a fast one thousands; under a skewed load (a few hot users, a long tail) the share of
 * repeats in a sample grows with its size, so a share measured over the whole run (or a time window) fires on the
 * fast stages and not on the slow ones although the load is the same. The rule therefore measures the share of reads
 * a cache would absorb *within any REFERENCE_REQUESTS requests of the route* — from how many of the route's requests
 * read each key (rarefaction: the expected repeats in a random subsample of that size, exact for hypergeometric
 * draws), or over all of them when the route served fewer. It fires when that share is at least MIN_REPEAT_SHARE,
 * at least MIN_REPEATING_REQUESTS requests read a key an earlier request had read, and the saving is worth it.
 * Uniformly random ids over a large user base repeat rarely at any size (no cache would help them); a hot set repeats
 * at every size.
 *
 * The key is the statement text plus its bound parameters; repeats of a key inside one request count once (those
 * are the N+1 rule's business). When the instrumentation did not record parameters (pg without
 * enhancedDatabaseReporting) and the statement has placeholders, the GET request's path and query stand in for them
 * (the URL is what a GET's reads depend on), and the n-th read of a statement in a request is told from the others
 * by n — documented in the finding as `parameters: "request target"`. Reads of other methods (a POST body is not in
 * its URL) are then left out.
 *
 * A route that already answers from a cache is left alone: when most of its requests look a cache (Redis,
 * Memcached) up before touching the database and some are answered by that lookup alone, its database reads are the
 * cache's misses — a low hit rate there is a matter of TTL or invalidation, not a missing cache.
 *
 * Saving per request — what the load that ran would have gained: every read of the run replayed in time order
 * through a simulated cache-aside with a TTL of WINDOW_MS (no invalidation on writes); the wall-clock time of the
 * reads it absorbs, minus the lookup every request then pays: a round trip to a cache server, estimated from the
 * run itself as the median duration of its quickest read statement (a point lookup by key costs about one round trip
 * to a local server, and it costs more on a loaded machine — as a cache lookup would), at least CACHE_LOOKUP_MS, at
 * most CACHE_LOOKUP_MAX_MS, and at most a fifth of the reads one lookup would replace in a request (when the quickest
 * read is a heavy one),
 * averaged over the route's requests.
 */
import type { Finding } from '../../../profiles/contract/index.js';
import type { EvidenceRequest } from '../../analysis/evidence.js';
import { isCacheSystem, type DbQuery, type RequestTrace } from '../../analysis/requests.js';
import { findingKey, routesOf, groupBy, interval, median, medianExample, ownCovered, pct, round, sum, type Rule } from '../rule.js';

export const WINDOW_MS = 10_000;
/** The sample size repetition is judged at: REFERENCE_REQUESTS requests of the route. */
export const REFERENCE_REQUESTS = 50;
/** One read in twenty repeated within that many requests (a hot set); uniform ids over 150,000 users give ~1 %. */
export const MIN_REPEAT_SHARE = 0.05;
/** Fewer requests than this: too few to judge a repetition pattern. */
export const MIN_REQUESTS = 5;
/** A single repeat is chance; two requests re-reading what an earlier one read is a pattern. */
export const MIN_REPEATING_REQUESTS = 2;
/** The least a cache lookup costs per request (one round trip to a local Redis on a quiet machine). */
export const CACHE_LOOKUP_MS = 0.2;
/**
 * The most: a lookup is one round trip on a cache connection that is already open, and a run's database reads can be
 * slow for reasons it does not share — with a connection per request every read runs on a fresh PostgreSQL backend
 * whose catalog caches are cold (the lab's async-db and parallel stages: ~35 ms for a point lookup), or behind a
 * queue of connection start-ups. Priced from those reads, the lookup ate the whole saving and the finding vanished
 * from the stages that do nothing about caching. 5 ms is the slowest Redis MGET measured in the cached stage on this
 * 2-core machine at load average 12 (BENCHMARKS.md, "Diagnose").
 */
export const CACHE_LOOKUP_MAX_MS = 5;
/** Samples a statement shape needs for its median to stand for a round trip. */
const MIN_LOOKUP_SAMPLES = 5;

/** A round trip to a local server in this run: the median duration of the quickest read shape, within [CACHE_LOOKUP_MS, CACHE_LOOKUP_MAX_MS]. */
export function lookupCostMs(reads: readonly DbQuery[]): number {
  const medians = [...groupBy(reads, (q) => q.shape).values()].filter((qs) => qs.length >= MIN_LOOKUP_SAMPLES).map((qs) => median(qs.map((q) => q.ownMs)));
  return medians.length ? Math.min(CACHE_LOOKUP_MAX_MS, Math.max(CACHE_LOOKUP_MS, Math.min(...medians))) : CACHE_LOOKUP_MS;
}
/** "Already cached": requests consulting a cache first, and requests it answered alone, as shares of the route. */
export const CACHED_LOOKUP_SHARE = 0.5;
export const CACHED_ANSWER_SHARE = 0.05;
export const MIN_SAVING_MS = 0.5;
/** Too few reads to judge a repetition pattern. */
export const MIN_READS = 10;

/**
 * The share of reads a cache would absorb within m requests drawn from the route's n requests, where `counts` says
 * for each key how many of the n requests read it: per key, expected reads m·c/n minus the expected first read
 * P(at least one of the m requests reads it) = 1 − C(n−c, m) / C(n, m).
 */
export function repeatShareAt(counts: number[], n: number, m: number): number {
  if (n <= 0 || m <= 0) return 0;
  m = Math.min(m, n);
  let expectedReads = 0;
  let expectedRepeats = 0;
  for (const c of counts) {
    let none = 1; // C(n−c, m) / C(n, m) = Π (n−c−i)/(n−i)
    for (let i = 0; i < m && none > 0; i++) none *= Math.max(0, n - c - i) / (n - i);
    const reads = (m * c) / n;
    expectedReads += reads;
    expectedRepeats += reads - (1 - none);
  }
  return expectedReads === 0 ? 0 : expectedRepeats / expectedReads;
}

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
  request: EvidenceRequest;
  query: DbQuery;
  key: string;
  parameters: string;
  absorbed: boolean;
}

export const cacheableReads: Rule = {
  kind: 'cacheable-reads',
  readsQueries: true,
  describe: 'identical reads (same statement and parameters) repeated across requests within a short window',
  detect({ measured }): Finding[] {
    const requests = measured.requests;
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
    const lookupMs = lookupCostMs(requests.flatMap((r) => r.queries.filter((q) => q.read && !isCacheSystem(q.system))));
    for (const [route, list] of routesOf(measured)) {
      const routeReads = list.flatMap((r) => readsByRequest.get(r) ?? []);
      if (routeReads.length < MIN_READS || alreadyCached(list).yes) continue;
      // Repetition, independent of throughput: requests per key → the share absorbed within REFERENCE_REQUESTS.
      const reading = list.filter((r) => (readsByRequest.get(r)?.length ?? 0) > 0);
      if (reading.length < MIN_REQUESTS) continue;
      const requestsPerKey = [...groupBy(routeReads, (r) => r.key).values()].map((rs) => rs.length);
      const repeatShare = repeatShareAt(requestsPerKey, reading.length, REFERENCE_REQUESTS);
      const seenKeys = new Set<string>();
      let repeating = 0;
      for (const req of [...reading].sort((a, b) => a.startMs - b.startMs)) {
        const keys = (readsByRequest.get(req) ?? []).map((r) => r.key);
        if (keys.some((k) => seenKeys.has(k))) repeating++;
        for (const k of keys) seenKeys.add(k);
      }
      if (repeatShare < MIN_REPEAT_SHARE || repeating < MIN_REPEATING_REQUESTS) continue;
      // The saving at the load that ran: the TTL replay's absorbed reads, less a lookup per request.
      const absorbed = routeReads.filter((r) => r.absorbed);
      const share = absorbed.length / routeReads.length;
      const perRequest = list.map((req) => ownCovered((readsByRequest.get(req) ?? []).filter((r) => r.absorbed).map((r) => interval(r.query.span)), req));
      const readMs = sum(perRequest) / list.length;
      const absorbedPerRequest = perRequest.filter((ms) => ms > 0);
      const routeLookupMs = Math.max(CACHE_LOOKUP_MS, Math.min(lookupMs, median(absorbedPerRequest) / 5));
      const saving = readMs - routeLookupMs * (reading.length / list.length);
      if (saving < MIN_SAVING_MS) continue;
      // The statements that would gain most.
      const top = [...groupBy(absorbed, (r) => r.query.shape).values()]
        .map((rs) => ({ statement: rs[0]!.query.statement.replace(/\s+/g, ' ').trim(), absorbed: rs.length, ms: round(sum(rs.map((r) => r.query.ownMs))) }))
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 3);
      const parameters = [...new Set(routeReads.map((r) => r.parameters))];
      const example = medianExample(list, (req) => (readsByRequest.get(req) ?? []).filter((r) => r.absorbed).length)!;
      findings.push({
        kind: 'cacheable-reads',
        key: findingKey('cacheable-reads', route, 'reads'),
        route,
        title: `${route}: ${pct(repeatShare)} % of its database reads repeat what another request read within ${Math.min(REFERENCE_REQUESTS, reading.length)} requests (a cache would have answered ${absorbed.length} of ${routeReads.length} in this run)`,
        evidence: {
          reads: routeReads.length,
          repeatShare: pct(repeatShare),
          referenceRequests: Math.min(REFERENCE_REQUESTS, reading.length),
          requestsRepeating: repeating,
          absorbed: absorbed.length,
          absorbedShare: pct(share),
          readMsAbsorbedPerRequest: round(readMs),
          lookupMsPerRequest: round(routeLookupMs),
          distinctKeys: new Set(routeReads.map((r) => r.key)).size,
          windowMs: WINDOW_MS,
          parameters: parameters.length === 1 ? parameters[0] : parameters,
          topStatements: top,
          tracedRequests: list.length,
          estimate: `reads replayed through a ${WINDOW_MS / 1000} s TTL cache: wall-clock time of the reads it would have answered, less a cache lookup per request (${round(routeLookupMs)} ms: the run's quickest read, at most a fifth of the reads it replaces), averaged over the route's requests`,
        },
        savingMsPerRequest: round(saving),
        fix: 'Cache the result (cache-aside in Redis or an in-process LRU, keyed by the query and its parameters, with a short TTL) and serve repeats from it.',
        traceId: example.traceId,
      });
    }
    return findings;
  },
};
