/**
 * Load with autocannon's programmatic API: one weighted request mix, per-route latency histograms
 * (hdr-histogram-js, recorded per response), live req/s ticks, stoppable through an AbortSignal. With an auth step
 * (scenario `auth`) each connection logs in first and sends its token; the login requests are a route of their own.
 */
import autocannon from 'autocannon';
import type { LoadRoute, RequestStats } from '../../profiles/contract/types.js';
import { LooplensError } from '../errors.js';
import { encodeHistogram, latencyOf, newHistogram, type Histogram } from './histogram.js';
import { authRouteKey, describeTokenSource, routeKey, scenarioRequests, tokenFrom, type BuiltRequest, type IdRanges, type Scenario } from './scenario.js';

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

/** What one connection (one autocannon client) knows: its token, and the request it sent last. */
interface Connection {
  token?: string;
  /** An answer other than 401 came back to a request sent with this token. */
  tokenWorked: boolean;
  sent?: BuiltRequest;
  /** The last answer's route and status, from onResponse to the 'response' event that follows it. */
  answered?: { key: string; status: number };
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const scenario = opts.scenario;
  const source = scenarioRequests(scenario, opts.ids, opts.seed ?? 1);
  const routes = new Map<string, RouteAcc>();
  const templates = scenario.requests.map((r) => ({ key: routeKey(r), method: r.method, path: r.path }));
  if (scenario.auth) templates.push({ key: authRouteKey(scenario.auth), method: scenario.auth.method ?? 'POST', path: scenario.auth.path });
  for (const r of templates) {
    // the path pattern, {placeholders} kept: the evidence matches the app's requests to this route by it
    const path = r.path.split('?')[0] ?? r.path;
    const acc = routes.get(r.key);
    if (!acc) routes.set(r.key, { hist: newHistogram(), requests: 0, non2xx: 0, method: r.method.toUpperCase(), paths: [path] });
    else if (!acc.paths.includes(path)) acc.paths.push(path);
  }
  const overall: RouteAcc = { hist: newHistogram(), requests: 0, non2xx: 0, method: '', paths: [] };
  const connections = opts.rate && opts.rate < opts.connections ? Math.max(1, Math.floor(opts.rate)) : opts.connections;
  // With a fixed rate, each connection is expected to send one request every `interval` ms: record the latencies
  // that coordinated omission would hide, as autocannon does for its own histogram.
  const expectedIntervalUs = opts.rate ? Math.round((1_000_000 * connections) / opts.rate) : 0;

  // The auth step failed: the load stops and the run fails with this (the answer itself is never shown: it may hold
  // credentials).
  let authFailure: LooplensError | undefined;
  let stopForAuth: () => void = () => {};
  const failAuth = (message: string, fix: string) => {
    if (authFailure) return;
    authFailure = new LooplensError('AUTH_FAILED', message, fix);
    setImmediate(() => stopForAuth());
  };
  const auth = scenario.auth;

  // One request object per connection (autocannon's setupClient + client.setRequests), so each keeps its own token.
  // autocannon calls onResponse(status, body, context, headers) and then emits 'response' (with the latency)
  // synchronously, one response at a time per connection.
  const byClient = new WeakMap<object, Connection>();
  const requestFor = (conn: Connection) => ({
    setupRequest: (req: Record<string, unknown>) => {
      const r = auth && conn.token === undefined ? source.login() : source.next(conn.token === undefined ? undefined : { token: conn.token });
      conn.sent = r;
      return { ...req, method: r.method, path: r.path, headers: { ...(req.headers as object), ...r.headers }, body: r.body ?? Buffer.alloc(0) };
    },
    onResponse: (status: number, body: string, _context: unknown, headers: Record<string, unknown>) => {
      const r = conn.sent;
      if (!r) return;
      conn.answered = { key: r.key, status };
      if (!auth) return;
      if (r.auth) {
        const what = `the auth step ${r.method} ${auth.path}`;
        if (status < 200 || status >= 300) {
          failAuth(`${what} answered ${status}`, 'check its path, body and credentials in the scenario against the app');
          return;
        }
        const token = tokenFrom(auth.token, body ?? '', headers ?? {});
        if (token === null) {
          failAuth(`${what} answered ${status} without a token in its ${describeTokenSource(auth.token)}`, 'point the scenario\'s auth.token at the JSON field, header or cookie that carries it');
          return;
        }
        conn.token = token;
        conn.tokenWorked = false;
      } else if (status === 401) {
        if (!conn.tokenWorked) {
          failAuth(`${r.method} ${r.key.slice(r.key.indexOf(' ') + 1)} answered 401 to a token the auth step had just issued`, 'check how the scenario sends it, e.g. "headers": {"Authorization": "Bearer {token}"}');
          return;
        }
        // the token expired or was revoked: this connection logs in again before its next request
        conn.token = undefined;
      } else conn.tokenWorked = true;
    },
  });

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
        setupClient: (client: autocannon.Client) => {
          const conn: Connection = { tokenWorked: false };
          byClient.set(client, conn);
          client.setRequests([requestFor(conn) as never]);
        },
      },
      (err: Error | null, result: autocannon.Result) => {
        opts.signal?.removeEventListener('abort', onAbort);
        if (settled) return;
        settled = true;
        if (authFailure) {
          reject(authFailure);
          return;
        }
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
    stopForAuth = () => (instance as unknown as { stop: () => void }).stop();
    instance.on('response', (client: object, status: number, _bytes: number, responseTimeMs: number) => {
      const conn = byClient.get(client);
      const answered = conn?.answered;
      if (conn) conn.answered = undefined;
      const acc = answered ? routes.get(answered.key) : undefined;
      const us = Math.max(1, Math.round(responseTimeMs * 1000));
      for (const a of acc ? [acc, overall] : [overall]) {
        a.requests++;
        if (status < 200 || status >= 300) a.non2xx++;
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
