/**
 * Requests from spans: one `RequestTrace` per incoming request (a server span and what ran beneath it), with the
 * operations the figures and the rules care about already classified — database queries, connections, pool
 * checkouts, outgoing HTTP calls.
 *
 * Classification is by OpenTelemetry semantic conventions only (old and stable attribute names both), never by
 * anything looplens-specific, so any app profiled with looplens — or any OTLP export — reads the same way. Pure; the
 * evidence (./evidence.ts) builds these once per run and adds what the blocks say (phase, waiting, own blocks).
 */
import { ABORTED_ATTRIBUTE, type AttrValue, type Span } from '../../profiles/contract/index.js';
import { requestRoute, templatePath } from './routes.js';
import { isReadStatement, normaliseSql } from './sql.js';

/** What ran beneath a request while the loop was blocked by others: see ./evidence.ts (victim correction). */
export interface Waiting {
  /** ms of the span's lifetime in which the loop was blocked by other requests' work (or work of no request). */
  waitedMs: number;
  /** Its duration with that waiting taken out (./evidence.ts ownDurations): what the operation itself took. */
  ownMs: number;
}

export interface DbQuery extends Waiting {
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

export interface HttpCall extends Waiting {
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
  /** "<METHOD> <route template>": the one route key of every figure (./routes.ts). */
  route: string;
  /** The template was inferred from the path (no framework named one). */
  routeInferred: boolean;
  /** Path and query as requested ("/users/7/timeline?limit=20"), when recorded. */
  target: string | null;
  startMs: number;
  /** When the response was sent: the server span's end. */
  endMs: number;
  durationMs: number;
  /** Database queries (outermost spans only: a query builder's span around the driver's counts once), in start order. */
  queries: DbQuery[];
  /** Database connections opened directly by the request (not by a pool). */
  connects: Span[];
  poolWaits: PoolWait[];
  /** Outgoing HTTP calls (outermost client spans only), in start order. */
  calls: HttpCall[];
}

// ---------------------------------------------------------------------------------------------------------------
// Classification (semantic conventions, old and stable names)

export function str(attrs: Record<string, AttrValue>, ...keys: string[]): string | null {
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
  const ms = span.endMs - span.startMs;
  return { span, system, statement, shape: normaliseSql(statement), values, read: isReadStatement(statement), waitedMs: 0, ownMs: ms };
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
    waitedMs: 0,
    ownMs: span.endMs - span.startMs,
  };
}

/** 127.0.0.0/8, ::1 and localhost: the machine itself, where ports are usually picked at start. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1';
}

/** Status code of an HTTP span (server or client), 0 when not recorded. */
export function httpStatus(span: Span): number {
  return Number(str(span.attributes, 'http.response.status_code', 'http.status_code') ?? 0) || 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

/**
 * Groups spans into requests. A request is a SERVER span with no CLIENT span among its ancestors — so a stand-in
 * upstream served by the same process (its server span sits under our client call) is not counted as a request —
 * and whose response was not abandoned (ABORTED_ATTRIBUTE: the client went away before the answer).
 */
export function buildRequests(spans: readonly Span[]): RequestTrace[] {
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
  const parentOf = (s: Span): Span | undefined => (s.parentId ? byId.get(`${s.traceId}/${s.parentId}`) : undefined);
  const hasClientAncestor = (s: Span): boolean => {
    let cur = parentOf(s);
    for (let depth = 0; cur && depth < 256; depth++) {
      if (cur.kind === 'client') return true;
      cur = parentOf(cur);
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
    const { route, inferred, target } = requestRoute(server, descendants);

    const queries: DbQuery[] = [];
    const connects: Span[] = [];
    const poolWaits: PoolWait[] = [];
    const calls: HttpCall[] = [];
    const inside = (s: Span, pred: (p: Span) => boolean): boolean => {
      for (let cur = parentOf(s); cur && cur !== server; cur = parentOf(cur)) if (pred(cur)) return true;
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
        // an ORM's or query builder's span (knex, TypeORM…) around the driver's own (pg): one query, the outermost
        if (!inside(s, (p) => dbQueryOf(p) !== null)) queries.push(q);
        continue;
      }
      const call = httpCallOf(s);
      if (call && !inside(s, (p) => httpCallOf(p) !== null)) calls.push(call);
    }
    requests.push({
      span: server,
      traceId: server.traceId,
      route,
      routeInferred: inferred,
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
