/**
 * Builds synthetic span sets for rule tests: requests with their queries, connects and outgoing calls, using the
 * attribute names the real instrumentations write (instrumentation-http, -undici, -pg). Times are ms relative to
 * each request's start. Also renders the set as OTLP JSON and Jaeger JSON to test the readers.
 */
import type { AttrValue, BlockingEvent, BlockingFile, JaegerFile, LoadFile, Span, SpanKind, StackFrame, Summary } from '../../profiles/contract/index.js';
import { buildEvidence, type Evidence } from '../../scripts/analysis/evidence.js';

export const T0 = 1_760_000_000_000;

let ids = 0;
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

export class RequestBuilder {
  readonly server: Span;
  constructor(
    private readonly spans: Span[],
    readonly traceId: string,
    method: string,
    route: string,
    start: number,
    duration: number,
    target: string,
  ) {
    this.server = this.add(null, `${method} ${route}`, 'server', 0, duration, {
      'http.request.method': method,
      'http.route': route,
      'url.path': target.split('?')[0]!,
      ...(target.includes('?') ? { 'url.query': target.slice(target.indexOf('?') + 1) } : {}),
      'http.response.status_code': 200,
    }, start);
  }

  private add(parent: Span | null, name: string, kind: SpanKind, at: number, duration: number, attributes: Record<string, AttrValue>, origin?: number): Span {
    const base = origin ?? this.server.startMs;
    const span: Span = {
      traceId: this.traceId,
      spanId: hex(++ids, 16),
      parentId: parent ? parent.spanId : null,
      name,
      kind,
      startMs: base + at,
      endMs: base + at + duration,
      attributes,
      events: [],
      error: false,
      service: 'test',
      pid: null,
    };
    this.spans.push(span);
    return span;
  }

  /** A pg query span (instrumentation-pg attribute names). */
  query(statement: string, at: number, duration: number, opts: { values?: string[]; parent?: Span; system?: string } = {}): Span {
    return this.add(opts.parent ?? this.server, `pg.query:${statement.split(' ')[0]!.toUpperCase()} looplens`, 'client', at, duration, {
      'db.system.name': opts.system ?? 'postgresql',
      'db.namespace': 'looplens',
      'db.query.text': statement,
      ...(opts.values ? { 'db.postgresql.values': opts.values } : {}),
    });
  }

  connect(at: number, duration: number, parent?: Span): Span {
    return this.add(parent ?? this.server, 'pg.connect', 'client', at, duration, { 'db.system.name': 'postgresql' });
  }

  /** A pg-pool checkout; `opened` ms of it spent opening a new connection (a child pg.connect). */
  poolConnect(at: number, duration: number, opened = 0): Span {
    const span = this.add(this.server, 'pg-pool.connect', 'client', at, duration, { 'db.system.name': 'postgresql', 'db.postgresql.max.client': 10 });
    if (opened > 0) this.connect(at + duration - opened, opened, span);
    return span;
  }

  /** An outgoing fetch (instrumentation-undici attribute names). */
  call(method: string, url: string, at: number, duration: number, status = 200): Span {
    const u = new URL(url);
    return this.add(this.server, method, 'client', at, duration, {
      'http.request.method': method,
      'url.full': url,
      'url.path': u.pathname,
      'server.address': u.hostname,
      'server.port': Number(u.port),
      'http.response.status_code': status,
    });
  }

  internal(name: string, at: number, duration: number, attributes: Record<string, AttrValue> = {}): Span {
    return this.add(this.server, name, 'internal', at, duration, attributes);
  }
}

export class TraceBuilder {
  readonly spans: Span[] = [];
  private traces = 0;

  /** One request; `start` is ms after T0. */
  request(method: string, route: string, start: number, duration: number, fill: (r: RequestBuilder) => void = () => {}, target?: string): RequestBuilder {
    const traceId = hex(++this.traces, 32);
    const r = new RequestBuilder(this.spans, traceId, method, route, T0 + start, duration, target ?? route.replace(/:\w+/g, '1'));
    fill(r);
    return r;
  }

  /** `n` requests of a route, `every` ms apart. */
  requests(n: number, method: string, route: string, every: number, duration: number, fill: (r: RequestBuilder, i: number) => void = () => {}, target?: (i: number) => string): RequestBuilder[] {
    return Array.from({ length: n }, (_, i) => this.request(method, route, i * every, duration, (r) => fill(r, i), target?.(i)));
  }

