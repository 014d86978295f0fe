/**
 * Pool starvation — requests wait for a pooled connection (pg-pool.connect spans) about as long as, or longer than,
 * they spend in queries: the pool is smaller than the concurrency, or clients are held too long.
 *
 * A checkout that opened a new connection is the pool growing, not waiting: its connect time is taken out, so a
 * pool warming up does not fire. Saving per request: the mean wait for a client — what a pool sized to the load (or
 * clients held only while querying) takes off.
 */
import type { Finding } from '../../../profiles/contract/index.js';
import { byRoute, covered, findingKey, interval, mean, median, medianExample, pct, round, sum, type Rule } from '../rule.js';

/** Wait for a client relative to time in queries, per route. */
export const MIN_WAIT_TO_QUERY = 0.5;
/** And at least this many ms per request. */
export const MIN_WAIT_MS = 1;

export const poolStarvation: Rule = {
  kind: 'pool-starvation',
  describe: 'time waiting for a pooled connection large relative to the time spent in queries',
  detect({ requests }): Finding[] {
    const findings: Finding[] = [];
    for (const [route, list] of byRoute(requests)) {
      const pooled = list.filter((r) => r.poolWaits.length > 0);
      if (pooled.length === 0) continue;
      const waitPerRequest = list.map((r) => sum(r.poolWaits.map((w) => w.waitMs)));
      const queryPerRequest = list.map((r) => covered(r.queries.map((q) => interval(q.span))));
      const wait = mean(waitPerRequest);
      const query = mean(queryPerRequest);
      const ratio = wait / (query || Number.EPSILON);
      if (wait < MIN_WAIT_MS || ratio < MIN_WAIT_TO_QUERY) continue;
      const waits = pooled.flatMap((r) => r.poolWaits);
      const example = medianExample(pooled, (r) => sum(r.poolWaits.map((w) => w.waitMs)))!;
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
          requests: list.length,
          shareOfRequestsWaiting: pct(pooled.filter((r) => sum(r.poolWaits.map((w) => w.waitMs)) >= MIN_WAIT_MS).length / list.length),
          estimate: 'mean time per request inside pool checkouts, minus connects the pool opened there',
        },
        savingMsPerRequest: round(wait),
        fix: 'Size the pool to the concurrency the database can serve (`max`), and hold a client only while querying (`pool.query`, release before awaiting anything else).',
        traceId: example.traceId,
      });
    }
    return findings;
  },
};
