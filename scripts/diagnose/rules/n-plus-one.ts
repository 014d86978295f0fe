/**
 * N+1 queries — within one request, many database queries of the same shape (same normalised statement, other
 * values): a loop issuing one query per item where one set-based query (JOIN, `= ANY($1)`, IN) would do.
 *
 * Saving per request: the wall-clock time the repeated queries cover (overlaps counted once, so a Promise.all loop is
 * not over-counted) minus one query of median duration — the set-based query that replaces them. Averaged over all
 * requests of the route (requests without the loop save nothing). Waiting behind other requests' blocks inside the
 * queries is not their time (the evidence's victim correction).
 */
import type { Finding } from '../../../profiles/contract/index.js';
import type { EvidenceRequest } from '../../analysis/evidence.js';
import { isCacheSystem, type DbQuery } from '../../analysis/requests.js';
import { routesOf, covered, findingKey, groupBy, interval, median, medianExample, ownCovered, pct, round, routeVerdict, spanMs, waitingEvidence, type Rule } from '../rule.js';

/** Same-shape queries in one request from which it is a loop (Sentry's N+1 detector uses 5 as well). */
export const MIN_REPEATS = 5;
/** Share of the route's requests that must show the loop. */
export const MIN_REQUEST_SHARE = 0.5;
/** Minimum estimated saving per request. */
export const MIN_SAVING_MS = 0.5;

interface Hit {
  request: EvidenceRequest;
  queries: DbQuery[];
  savingMs: number;
  rawSavingMs: number;
}

/** A statement in one line, at most 80 characters: "SELECT id, name FROM users WHERE id = $1". */
export function shortStatement(sql: string): string {
  const one = sql.replace(/\s+/g, ' ').trim();
  return one.length > 80 ? `${one.slice(0, 79)}…` : one;
}

export const nPlusOne: Rule = {
  kind: 'n-plus-one',
  readsQueries: true,
  describe: 'many database queries of the same statement shape within one request',
  detect({ measured }): Finding[] {
    const findings: Finding[] = [];
    for (const [route, list] of routesOf(measured)) {
      const loops: (Hit & { shape: string })[] = [];
      for (const request of list) {
        const groups = groupBy(request.queries.filter((q) => !isCacheSystem(q.system)), (q) => q.shape);
        for (const [shape, queries] of groups) {
          if (queries.length < MIN_REPEATS) continue;
          const intervals = queries.map((q) => interval(q.span));
          const savingMs = Math.max(0, ownCovered(intervals, request) - median(queries.map((q) => q.ownMs)));
          const rawSavingMs = covered(intervals) - median(queries.map((q) => spanMs(q.span)));
          loops.push({ shape, request, queries, savingMs, rawSavingMs });
        }
      }
      for (const [shape, hits] of groupBy(loops, (h) => h.shape)) {
        const { share, saving, fires } = routeVerdict(hits, list.length, MIN_REQUEST_SHARE, MIN_SAVING_MS);
        if (!fires) continue;
        const counts = hits.map((h) => h.queries.length);
        const all = hits.flatMap((h) => h.queries);
        const example = medianExample(hits, (h) => h.queries.length)!;
        const perRequestMs = hits.map((h) => ownCovered(h.queries.map((q) => interval(q.span)), h.request));
        findings.push({
          kind: 'n-plus-one',
          key: findingKey('n-plus-one', route, shape),
          route,
          // the statement itself, shortened: two loops on one route (and one table) must not read alike
          title: `${route} runs the same query ${round(median(counts))} times per request: ${shortStatement(example.queries[0]!.statement)}`,
          evidence: {
            statement: example.queries[0]!.statement.replace(/\s+/g, ' ').trim(),
            shape,
            system: example.queries[0]!.system,
            queriesPerRequest: round(median(counts)),
            maxPerRequest: Math.max(...counts),
            msPerRequest: round(median(perRequestMs)),
            medianQueryMs: round(median(all.map((q) => q.ownMs))),
            requestsAffected: hits.length,
            tracedRequests: list.length,
            shareOfRequests: pct(share),
            ...waitingEvidence(hits.reduce((a, h) => a + h.rawSavingMs, 0) / list.length, saving, hits.map((h) => h.request)),
            estimate: 'per request: wall-clock time of the repeated queries minus one query of median duration (the set-based query replacing them), averaged over the route\'s requests',
          },
          savingMsPerRequest: round(saving),
          fix: 'Load the rows in one set-based query (a JOIN, or `WHERE id = ANY($1)` with the collected ids) instead of one query per item.',
          traceId: example.request.traceId,
        });
      }
    }
    return findings;
  },
};
