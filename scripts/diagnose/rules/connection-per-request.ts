/**
 * Connection per request — most requests of a route open their own database connection (a connect span inside the
 * request that no pool checkout wraps): TCP, startup and authentication on every request.
 *
 * Saving per request: the connect time per request (median connect duration × connects per request) plus the
 * teardown — what a pool that keeps connections open saves once warm. Closing a connection has no span of its own
 * (pg's client.end()), but it sits between the request's last database operation and its response: that tail, as a
 * median over the connecting requests, is counted as teardown (an upper bound: it also holds serialising the answer,
 * usually a millisecond or less). Not counted: queries on a fresh server backend run slower than on a warm pooled
 * one (cold catalog caches), so the measured gain of pooling is often larger still.
 */
import type { Finding } from '../../../profiles/contract/index.js';
import type { EvidenceRequest } from '../../analysis/evidence.js';
import type { RequestTrace } from '../../analysis/requests.js';
import { routesOf, findingKey, mean, median, medianExample, ownSpanMs, pct, round, waitedIn, type Rule } from '../rule.js';

/** "Most requests": the share of the route's requests that must connect. */
export const MIN_REQUEST_SHARE = 0.5;
export const MIN_SAVING_MS = 0.2;

/** Time from the request's last database operation (or awaited call) to its response: where a per-request connection is closed. */
export function teardownMs(r: RequestTrace): number {
  const ends = [...r.queries.map((q) => q.span.endMs), ...r.connects.map((c) => c.endMs), ...r.calls.map((c) => c.span.endMs).filter((t) => t <= r.endMs)];
  return ends.length === 0 ? 0 : Math.max(0, r.endMs - Math.max(...ends));
}

/** The teardown less the waiting behind other requests' blocks in it. */
function ownTeardownMs(r: EvidenceRequest): number {
  const t = teardownMs(r);
  return Math.max(0, t - waitedIn(r, r.endMs - t, r.endMs));
}

export const connectionPerRequest: Rule = {
  kind: 'connection-per-request',
  readsQueries: true,
  describe: 'a database connection opened inside most requests instead of taken from a pool',
  detect({ measured }): Finding[] {
    const findings: Finding[] = [];
    for (const [route, list] of routesOf(measured)) {
      const connecting = list.filter((r) => r.connects.length > 0);
      const share = connecting.length / list.length;
      if (connecting.length === 0 || share < MIN_REQUEST_SHARE) continue;
      // a connect or a teardown measured behind other requests' blocks is counted without that waiting
      const connectTimes = connecting.flatMap((r) => r.connects.map((c) => ownSpanMs(c, r)));
      const connectMs = median(connectTimes);
      const perRequest = connectTimes.length / list.length;
      const teardowns = connecting.map(ownTeardownMs);
      const teardown = median(teardowns) * share;
      const saving = connectMs * perRequest + teardown;
      if (saving < MIN_SAVING_MS) continue;
      const latencyMs = median(list.map((r) => r.durationMs));
      const example = medianExample(connecting, (r) => mean(r.connects.map((c) => ownSpanMs(c, r))))!;
      findings.push({
        kind: 'connection-per-request',
        key: findingKey('connection-per-request', route, 'db-connect'),
        route,
        title: `${route} opens and closes a database connection in ${pct(share)} % of requests (connect ${round(connectMs)} ms, ${pct(saving / (latencyMs || 1))} % of its median latency with teardown)`,
        evidence: {
          connectSpan: connecting[0]!.connects[0]!.name,
          connectMedianMs: round(connectMs),
          connectsPerRequest: round(perRequest),
          teardownMedianMs: round(median(teardowns)),
          requestsConnecting: connecting.length,
          tracedRequests: list.length,
          shareOfRequests: pct(share),
          medianLatencyMs: round(latencyMs),
          shareOfLatency: pct(saving / (latencyMs || 1)),
          estimate: 'median connect span × connects per request, plus the median teardown (last database operation → response) of the connecting requests; fresh backends\' slower queries not counted',
        },
        savingMsPerRequest: round(saving),
        fix: 'Create one connection pool at startup (`new pg.Pool()`) and run queries through it (`pool.query`), instead of connecting in every request.',
        traceId: example.traceId,
      });
    }
    return findings;
  },
};