  /**
   * The evidence of these spans (a run without a recorded window: every request counts), with the blocks and, when
   * given, the load generator's figures of a summary (its routes and request counts).
   */
  input(extra: { blocking?: BlockingFile | null; summary?: Summary | null } = {}): Evidence {
    const load: LoadFile | null = extra.summary
      ? {
          overall: extra.summary.overall,
          routes: Object.fromEntries(Object.entries(extra.summary.routes).map(([k, r]) => [k, { ...r, method: k.split(' ')[0]!, paths: [] }])),
        }
      : null;
    return buildEvidence({ info: null, load, blocking: extra.blocking ?? null, traces: { spans: this.spans, source: 'traces.otlp.json', droppedSpans: null }, eventLoop: [] });
  }

  toOtlp(): unknown {
    const kinds: SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
    const value = (v: AttrValue): object =>
      Array.isArray(v)
        ? { arrayValue: { values: v.map((x) => value(x)) } }
        : typeof v === 'string'
          ? { stringValue: v }
          : typeof v === 'boolean'
            ? { boolValue: v }
            : Number.isInteger(v)
              ? { intValue: String(v) }
              : { doubleValue: v };
    const nanos = (ms: number) => (BigInt(Math.round(ms * 1000)) * 1000n).toString();
    return {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'test' } }] },
          scopeSpans: [
            {
              scope: { name: 'test' },
              spans: this.spans.map((s) => ({
                traceId: s.traceId,
                spanId: s.spanId,
                ...(s.parentId ? { parentSpanId: s.parentId } : {}),
                name: s.name,
                kind: kinds.indexOf(s.kind),
                startTimeUnixNano: nanos(s.startMs),
                endTimeUnixNano: nanos(s.endMs),
                attributes: Object.entries(s.attributes).map(([key, v]) => ({ key, value: value(v) })),
                events: [],
                status: { code: 0 },
              })),
            },
          ],
        },
      ],
    };
  }

  toJaeger(): JaegerFile {
    const byTrace = new Map<string, Span[]>();
    for (const s of this.spans) byTrace.set(s.traceId, [...(byTrace.get(s.traceId) ?? []), s]);
    return {
      data: [...byTrace].map(([traceID, spans]) => ({
        traceID,
        processes: { p1: { serviceName: 'test', tags: [] } },
        spans: spans.map((s) => ({
          traceID,
          spanID: s.spanId,
          operationName: s.name,
          references: s.parentId ? [{ refType: 'CHILD_OF' as const, traceID, spanID: s.parentId }] : [],
          startTime: Math.round(s.startMs * 1000),
          duration: Math.round((s.endMs - s.startMs) * 1000),
          tags: [
            { key: 'span.kind', type: 'string' as const, value: s.kind },
            ...Object.entries(s.attributes).map(([key, v]) => ({
              key,
              type: (typeof v === 'number' ? (Number.isInteger(v) ? 'int64' : 'float64') : typeof v === 'boolean' ? 'bool' : 'string') as 'string',
              value: Array.isArray(v) ? JSON.stringify(v) : v,
            })),
          ],
          logs: [],
          processID: 'p1',
        })),
      })),
    };
  }
}

export function blockingEvent(
  route: string | null,
  topFrame: string,
  durationMs: number,
  frames: { functionName: string; url: string; lineNumber?: number; original?: StackFrame['original'] }[] = [],
  startMs = T0,
): BlockingEvent {
  return {
    startMs,
    durationMs,
    route,
    traceId: null,
    spanId: null,
    topFrame,
    frames: frames.map((f) => ({ functionName: f.functionName, url: f.url, lineNumber: f.lineNumber ?? 1, columnNumber: 1, ...(f.original ? { original: f.original } : {}) })),
  };
}

export function summaryWith(routes: Record<string, number>): Summary {
  const stats = (requests: number) => ({ requests, rps: requests / 10, latencyMs: { p50: 1, p90: 1, p95: 1, p99: 1, max: 1 }, non2xx: 0, errors: 0 });
  const total = Object.values(routes).reduce((a, b) => a + b, 0);
  return {
    overall: stats(total),
    routes: Object.fromEntries(Object.entries(routes).map(([k, n]) => [k, stats(n)])),
    eventLoop: { delayMs: { p50: 1, p99: 1, max: 1 }, utilization: 0.5 },
    blocking: { count: 0, totalMs: 0, msPerRequest: 0 },
  };
}
