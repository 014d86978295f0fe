/**
 * The normalised span model the rules read: one `Span` shape whatever the source (OTLP JSON or the Jaeger JSON
 * file), and one `RequestTrace` per incoming request with the operations the rules care about already classified.
 *
 * Classification is by OpenTelemetry semantic conventions only (old and stable attribute names both), never by
 * anything looplens-specific, so any app profiled with looplens — or any OTLP export — diagnoses the same way.
 */
import type { JaegerFile, JaegerTag } from '../../profiles/contract/index.js';
import { normaliseSql, isReadStatement } from './sql.js';

export type SpanKind = 'internal' | 'server' | 'client' | 'producer' | 'consumer' | 'unspecified';
export type AttrValue = string | number | boolean | (string | number | boolean)[];

export interface Span {
  traceId: string;
  spanId: string;
  /** null for a root span. */
  parentId: string | null;
  name: string;
  kind: SpanKind;
  /** Epoch milliseconds (fractional). */
  startMs: number;
  endMs: number;
  attributes: Record<string, AttrValue>;
  events: { name: string; timeMs: number; attributes: Record<string, AttrValue> }[];
}

export interface DbQuery {
  span: Span;
  /** db.system / db.system.name, e.g. "postgresql". */
  system: string;
  statement: string;
  /** The statement with literals, placeholders and IN-lists replaced: equal shapes are "the same query". */
  shape: string;
  /** Bound parameters when the instrumentation recorded them (pg: enhancedDatabaseReporting), else null. */
  values: string | null;
  read: boolean;
}

export interface HttpCall {
  span: Span;
  method: string;
  /**
   * "host:port/path", ids in the path replaced by ":id" — the endpoint called, not the exact URL. On a loopback host
   * (127.0.0.0/8, ::1, localhost) the port is left out: local stand-ins and sidecars listen on a port picked at
   * start, and a key that changed with it would never match between two runs.
   */
  endpoint: string;
  url: string;
  status: number | null;
}

export interface PoolWait {
  span: Span;
  /** The pool-connect span's time minus any new connection it opened inside: time spent waiting for a client. */
  waitMs: number;
  /** The pool opened a new connection for this checkout (not waiting: growing). */
  opened: boolean;
}

/** One incoming request: a server span and what happened underneath it. */
export interface RequestTrace {
  span: Span;
  traceId: string;
  /** "<METHOD> <route template>", the key summary.json and blocking.json use. */
  route: string;
  /** Path and query as requested ("/users/7/timeline?limit=20"), when recorded. */
  target: string | null;
  startMs: number;
  /** When the response was sent: the server span's end. */
  endMs: number;
  durationMs: number;
  queries: DbQuery[];
  /** Database connections opened directly by the request (not by a pool). */
  connects: Span[];
  poolWaits: PoolWait[];
  /** Outgoing HTTP calls (outermost client spans only), in start order. */
  calls: HttpCall[];
}

// ---------------------------------------------------------------------------------------------------------------
// Readers: OTLP JSON and Jaeger JSON → Span[]

const OTLP_KINDS: SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

interface OtlpAnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpAnyValue[] };
}
interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}

function otlpValue(v: OtlpAnyValue | undefined): AttrValue {
  if (!v) return '';
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map((x) => otlpValue(x) as string | number | boolean);
  return '';
}

function otlpAttrs(list: OtlpKeyValue[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of list ?? []) out[kv.key] = otlpValue(kv.value);
  return out;
}

/** Nanoseconds (string or number) → epoch ms, exact to the microsecond (Number(ns) alone loses ~256 ns). */
function nanosToMs(ns: string | number | undefined): number {
  if (ns === undefined) return 0;
  if (typeof ns === 'number') return ns / 1e6;
  try {
    return Number(BigInt(ns) / 1000n) / 1000;
  } catch {
    return Number(ns) / 1e6;
  }
}

/** OTLP ids are hex in OTLP/JSON; an exporter that wrote protobuf-JSON may have base64 — normalise to lowercase hex. */
function otlpId(id: string | undefined): string {
  if (!id) return '';
  if (/^[0-9a-f]+$/i.test(id)) return id.toLowerCase();
  return Buffer.from(id, 'base64').toString('hex');
}

