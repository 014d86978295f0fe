/**
 * OpenTelemetry side of the probes: NodeSDK with the instrumentations the lab needs, a context manager that tells
 * the blocking detector when the active span changes, a registry of in-flight requests (for waited_ms), and an
 * in-memory collector that writes traces.otlp.json and traces.jaeger.json at shutdown. Loaded only when
 * LOOPLENS_TRACING is on.
 */
import { context, trace, SpanKind, type Context } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import dc from 'node:diagnostics_channel';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, type ReadableSpan, type Span, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { createRequire } from 'node:module';
import type { ProbeConfig } from './config.js';
import type { OwnerModel, RecordedBlock, ResolvedBlock } from './owners.js';
import { otlpToJaeger } from '../profiles/contract/jaeger.js';
import type { OtlpTraces } from '../profiles/contract/otlp.js';
import { ABORTED_ATTRIBUTE, BLOCKED_EVENT, BLOCKED_EVENT_FIELDS as F, WAITED_ATTRIBUTE, waitedMs, type BlockExtent } from '../profiles/contract/semconv.js';

const kRoot = Symbol('looplens.root');
const kBlocked = Symbol('looplens.blocked');
type Tracked = Span & { [kRoot]?: Tracked; [kBlocked]?: boolean };
/** Span starts kept for charging a block nothing timed (see activityIn): a ring. */
const STARTS_KEPT = 4096;

const SECRET_KEY = /authorization|cookie/i;

/** Switches the blocking detector's owner whenever a context is entered or left. */
class LooplensContextManager extends AsyncLocalStorageContextManager {
  onSwitch: ((owner: object | null) => object | null) | null = null;

  override with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const onSwitch = this.onSwitch;
    if (onSwitch === null) return super.with(ctx, fn, thisArg, ...args);
    const previous = onSwitch((trace.getSpan(ctx) as object | undefined) ?? null);
    try {
      return super.with(ctx, fn, thisArg, ...args);
    } finally {
      onSwitch(previous);
    }
  }
}

/**
 * Only the instrumentations asked for are loaded (requiring all of auto-instrumentations-node costs ~0.4 s of start-up).
 * They are the packages auto-instrumentations-node depends on, resolved from it.
 */
