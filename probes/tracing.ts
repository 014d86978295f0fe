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
import type { Block } from './blocking/detector.js';
import type { OwnerModel, ResolvedBlock } from './owners.js';
import { otlpToJaeger, type OtlpTraces } from './traces/jaeger.js';

export const BLOCKED_EVENT = 'looplens.eventloop.blocked';
export const WAITED_ATTRIBUTE = 'looplens.eventloop.waited_ms';

const kRoot = Symbol('looplens.root');
const kWaited = Symbol('looplens.waited');
const kBlocked = Symbol('looplens.blocked');
type Tracked = Span & { [kRoot]?: Tracked; [kWaited]?: number; [kBlocked]?: boolean };

/**
 * Instrumentations the lab needs; everything else (fs, dns, net, …) only costs. "fastify" (@fastify/otel) is an
 * extra: without it the route still comes from Fastify's diagnostics channel.
 */
const LAB_INSTRUMENTATIONS = ['http', 'pg', 'ioredis', 'undici'];
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
  const names = new Set([...LAB_INSTRUMENTATIONS, ...extra, ...fromEnv, ...metrics]);
  names.delete('fastify');
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
    if (Class) list.push(new Class(name === 'http' ? HTTP_CONFIG : {}));
  }
  return list;
}

/** No request or response headers become attributes (authorization and cookie never do). */
const HTTP_CONFIG = { headersToSpanAttributes: { server: { requestHeaders: [], responseHeaders: [] }, client: { requestHeaders: [], responseHeaders: [] } } };

function removeSecrets(attributes: Record<string, unknown>): void {
  for (const key of Object.keys(attributes)) if (SECRET_KEY.test(key)) delete attributes[key];
}

function hrTime(epochMs: number): [number, number] {
  const s = Math.floor(epochMs / 1000);
  return [s, Math.round((epochMs - s * 1000) * 1e6)];
}

export interface Tracing extends OwnerModel {
  /** Adds the blocked-loop events (with stacks) to the recorded spans and writes both trace files. */
  writeFiles(blocks: ResolvedBlock[], otlpPath: string, jaegerPath: string, write: (path: string, text: string) => void): void;
  /** Live export only: flush what is batched, bounded in time. */
  flushLive(timeoutMs: number): Promise<void>;
}

export function startTracing(config: ProbeConfig): Tracing {
  const contextManager = new LooplensContextManager();
  const inflightRoots = new Set<Tracked>();
  const recorded: ReadableSpan[] = [];
  let dropped = 0;
  const liveEvents = new Map<Block, { attributes?: Record<string, unknown> }>();

  const registry: SpanProcessor = {
    onStart(span, parentContext) {
      const s = span as Tracked;
      const parent = trace.getSpan(parentContext) as Tracked | undefined;
      const root = parent?.[kRoot];
      if (root && parent.spanContext().traceId === s.spanContext().traceId) s[kRoot] = root;
      else {
        s[kRoot] = s;
        inflightRoots.add(s);
      }
    },
    onEnd(span) {
      const s = span as unknown as Tracked;
      if (s[kRoot] === s) inflightRoots.delete(s);
      removeSecrets(span.attributes as Record<string, unknown>);
      for (const e of span.events) if (e.attributes) removeSecrets(e.attributes as Record<string, unknown>);
      // Bounded memory: past the cap, keep only traces that blocked the loop.
      if (recorded.length < config.maxSpans || (s[kRoot]?.[kBlocked] && recorded.length < 2 * config.maxSpans)) {
        recorded.push(span);
      } else dropped++;
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
      if (!span) return;
      const root = rootOf(span) as Tracked;
      root[kBlocked] = true;
      if (typeof span.isRecording === 'function' && span.isRecording()) {
        span.addEvent(BLOCKED_EVENT, { duration_ms: round(block.busyMs) }, hrTime(performance.timeOrigin + block.start));
        liveEvents.set(block, span.events[span.events.length - 1] as { attributes?: Record<string, unknown> });
      }
      for (const other of inflightRoots) {
        if (other === root) continue;
        const waited = (other[kWaited] ?? 0) + block.busyMs;
        other[kWaited] = waited;
        other.setAttribute(WAITED_ATTRIBUTE, round(waited));
      }
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
        const attributes = { duration_ms: round(b.block.busyMs), top_frame: b.topFrame, stack: b.stack };
        const existing = liveEvents.get(b.block);
        if (existing) existing.attributes = attributes;
        else {
          (span.events as unknown as object[]).push({
            name: BLOCKED_EVENT,
            attributes,
            time: hrTime(performance.timeOrigin + b.block.start),
            droppedAttributesCount: 0,
          });
        }
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