/** Spans from an OTLP/JSON trace export (`{ resourceSpans: [{ scopeSpans: [{ spans }] }] }`). */
export function spansFromOtlp(doc: unknown): Span[] {
  const out: Span[] = [];
  const resourceSpans = (doc as { resourceSpans?: unknown[] } | null)?.resourceSpans;
  if (!Array.isArray(resourceSpans)) return out;
  for (const rs of resourceSpans as { scopeSpans?: { spans?: unknown[] }[] }[]) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const raw of (ss.spans ?? []) as Record<string, unknown>[]) {
        const kind = raw.kind;
        out.push({
          traceId: otlpId(raw.traceId as string),
          spanId: otlpId(raw.spanId as string),
          parentId: raw.parentSpanId ? otlpId(raw.parentSpanId as string) || null : null,
          name: String(raw.name ?? ''),
          kind: typeof kind === 'number' ? (OTLP_KINDS[kind] ?? 'unspecified') : otlpKindName(kind),
          startMs: nanosToMs(raw.startTimeUnixNano as string),
          endMs: nanosToMs(raw.endTimeUnixNano as string),
          attributes: otlpAttrs(raw.attributes as OtlpKeyValue[]),
          events: ((raw.events ?? []) as { name?: string; timeUnixNano?: string; attributes?: OtlpKeyValue[] }[]).map((e) => ({
            name: String(e.name ?? ''),
            timeMs: nanosToMs(e.timeUnixNano),
            attributes: otlpAttrs(e.attributes),
          })),
        });
      }
    }
  }
  return out;
}

function otlpKindName(kind: unknown): SpanKind {
  const k = String(kind ?? '').toLowerCase().replace(/^span_kind_/, '');
  return (OTLP_KINDS as string[]).includes(k) ? (k as SpanKind) : 'unspecified';
}

function jaegerTags(tags: JaegerTag[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const t of tags ?? []) out[t.key] = t.value;
  return out;
}

