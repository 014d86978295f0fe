/** Hand-made summaries for the unit tests (real captured ones are in fixtures/). */
import type { BlockingFile, RequestStats, Summary } from '../../profiles/contract/index.js';
import { buildEvidence, type Evidence } from '../../scripts/analysis/evidence.js';

export const stats = (p95: number, rps: number, requests = 1000, errors = 0): RequestStats => ({
  requests,
  rps,
  latencyMs: { p50: p95 / 2, p90: p95 * 0.9, p95, p99: p95 * 1.2, max: p95 * 2 },
  non2xx: 0,
  errors,
});

export function summary(over: Partial<Summary> = {}): Summary {
  return {
    overall: stats(100, 200),
    routes: { 'GET /a': stats(100, 150), 'GET /b': stats(50, 50) },
    eventLoop: { delayMs: { p50: 1, p99: 80, max: 200 }, utilization: 0.9 },
    blocking: { count: 100, totalMs: 5000, msPerRequest: 5 },
    ...over,
  };
}

/** The evidence of a run with these blocks and the load generator's figures of this summary (no traces). */
export function evidenceOf(blocking: BlockingFile, s: Summary): Evidence {
  const routes = Object.fromEntries(Object.entries(s.routes).map(([k, r]) => [k, { ...r, method: k.split(' ')[0]!, paths: [] }]));
  return buildEvidence({ info: null, load: { overall: s.overall, routes }, blocking, traces: { spans: [], source: null, droppedSpans: null }, eventLoop: [] });
}
