/**
 * Load with autocannon's programmatic API: one weighted request mix, per-route latency histograms
 * (hdr-histogram-js, recorded per response), live req/s ticks, stoppable through an AbortSignal.
 */
import autocannon from 'autocannon';
import type { LoadRoute, RequestStats } from '../../profiles/contract/types.js';
import { LooplensError } from '../errors.js';
import { encodeHistogram, latencyOf, newHistogram, type Histogram } from './histogram.js';
import { requestPicker, routeKey, type IdRanges, type Scenario } from './scenario.js';

export interface LoadOptions {
  /** http://127.0.0.1:PORT */
  url: string;
  scenario: Scenario;
  ids: IdRanges;
  connections: number;
  durationS: number;
  /** Fixed overall rate (req/s); closed loop when unset. */
  rate?: number;
  /** PRNG seed for the request sequence (same seed → same sequence). */
  seed?: number;
  signal?: AbortSignal;
  /** Called once a second with the requests completed in that second. */
  onTick?: (requestsLastSecond: number) => void;
  /** Per-request timeout, seconds (default 30: a blocked server's queue can take that long). */
  timeoutS?: number;
}

export interface LoadResult {
  /** Epoch ms of the first and last moment of load. */
  startMs: number;
  endMs: number;
  durationS: number;
  overall: RequestStats;
  /** Per route of the scenario (keyed by its route key): stats, method, paths and the encoded histogram. */
  routes: Record<string, LoadRoute>;
  timeouts: number;
}

interface RouteAcc {
  hist: Histogram;
  requests: number;
  non2xx: number;
  method: string;
  paths: string[];
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const next = requestPicker(opts.scenario, opts.ids, opts.seed ?? 1);
  const routes = new Map<string, RouteAcc>();
  for (const r of opts.scenario.requests) {
    const key = routeKey(r);
    const path = r.path.split('?')[0] ?? r.path;
    const acc = routes.get(key);
    if (!acc) routes.set(key, { hist: newHistogram(), requests: 0, non2xx: 0, method: r.method.toUpperCase(), paths: [path] });
    else if (!acc.paths.includes(path)) acc.paths.push(path);
  }
  const overall: RouteAcc = { hist: newHistogram(), requests: 0, non2xx: 0, method: '', paths: [] };
  const connections = opts.rate && opts.rate < opts.connections ? Math.max(1, Math.floor(opts.rate)) : opts.connections;
  // With a fixed rate, each connection is expected to send one request every `interval` ms: record the latencies
  // that coordinated omission would hide, as autocannon does for its own histogram.
  const expectedIntervalUs = opts.rate ? Math.round((1_000_000 * connections) / opts.rate) : 0;

  // autocannon calls onResponse(status, body, context) then emits 'response' (with the latency) synchronously, one
  // response at a time; the route travels from setupRequest to onResponse through the per-connection context.
  let pendingKey: string | undefined;
  let pendingStatus = 0;
  const request = {
    setupRequest: (req: Record<string, unknown>, context: Record<string, unknown>) => {
      const r = next();
      context.key = r.key;
      return { ...req, method: r.method, path: r.path, headers: { ...(req.headers as object), ...r.headers }, body: r.body ?? Buffer.alloc(0) };
    },
    onResponse: (status: number, _body: unknown, context: Record<string, unknown>) => {
      pendingKey = context.key as string;
      pendingStatus = status;
    },
  };

  const startMs = Date.now();
  return await new Promise<LoadResult>((resolve, reject) => {
    let settled = false;
    const instance = autocannon(
      {
        url: opts.url,
        connections,
        duration: opts.durationS,
        ...(opts.rate ? { overallRate: opts.rate } : {}),
        timeout: opts.timeoutS ?? 30,
        requests: [request as never],
      },
      (err: Error | null, result: autocannon.Result) => {
        opts.signal?.removeEventListener('abort', onAbort);
        if (settled) return;
        settled = true;
        if (err) {
          reject(new LooplensError('LOAD_FAILED', `load generation failed: ${err.message}`, 'check the --scenario/--path and that the app answers HTTP', { cause: err }));
          return;
        }
        const endMs = Date.now();
        const durationS = Math.max(0.001, (endMs - startMs) / 1000);
        const statsOf = (acc: RouteAcc, errors: number): RequestStats => ({
          requests: acc.requests,
          rps: Math.round((acc.requests / durationS) * 10) / 10,
          latencyMs: latencyOf(acc.hist),
          non2xx: acc.non2xx,
          errors,
        });
        const routeStats: Record<string, LoadRoute> = {};
        for (const [key, acc] of routes) {
          routeStats[key] = { ...statsOf(acc, 0), method: acc.method, paths: acc.paths, histogram: encodeHistogram(acc.hist) };
        }
        // Requests that failed without an answer: autocannon counts connection errors and timeouts (result.errors),
        // not a request the server rejects by closing the connection (Node writes "400 Bad Request" and closes on
        // "GET api"; autocannon never reports that as a response). Those are the requests sent but not answered, less
        // the ones still in flight when the load stopped (at most one per connection); the larger count stands.
        const unanswered = Math.max(0, (result.requests.sent ?? 0) - overall.requests - connections);
        resolve({
          startMs,
          endMs,
          durationS,
          overall: statsOf(overall, Math.max(result.errors, unanswered)),
          routes: routeStats,
          timeouts: result.timeouts,
        });
      },
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTimeMs: number) => {
      const key = pendingKey;
      pendingKey = undefined;
      const acc = key ? routes.get(key) : undefined;
      const us = Math.max(1, Math.round(responseTimeMs * 1000));
      for (const a of acc ? [acc, overall] : [overall]) {
        a.requests++;
        if (pendingStatus < 200 || pendingStatus >= 300) a.non2xx++;
        if (expectedIntervalUs) a.hist.recordValueWithExpectedInterval(us, expectedIntervalUs);
        else a.hist.recordValue(us);
      }
    });
    (instance as unknown as NodeJS.EventEmitter).on('tick', (t: { counter: number }) => opts.onTick?.(t.counter));
    const onAbort = () => {
      (instance as unknown as { stop: () => void }).stop();
      if (!settled) {
        settled = true;
        reject(opts.signal?.reason ?? new Error('aborted'));
      }
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
