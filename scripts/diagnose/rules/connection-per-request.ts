/**
 * Connection per request — most requests of a route open their own database connection (a connect span inside the
 * request that no pool checkout wraps): TCP, startup and authentication on every request.
 *
 * Saving per request: the connect time per request (median connect duration × connects per request) — what a pool
 * that keeps connections open saves once warm.
 */
import type { Finding } from '../../../profiles/contract/index.js';
import { byRoute, findingKey, mean, median, medianExample, pct, round, spanMs, type Rule } from '../rule.js';

/** "Most requests": the share of the route's requests that must connect. */
export const MIN_REQUEST_SHARE = 0.5;
export const MIN_SAVING_MS = 0.2;

export const connectionPerRequest: Rule = {
  kind: 'connection-per-request',
  describe: 'a database connection opened inside most requests instead of taken from a pool',
  detect({ requests }): Finding[] {
    const findings: Finding[] = [];
    for (const [route, list] of byRoute(requests)) {
      const connecting = list.filter((r) => r.connects.length > 0);
      const share = connecting.length / list.length;
      if (connecting.length === 0 || share < MIN_REQUEST_SHARE) continue;
      const connects = connecting.flatMap((r) => r.connects);
      const connectMs = median(connects.map(spanMs));
      const perRequest = connects.length / list.length;
      const saving = connectMs * perRequest;
      if (saving < MIN_SAVING_MS) continue;
      const latencyMs = median(list.map((r) => r.durationMs));
      const example = medianExample(connecting, (r) => mean(r.connects.map(spanMs)))!;
      findings.push({
        kind: 'connection-per-request',
        key: findingKey('connection-per-request', route, 'db-connect'),
        route,
        title: `${route} opens a database connection in ${pct(share)} % of requests (${round(connectMs)} ms each, ${pct(saving / (latencyMs || 1))} % of its median latency)`,
        evidence: {
          connectSpan: connects[0]!.name,
          connectMedianMs: round(connectMs),
          connectsPerRequest: round(perRequest),
          requestsConnecting: connecting.length,
          requests: list.length,
          shareOfRequests: pct(share),
          medianLatencyMs: round(latencyMs),
          shareOfLatency: pct(saving / (latencyMs || 1)),
          estimate: 'median connect span × connects per request of the route',
        },
        savingMsPerRequest: round(saving),
        fix: 'Create one connection pool at startup (`new pg.Pool()`) and run queries through it (`pool.query`), instead of connecting in every request.',
        traceId: example.traceId,
      });
    }
    return findings;
  },
};
