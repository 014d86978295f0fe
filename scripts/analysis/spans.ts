/**
 * Request-level facts derived from traces: queries per request (PostgreSQL query spans per HTTP server span),
 * per route, and failures of calls to external services. Input: the Jaeger JSON-file format (traces.jaeger.json).
 */
import type { JaegerFile, JaegerSpan, JaegerTag } from '../../profiles/contract/types.js';

export interface Span {
  traceId: string;
  spanId: string;
  parentId: string | null;
  name: string;
  kind: 'server' | 'client' | 'internal' | 'producer' | 'consumer' | 'unknown';
  /** Epoch microseconds. */
  startUs: number;
  durationUs: number;
  attributes: Record<string, string | number | boolean>;
  error: boolean;
}

function tagMap(tags: readonly JaegerTag[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const t of tags ?? []) out[t.key] = t.value;
  return out;
}

export function spansFromJaeger(file: JaegerFile): Span[] {
  const spans: Span[] = [];
  for (const trace of file.data ?? []) {
    for (const s of trace.spans ?? []) spans.push(fromJaegerSpan(s));
  }
  return spans;
}

function fromJaegerSpan(s: JaegerSpan): Span {
  const attributes = tagMap(s.tags);
  const parent = (s.references ?? []).find((r) => r.refType === 'CHILD_OF');
  const kindTag = String(attributes['span.kind'] ?? '').toLowerCase();
  const kind = (['server', 'client', 'internal', 'producer', 'consumer'].includes(kindTag) ? kindTag : 'unknown') as Span['kind'];
  const status = String(attributes['otel.status_code'] ?? '').toUpperCase();
  return {
    traceId: s.traceID,
    spanId: s.spanID,
    parentId: parent?.spanID ?? null,
    name: s.operationName,
    kind,
    startUs: s.startTime,
    durationUs: s.duration,
    attributes,
    error: status === 'ERROR' || attributes.error === true || attributes.error === 'true',
  };
}

const attr = (s: Span, ...keys: string[]) => keys.map((k) => s.attributes[k]).find((v) => v !== undefined);

export function httpMethod(s: Span): string | undefined {
  const m = attr(s, 'http.request.method', 'http.method');
  return m === undefined ? undefined : String(m).toUpperCase();
}

export function isHttpServerSpan(s: Span): boolean {
  return s.kind === 'server' && httpMethod(s) !== undefined;
}

export function isDbQuerySpan(s: Span): boolean {
  const system = attr(s, 'db.system', 'db.system.name');
  return system === 'postgresql' && s.name.startsWith('pg.query');
}

export function isHttpClientSpan(s: Span): boolean {
  return s.kind === 'client' && httpMethod(s) !== undefined;
}

function statusCode(s: Span): number {
  return Number(attr(s, 'http.response.status_code', 'http.status_code') ?? 0);
}

/** "<METHOD> <route>" of a server span: its http.route, a route another span of the trace names, or its name. */
export function routeOf(server: Span, traceSpans: readonly Span[]): string | null {
  const method = httpMethod(server) ?? '';
  const own = attr(server, 'http.route');
  if (own) return `${method} ${own}`;
  for (const s of traceSpans) {
    const r = attr(s, 'http.route');
    if (r) return `${method} ${r}`;
  }
  if (/^[A-Z]+ \//.test(server.name)) return server.name;
  return null;
}

export interface RequestFacts {
  requests: number;
  queries: number;
  queriesPerRequest: number;
  routes: Record<string, { requests: number; queries: number; queriesPerRequest: number }>;
  upstream: { calls: number; failures: number };
}

/**
 * Counts over the HTTP server spans that started inside [fromMs, toMs] (epoch ms; whole file when omitted).
 * Each DB query span and HTTP client span is charged to the nearest enclosing server span.
 */
export function requestFacts(spans: readonly Span[], window: { fromMs?: number; toMs?: number } = {}): RequestFacts {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const byTrace = new Map<string, Span[]>();
  for (const s of spans) {
    const list = byTrace.get(s.traceId);
    if (list) list.push(s);
    else byTrace.set(s.traceId, [s]);
  }
  const inWindow = (s: Span) =>
    (window.fromMs === undefined || s.startUs >= window.fromMs * 1000) && (window.toMs === undefined || s.startUs <= window.toMs * 1000);

  const servers = spans.filter((s) => isHttpServerSpan(s) && inWindow(s));
  const serverIds = new Set(servers.map((s) => s.spanId));
  const queriesByServer = new Map<string, number>();
  const upstream = { calls: 0, failures: 0 };

  const enclosingServer = (s: Span): string | null => {
    let cur: Span | undefined = s;
    for (let depth = 0; cur && depth < 100; depth++) {
      if (cur.parentId === null) return null;
      if (serverIds.has(cur.parentId)) return cur.parentId;
      cur = byId.get(cur.parentId);
    }
    return null;
  };

  for (const s of spans) {
    if (isDbQuerySpan(s)) {
      const server = enclosingServer(s);
      if (server) queriesByServer.set(server, (queriesByServer.get(server) ?? 0) + 1);
    } else if (isHttpClientSpan(s) && enclosingServer(s)) {
      upstream.calls++;
      if (s.error || statusCode(s) >= 500) upstream.failures++;
    }
  }

  const routes: RequestFacts['routes'] = {};
  let queries = 0;
  for (const server of servers) {
    const q = queriesByServer.get(server.spanId) ?? 0;
    queries += q;
    const key = routeOf(server, byTrace.get(server.traceId) ?? []);
    if (!key) continue;
    const r = (routes[key] ??= { requests: 0, queries: 0, queriesPerRequest: 0 });
    r.requests++;
    r.queries += q;
  }
  for (const r of Object.values(routes)) r.queriesPerRequest = round(r.queries / r.requests, 2);
  return {
    requests: servers.length,
    queries,
    queriesPerRequest: servers.length ? round(queries / servers.length, 2) : 0,
    routes,
    upstream,
  };
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
