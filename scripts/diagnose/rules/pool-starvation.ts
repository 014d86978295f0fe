/**
 * Pool starvation — requests wait for a pooled connection (pg-pool.connect spans) about as long as, or longer than,
 * they spend in queries: the pool is smaller than the concurrency, or clients are held too long.
 *
 * A checkout that opened a new connection is the pool growing, not waiting: its connect time is taken out, so a
 * pool warming up does not fire. Saving per request: the mean wait for a client — what a pool sized to the load (or
 * clients held only while querying) takes off.
 */
import type { Finding } from '../../../profiles/contract/index.js';
import type { EvidenceRequest } from '../../analysis/evidence.js';
import type { PoolWait } from '../../analysis/requests.js';
import { routesOf, findingKey, interval, mean, median, medianExample, ownCovered, pct, round, sum, waitedIn, type Rule } from '../rule.js';

/** A checkout's wait less the time it waited behind other requests' blocks (the client was free, the loop was not). */
const ownWait = (w: PoolWait, r: EvidenceRequest): number => Math.max(0, w.waitMs - waitedIn(r, w.span.startMs, w.span.endMs));

/** Wait for a client relative to time in queries, per route. */
export const MIN_WAIT_TO_QUERY = 0.5;
/** And at least this many ms per request. */
export const MIN_WAIT_MS = 1;

export const poolStarvation: Rule = {
  kind: 'pool-starvation',
  readsQueries: true,
  describe: 'time waiting for a pooled connection large relative to the time spent in queries',
  detect({ measured }): Finding[] {
    const findings: Finding[] = [];
    for (const [route, list] of routesOf(measured)) {
      const pooled = list.filter((r) => r.poolWaits.length > 0);
      if (pooled.length === 0) continue;
      const waitPerRequest = list.map((r) => sum(r.poolWaits.map((w) => ownWait(w, r))));
      const queryPerRequest = list.map((r) => ownCovered(r.queries.map((q) => interval(q.span)), r));
      const wait = mean(waitPerRequest);
      const query = mean(queryPerRequest);
      const ratio = wait / (query || Number.EPSILON);
      if (wait < MIN_WAIT_MS || ratio < MIN_WAIT_TO_QUERY) continue;
      const waits = pooled.flatMap((r) => r.poolWaits.map((w) => ({ ...w, waitMs: ownWait(w, r) })));
      const example = medianExample(pooled, (r) => sum(r.poolWaits.map((w) => ownWait(w, r))))!;
      const maxClient = waits.map((w) => w.span.attributes['db.postgresql.max.client']).find((v) => v !== undefined);
      findings.push({
        kind: 'pool-starvation',
        key: findingKey('pool-starvation', route, 'pool'),
        route,
        title: `${route} waits ${round(wait)} ms per request for a pooled connection (${round(query)} ms in queries)`,
        evidence: {
          waitMsPerRequest: round(wait),
          queryMsPerRequest: round(query),
          waitToQuery: round(ratio),
          medianCheckoutWaitMs: round(median(waits.map((w) => w.waitMs))),
          checkouts: waits.length,
          checkoutsOpeningConnection: waits.filter((w) => w.opened).length,
          ...(maxClient !== undefined ? { poolMax: maxClient } : {}),
          tracedRequests: list.length,
          shareOfRequestsWaiting: pct(pooled.filter((r) => sum(r.poolWaits.map((w) => ownWait(w, r))) >= MIN_WAIT_MS).length / list.length),
          estimate: 'mean time per request inside pool checkouts, minus connects the pool opened there and time spent waiting behind other requests\' blocks',
        },
        savingMsPerRequest: round(wait),
        fix: 'Size the pool to the concurrency the database can serve (`max`), and hold a client only while querying (`pool.query`, release before awaiting anything else).',
        traceId: example.traceId,
      });
    }
    return findings;
  },
};