/** Spans from the Jaeger UI JSON file (times in microseconds, kind in the `span.kind` tag). */
export function spansFromJaeger(doc: JaegerFile): Span[] {
  const out: Span[] = [];
  for (const trace of doc.data ?? []) {
    for (const s of trace.spans ?? []) {
      const tags = jaegerTags(s.tags);
      const parent = (s.references ?? []).find((r) => r.refType === 'CHILD_OF') ?? (s.references ?? [])[0];
      out.push({
        traceId: s.traceID.toLowerCase(),
        spanId: s.spanID.toLowerCase(),
        parentId: parent ? parent.spanID.toLowerCase() : null,
        name: s.operationName,
        kind: otlpKindName(tags['span.kind']),
        startMs: s.startTime / 1000,
        endMs: (s.startTime + s.duration) / 1000,
        attributes: tags,
        events: (s.logs ?? []).map((l) => {
          const fields = jaegerTags(l.fields);
          return { name: String(fields.event ?? ''), timeMs: l.timestamp / 1000, attributes: fields };
        }),
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Classification (semantic conventions, old and stable names)

function str(attrs: Record<string, AttrValue>, ...keys: string[]): string | null {
  for (const k of keys) {
    const v = attrs[k];
    if (v !== undefined && v !== '') return Array.isArray(v) ? v.join(',') : String(v);
  }
  return null;
}

export function dbSystem(span: Span): string | null {
  return str(span.attributes, 'db.system.name', 'db.system');
}

/** Key-value caches: a lookup per item there is how a cache is used, not an N+1 to fix; they are not "reads" to cache. */
const CACHE_SYSTEMS = new Set(['redis', 'memcached', 'valkey', 'keydb']);

export function isCacheSystem(system: string | null): boolean {
  return system !== null && CACHE_SYSTEMS.has(system.toLowerCase());
}

/** A span that opens a database connection (pg: "pg.connect"; others: "<x>.connect", db.operation connect). */
export function isDbConnect(span: Span): boolean {
  if (isPoolConnect(span)) return false;
  if (span.name === 'pg.connect') return true;
  if (!dbSystem(span)) return false;
  const op = str(span.attributes, 'db.operation.name', 'db.operation');
  return /(^|\.)connect$/i.test(span.name) || (op !== null && op.toLowerCase() === 'connect');
}

/** A span that checks a client out of a pool (pg-pool: "pg-pool.connect"; generic-pool/mysql pools alike). */
export function isPoolConnect(span: Span): boolean {
  return span.name === 'pg-pool.connect' || /pool[.:\s-]*(connect|acquire|getconnection)$/i.test(span.name);
}

function statementOf(span: Span): string | null {
  return str(span.attributes, 'db.query.text', 'db.statement');
}

export function dbQueryOf(span: Span): DbQuery | null {
  const system = dbSystem(span);
  if (!system || isDbConnect(span) || isPoolConnect(span)) return null;
  const statement = statementOf(span);
  if (statement === null) return null;
  const raw = span.attributes['db.postgresql.values'];
  let values: string | null = null;
  if (Array.isArray(raw)) values = JSON.stringify(raw);
  else if (typeof raw === 'string' && raw !== '') values = raw;
  else {
    const params = Object.keys(span.attributes)
      .filter((k) => k.startsWith('db.query.parameter.'))
      .sort();
    if (params.length > 0) values = JSON.stringify(params.map((k) => span.attributes[k]));
  }
  return { span, system, statement, shape: normaliseSql(statement), values, read: isReadStatement(statement) };
}

/** An outgoing HTTP call: kind CLIENT with an HTTP method and a URL or server address, and not a database span. */
export function httpCallOf(span: Span): HttpCall | null {
  if (span.kind !== 'client' || dbSystem(span)) return null;
  const a = span.attributes;
  const method = str(a, 'http.request.method', 'http.method');
  if (!method) return null;
  const url = str(a, 'url.full', 'http.url') ?? '';
  let host = str(a, 'server.address', 'net.peer.name', 'http.host') ?? '';
  let port = str(a, 'server.port', 'net.peer.port') ?? '';
  let path = str(a, 'url.path', 'http.target') ?? '';
  if (url) {
    try {
      const u = new URL(url);
      host ||= u.hostname;
      port ||= u.port;
      path ||= u.pathname;
    } catch {
      /* keep what the attributes said */
    }
  }
  path = path.split('?')[0] ?? path;
  const status = Number(str(a, 'http.response.status_code', 'http.status_code'));
  const hostPort = /^(\[[^\]]*\]|[^:]+):(\d+)$/.exec(host); // http.host may be "host:port"
  if (hostPort) [host, port] = [hostPort[1]!, port || hostPort[2]!];
  const shownPort = port && !isLoopback(host) ? `:${port}` : '';
  return {
    span,
    method: method.toUpperCase(),
    endpoint: `${host}${shownPort}${templatePath(path)}`,
    url: url || `${host}${port ? `:${port}` : ''}${path}`,
    status: Number.isFinite(status) && status > 0 ? status : null,
  };
}

/** 127.0.0.0/8, ::1 and localhost: the machine itself, where ports are usually picked at start. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1';
}

/** "/users/123/posts/9f8e…" → "/users/:id/posts/:id": numbers, UUIDs and long hex/ids are parameters. */
export function templatePath(path: string): string {
  return path
    .split('/')
    .map((seg) => (/^\d+$/.test(seg) || /^[0-9a-f]{8}-[0-9a-f-]{27}$/i.test(seg) || /^[0-9a-f]{16,}$/i.test(seg) ? ':id' : seg))
    .join('/');
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

function routeOf(server: Span, descendants: Span[]): { route: string; target: string | null } {
  const a = server.attributes;
  const method = (str(a, 'http.request.method', 'http.method') ?? server.name.split(' ')[0] ?? 'GET').toUpperCase();
  let template = str(a, 'http.route');
  if (!template) {
    // Frameworks instrumented separately (e.g. @fastify/otel) put the route on their own spans under the server span.
    for (const d of descendants) {
      const r = str(d.attributes, 'http.route');
      if (r) {
        template = r;
        break;
      }
    }
  }
  const target = str(a, 'http.target') ?? (() => {
    const path = str(a, 'url.path');
    if (!path) return null;
    const q = str(a, 'url.query');
    return q ? `${path}${q.startsWith('?') ? q : `?${q}`}` : path;
  })() ?? (() => {
    const full = str(a, 'url.full', 'http.url');
    if (!full) return null;
    try {
      const u = new URL(full);
      return u.pathname + u.search;
    } catch {
      return null;
    }
  })();
  if (!template) template = templatePath((target ?? '/').split('?')[0] ?? '/');
  return { route: `${method} ${template}`, target };
}

/**
 * Set (true) on a server span whose response was never finished — the client went away, e.g. the load generator
 * closing its connections at the end of a warmup or of the run. OpenTelemetry's http instrumentation ends such a span
 * like any other (status 200 by default), so it would count as a fast request that did none of its work; the probes
 * mark it (instrumentation-http's applyCustomAttributesOnSpan: `!response.writableFinished`) and the rules skip it.
 */
export const ABORTED_ATTRIBUTE = 'looplens.http.response.aborted';

/**
 * Groups spans into requests. A request is a SERVER span with no CLIENT span among its ancestors — so a stand-in
 * upstream served by the same process (its server span sits under our client call) is not counted as a request —
 * and whose response was not abandoned (ABORTED_ATTRIBUTE).
 */
export function buildRequests(spans: Span[]): RequestTrace[] {
  const byId = new Map<string, Span>();
  const children = new Map<string, Span[]>();
  for (const s of spans) byId.set(`${s.traceId}/${s.spanId}`, s);
  for (const s of spans) {
    if (!s.parentId) continue;
    const key = `${s.traceId}/${s.parentId}`;
    const list = children.get(key);
    if (list) list.push(s);
    else children.set(key, [s]);
  }
  const hasClientAncestor = (s: Span): boolean => {
    let cur = s.parentId ? byId.get(`${s.traceId}/${s.parentId}`) : undefined;
    for (let depth = 0; cur && depth < 256; depth++) {
      if (cur.kind === 'client') return true;
      cur = cur.parentId ? byId.get(`${cur.traceId}/${cur.parentId}`) : undefined;
    }
    return false;
  };

  const requests: RequestTrace[] = [];
  for (const server of spans) {
    if (server.kind !== 'server' || server.attributes[ABORTED_ATTRIBUTE] === true || hasClientAncestor(server)) continue;
    // Walk the subtree; stop at nested server spans (another request, e.g. an in-process upstream).
    const descendants: Span[] = [];
    const stack = [...(children.get(`${server.traceId}/${server.spanId}`) ?? [])];
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (s.kind === 'server') continue;
      descendants.push(s);
      stack.push(...(children.get(`${s.traceId}/${s.spanId}`) ?? []));
    }
    descendants.sort((x, y) => x.startMs - y.startMs);
    const { route, target } = routeOf(server, descendants);

    const queries: DbQuery[] = [];
    const connects: Span[] = [];
    const poolWaits: PoolWait[] = [];
    const calls: HttpCall[] = [];
    const inside = (s: Span, pred: (p: Span) => boolean): boolean => {
      let cur = s.parentId ? byId.get(`${s.traceId}/${s.parentId}`) : undefined;
      while (cur && cur !== server) {
        if (pred(cur)) return true;
        cur = cur.parentId ? byId.get(`${cur.traceId}/${cur.parentId}`) : undefined;
      }
      return false;
    };
    for (const s of descendants) {
      if (isPoolConnect(s)) {
        const opened = (children.get(`${s.traceId}/${s.spanId}`) ?? []).filter(isDbConnect);
        const openedMs = opened.reduce((sum, c) => sum + (c.endMs - c.startMs), 0);
        poolWaits.push({ span: s, waitMs: Math.max(0, s.endMs - s.startMs - openedMs), opened: opened.length > 0 });
        continue;
      }
      if (isDbConnect(s)) {
        if (!inside(s, isPoolConnect)) connects.push(s);
        continue;
      }
      const q = dbQueryOf(s);
      if (q) {
        queries.push(q);
        continue;
      }
      const call = httpCallOf(s);
      if (call && !inside(s, (p) => httpCallOf(p) !== null)) calls.push(call);
    }
    requests.push({
      span: server,
      traceId: server.traceId,
      route,
      target,
      startMs: server.startMs,
      endMs: server.endMs,
      durationMs: server.endMs - server.startMs,
      queries,
      connects,
      poolWaits,
      calls,
    });
  }
  requests.sort((a, b) => a.startMs - b.startMs);
  return requests;
}