function loadInstrumentations(config: ProbeConfig): Instrumentation[] {
  const localRequire = createRequire(import.meta.url);
  const autoPath = localRequire.resolve('@opentelemetry/auto-instrumentations-node');
  const extra = new Set(config.extraInstrumentations);
  const fromEnv = (process.env.OTEL_NODE_ENABLED_INSTRUMENTATIONS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  // Runtime metrics (nodejs.eventloop.delay.*, nodejs.eventloop.utilization, …) go out over OTLP with the traces.
  const metrics = config.otlpEndpoint ? ['runtime-node'] : [];
  if (extra.has('all')) {
    // Everything on, as plain auto-instrumentation would be with fs added: for comparison runs.
    const auto = localRequire(autoPath) as typeof import('@opentelemetry/auto-instrumentations-node');
    const config: Record<string, { enabled: boolean }> = { '@opentelemetry/instrumentation-fs': { enabled: true } };
    if (!metrics.length) config['@opentelemetry/instrumentation-runtime-node'] = { enabled: false };
    return auto.getNodeAutoInstrumentations(config);
  }
  const fromAuto = createRequire(autoPath);
  // "-name" turns a default instrumentation off (e.g. "-express,-knex": an app that patches them itself, or a cost figure)
  const off = new Set([...extra].filter((n) => n.startsWith('-')).map((n) => n.slice(1)));
  const asked = new Set([...extra, ...fromEnv, ...metrics].filter((n) => !n.startsWith('-')));
  const names = new Set([...Object.keys(DEFAULT_INSTRUMENTATIONS), ...asked]);
  names.delete('fastify');
  for (const name of off) names.delete(name);
  const list: Instrumentation[] = [];
  for (const name of names) {
    let mod: Record<string, unknown>;
    try {
      mod = fromAuto(`@opentelemetry/instrumentation-${name}`) as Record<string, unknown>;
    } catch {
      process.emitWarning(`looplens probes: unknown OpenTelemetry instrumentation "${name}"`, { code: 'LOOPLENS_UNKNOWN_INSTRUMENTATION' });
      continue;
    }
    const Class = Object.entries(mod).find(([key]) => key.endsWith('Instrumentation'))?.[1] as (new (c?: object) => Instrumentation) | undefined;
    // asked for by name: its full spans (http and undici keep looplens' own configuration)
    const options = name === 'http' ? HTTP_CONFIG : name === 'undici' ? UNDICI_CONFIG : asked.has(name) ? {} : (DEFAULT_INSTRUMENTATIONS[name] ?? {});
    if (Class) list.push(new Class(options));
  }
  return list;
}

/**
 * No request or response headers become attributes (authorization and cookie never do). A server span whose
 * response never finished (the client went away) is marked ABORTED_ATTRIBUTE: the http instrumentation ends it on
 * the response's 'close' like any other, and readers leave it out. (The hook also runs for client spans, whose
 * response is an IncomingMessage without writableFinished.)
 */
const HTTP_CONFIG = {
  headersToSpanAttributes: { server: { requestHeaders: [], responseHeaders: [] }, client: { requestHeaders: [], responseHeaders: [] } },
  applyCustomAttributesOnSpan(span: { setAttribute(k: string, v: boolean): unknown }, _request: unknown, response: { writableFinished?: unknown }) {
    if (response.writableFinished === false) span.setAttribute(ABORTED_ATTRIBUTE, true);
  },
  /** An outgoing request's span is named by its target ("POST /images"), not by its method alone (see clientSpanName). */
  requestHook(span: { updateName(name: string): unknown }, request: { method?: unknown; path?: unknown }) {
    // a ClientRequest has a path; the server's IncomingMessage has a url instead (its span is named by the route)
    if (typeof request.path === 'string') span.updateName(clientSpanName(request.method, request.path));
  },
};

/**
 * An outgoing HTTP span's name: "<METHOD> <path>", the query string left out — the target the semantic conventions
 * allow in a client span's name where no URL template is known (instrumentation-http and -undici name it by the
 * method only, so every call read "POST", in Jaeger too).
 */
export function clientSpanName(method: unknown, path: string): string {
  const m = typeof method === 'string' && method ? method.toUpperCase() : 'GET';
  return `${m} ${path.split('?')[0] || '/'}`;
}

/** fetch() calls (undici): named like the http module's (HTTP_CONFIG.requestHook). */
const UNDICI_CONFIG = {
  requestHook(span: { updateName(name: string): unknown }, request: { method?: unknown; path?: unknown }) {
    if (typeof request.path === 'string') span.updateName(clientSpanName(request.method, request.path));
  },
};

/**
 * On by default, with the configuration each runs in: what every view of a run needs — the request (http), its
 * queries (pg, mysql2, and knex's own spans, which keep a query in its request's trace where knex's promises lose the
 * async context), its cache lookups (ioredis), its calls (undici), and the route template of the common frameworks.
 * An instrumentation patches a module only if the app loads it: for an app that loads none of these frameworks or
 * drivers, the cost is loading the instrumentations at start-up (~15 ms for the seven beyond the lab's four, measured
 * on this machine). The framework ones run in route-only mode where they can: the template reaches the server span
 * (`http.route`, name "GET /users/:id"), with no span per middleware — Express ignores every layer type (it still
 * sets the route), Koa keeps its router layer's span (its route is set there); Hapi, Restify and Nest add one span a
 * request. Everything else (fs, dns, net, …) only costs. Fastify's route comes from its own diagnostics channel at no
 * span; "fastify" (@fastify/otel) is an extra. Naming a framework in LOOPLENS_OTEL_INSTRUMENTATIONS turns on its full
 * spans (a span per middleware, layer or hook).
 */
const DEFAULT_INSTRUMENTATIONS: Record<string, object> = {
  http: HTTP_CONFIG,
  pg: {},
  mysql2: {},
  knex: {},
  ioredis: {},
  undici: UNDICI_CONFIG,
  express: { ignoreLayersType: ['middleware', 'router', 'request_handler'] },
  koa: { ignoreLayersType: ['middleware'] },
  hapi: {},
  restify: {},
  'nestjs-core': {},
};

function removeSecrets(attributes: Record<string, unknown>): void {
  for (const key of Object.keys(attributes)) if (SECRET_KEY.test(key)) delete attributes[key];
}

function hrTime(epochMs: number): [number, number] {
  const s = Math.floor(epochMs / 1000);
  return [s, Math.round((epochMs - s * 1000) * 1e6)];
}

const epochMs = (t: readonly [number, number]): number => t[0] * 1000 + t[1] / 1e6;

/** An event's time inside its span (the Jaeger UI hides one stamped before the span's start). */
function insideSpan(span: ReadableSpan, atMs: number): [number, number] {
  const start = epochMs(span.startTime);
  const end = span.ended ? epochMs(span.endTime) : Infinity;
  return hrTime(Math.min(end, Math.max(start, atMs)));
}

export interface Tracing extends OwnerModel {
  /** Adds the blocked-loop events (with stacks) to the recorded spans and writes both trace files. */
  writeFiles(blocks: ResolvedBlock[], otlpPath: string, jaegerPath: string, write: (path: string, text: string) => void): void;
  /** Live export only: flush what is batched, bounded in time. */
  flushLive(timeoutMs: number): Promise<void>;
}

export function startTracing(config: ProbeConfig): Tracing {
  const contextManager = new LooplensContextManager();
  let recorded: ReadableSpan[] = [];
  let dropped = 0;
  /**
   * Bounded memory that still covers the whole run: past the cap, one trace in `stride` is kept, chosen by its id
   * (random, so every part of the run keeps its share — keeping the first spans only left a fast app's measured
   * window with none), and each doubling of the stride drops the kept spans of the traces it no longer keeps. Traces
   * that blocked the loop are kept whatever their id, up to twice the cap.
   */
  let stride = 1;
  const keeps = (s: Tracked) => stride === 1 || s[kRoot]?.[kBlocked] === true || parseInt(s.spanContext().traceId.slice(-8), 16) % stride === 0;
  const liveEvents = new Map<RecordedBlock, { attributes?: Record<string, unknown> }>();
  /** Every block so far, for WAITED_ATTRIBUTE (semconv waitedMs), in start order. */
  const extents: BlockExtent[] = [];
  const starts = { t: new Float64Array(STARTS_KEPT), span: new Array<Tracked | undefined>(STARTS_KEPT), next: 0 };

  const registry: SpanProcessor = {
    onStart(span, parentContext) {
      const s = span as Tracked;
      const parent = trace.getSpan(parentContext) as Tracked | undefined;
      const root = parent?.[kRoot];
      if (root && parent.spanContext().traceId === s.spanContext().traceId) s[kRoot] = root;
      else s[kRoot] = s;
      const i = starts.next++ % STARTS_KEPT;
      starts.t[i] = performance.now();
      starts.span[i] = s;
    },
    onEnding(span) {
      // Live export sends the span as it ends: what other requests' blocks cost it so far (files get the final
      // figure, with the blocks found only at exit, in writeFiles).
      const s = span as Tracked;
      if (s[kRoot] !== s || extents.length === 0) return;
      const waited = waitedMs(epochMs(s.startTime), Date.now(), extents, s.spanContext().traceId);
      if (waited > 0) s.setAttribute(WAITED_ATTRIBUTE, round(waited));
    },
    onEnd(span) {
      const s = span as unknown as Tracked;
      removeSecrets(span.attributes as Record<string, unknown>);
      for (const e of span.events) if (e.attributes) removeSecrets(e.attributes as Record<string, unknown>);
      if (!keeps(s) || recorded.length >= 2 * config.maxSpans) {
        dropped++;
        return;
      }
      recorded.push(span);
      while (recorded.length > config.maxSpans && stride < 1 << 20) {
        stride *= 2;
        const before = recorded.length;
        recorded = recorded.filter((r) => keeps(r as unknown as Tracked));
        dropped += before - recorded.length;
        if (recorded.length === before) break; // only blocked traces left: kept up to twice the cap
      }
    },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };

  const instrumentations = loadInstrumentations(config);
  const extra = new Set(config.extraInstrumentations);
  if (extra.has('fastify') || extra.has('all')) {
    // Spans per request, per hook and per handler: detailed, and costly (two more spans a request).
    instrumentations.push(new FastifyOtelInstrumentation({ registerOnInitialization: true }) as unknown as Instrumentation);
  } else {
    // The route is all the lab needs from Fastify: its own diagnostics channel gives it, and the HTTP instrumentation
    // then names the server span "<METHOD> <route>" and sets http.route.
    dc.subscribe('tracing:fastify.request.handler:start', (message) => {
      const route = (message as { route?: { url?: string } }).route?.url;
      const rpc = getRPCMetadata(context.active());
      if (route && rpc?.type === RPCType.HTTP) rpc.route = route;
    });
  }

  const spanProcessors: SpanProcessor[] = [registry];
  let live: BatchSpanProcessor | null = null;
  if (config.otlpEndpoint) spanProcessors.push((live = new BatchSpanProcessor(new OTLPTraceExporter())));
  const sdk = new NodeSDK({
    serviceName: config.serviceName,
    contextManager,
    spanProcessors,
    // With an endpoint, NodeSDK builds the OTLP metric reader from the OTEL_* variables; without one, no metrics.
    ...(config.otlpEndpoint ? {} : { metricReaders: [] }),
    logRecordProcessors: [],
    instrumentations,
  });
  sdk.start();

  const rootOf = (owner: object): object => (owner as Tracked)[kRoot] ?? owner;

  const attr = (s: Tracked | undefined, key: string): string | undefined => {
    const v = s?.attributes?.[key];
    return v === undefined || v === null ? undefined : String(v);
  };

  return {
    currentOwner: () => (trace.getSpan(contextManager.active()) as object | undefined) ?? null,
    rootOf,
    attach(detector) {
      contextManager.onSwitch = (owner) => detector.switchTo(owner);
    },
    onBlock(block) {
      const span = block.owner as Tracked | null;
      extents.push({ startMs: block.startEpochMs, durationMs: block.busyMs, traceId: span ? span.spanContext().traceId : null });
      if (!span) return;
      const root = rootOf(span) as Tracked;
      root[kBlocked] = true;
      if (typeof span.isRecording === 'function' && span.isRecording()) {
        span.addEvent(BLOCKED_EVENT, { [F.durationMs]: round(block.busyMs), [F.blockId]: block.id }, insideSpan(span as unknown as ReadableSpan, block.startEpochMs));
        liveEvents.set(block, span.events[span.events.length - 1] as { attributes?: Record<string, unknown> });
      }
    },
    activityIn(from, to) {
      const found: object[] = [];
      for (let k = Math.max(0, starts.next - STARTS_KEPT); k < starts.next; k++) {
        const i = k % STARTS_KEPT;
        const span = starts.span[i];
        if (span && starts.t[i]! >= from && starts.t[i]! <= to) found.push(span);
      }
      return found;
    },
    describe(owner) {
      const span = owner as Tracked;
      if (typeof span.spanContext !== 'function') return { route: null, traceId: null, spanId: null };
      const root = span[kRoot] ?? span;
      const { traceId, spanId } = span.spanContext();
      const method = attr(root, 'http.request.method') ?? attr(root, 'http.method');
      const path = (attr(root, 'url.path') ?? attr(root, 'http.target'))?.split('?')[0];
      const route = attr(span, 'http.route') ?? attr(root, 'http.route') ?? path;
      const isServer = root.kind === SpanKind.SERVER;
      return { route: isServer && method && route ? `${method} ${route}` : null, traceId, spanId };
    },
    writeFiles(blocks, otlpPath, jaegerPath, write) {
      const ended = new Set<unknown>(recorded);
      for (const b of blocks) {
        const span = b.block.owner as Tracked | null;
        if (!span || !ended.has(span)) continue;
        const attributes = { [F.durationMs]: round(b.block.busyMs), [F.topFrame]: b.topFrame, [F.stack]: b.stack, [F.blockId]: b.block.id };
        const time = insideSpan(span as unknown as ReadableSpan, b.block.startEpochMs);
        const existing = liveEvents.get(b.block) as { attributes?: Record<string, unknown>; time?: [number, number] } | undefined;
        if (existing) Object.assign(existing, { attributes, time });
        else (span.events as unknown as object[]).push({ name: BLOCKED_EVENT, attributes, time, droppedAttributesCount: 0 });
      }
      // The final WAITED_ATTRIBUTE of every request, the blocks found only now (the one that armed the detector)
      // included: the figure the evidence computes from blocking.json, by the same definition.
      const all = blocks
        .map((b) => ({ startMs: b.block.startEpochMs, durationMs: b.block.busyMs, traceId: b.block.owner ? (b.block.owner as Tracked).spanContext().traceId : null }))
        .sort((x, y) => x.startMs - y.startMs);
      for (const span of recorded) {
        const s = span as unknown as Tracked;
        if (s[kRoot] !== s) continue;
        const waited = waitedMs(epochMs(span.startTime), epochMs(span.endTime), all, span.spanContext().traceId);
        const attributes = span.attributes as Record<string, unknown>;
        if (waited > 0) attributes[WAITED_ATTRIBUTE] = round(waited);
        else delete attributes[WAITED_ATTRIBUTE];
      }
      const text = new TextDecoder().decode(JsonTraceSerializer.serializeRequest(recorded));
      write(otlpPath, text);
      const jaeger = otlpToJaeger(JSON.parse(text) as OtlpTraces);
      if (dropped > 0) jaeger.looplens = { droppedSpans: dropped, maxSpans: config.maxSpans };
      write(jaegerPath, JSON.stringify(jaeger));
    },
    async flushLive(timeoutMs) {
      if (!live) return;
      await Promise.race([live.forceFlush(), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    },
  };
}

const round = (ms: number) => Math.round(ms * 100) / 100;
