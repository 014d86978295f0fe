/**
 * Request identity without a span per request (LOOPLENS_PRESET=production, see probes/README.md "The production
 * preset"). A request gets a small token when Node publishes `http.server.request.start`; AsyncLocalStorage carries it
 * across awaits (entered with `enterWith` inside the channel's subscriber, which runs synchronously in the callback
 * that parsed the request, so the handler and everything it awaits inherit it). On Node 24 AsyncLocalStorage is
 * AsyncContextFrame (V8's continuation-preserved data: no async_hooks at all); on Node 20 and 22 it is an async_hooks
 * init hook — what a hand-written context-switch hook would be too (bench/context-carry.mjs measured both: see
 * BENCHMARKS.md, "Carrying request identity").
 *
 * The token's route is the framework's template when the framework says it — Fastify's handler channel, Express's
 * `req.route` read when the response finishes — else the URL path (the evidence infers templates from paths). The
 * incoming `traceparent` header (W3C) gives the trace id the token's blocks are charged to; no other header, no
 * query string and no body is read. A sampled share of requests (LOOPLENS_TRACE_SAMPLE_RATE) is written as one
 * server span each (`sampledSpans`), with the request's own trace id when one came in, so a block can be looked up
 * in the caller's trace.
 *
 * In a worker thread there is no request: every 'message' listener on a MessagePort (parentPort, or a port the
 * worker was handed, as piscina does) runs inside a work-item token, "message #<n>" and the listener's name.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import dc from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import type { BlockDetector } from './blocking/detector.js';
import type { OwnerIds, OwnerModel } from './owners.js';

/** Request starts kept for charging a block nothing timed (activityIn): a ring. */
const STARTS_KEPT = 4096;
const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-[\da-f]{2}$/;
const ZERO_TRACE = '0'.repeat(32);

export interface RequestToken {
  method: string;
  /** URL path without the query string. */
  path: string;
  /** The framework's template, when one said it. */
  route: string | null;
  /** From the incoming traceparent, or generated for a sampled request; null otherwise. */
  traceId: string | null;
  /** The caller's span (traceparent's parent id), when one came in. */
  parentSpanId: string | null;
  /** This request's own span id: only sampled requests have one. */
  spanId: string | null;
  /** Epoch ms (Date.now() clock) at the request's start. */
  startEpochMs: number;
  /** A work item of a worker thread rather than an HTTP request: "message #12 (onTask)". */
  workItem?: string;
  /** Its span once a sampled request ended (kept for its blocks even after the ring let it go). */
  sampledSpan?: SampledSpan;
}

/** A sampled request, as written to traces.otlp.json and exported live: one server span. */
export interface SampledSpan {
  token: RequestToken;
  endEpochMs: number;
  statusCode: number;
}

export interface IdentityOptions {
  /** Share of requests recorded as a server span (0–1). */
  sampleRate: number;
  /** Sampled spans kept in memory (a ring: the newest survive). */
  maxSpans: number;
  /** Called with each sampled request as it ends (live export). */
  onSampled?(span: SampledSpan): void;
}

export interface RequestIdentity extends OwnerModel {
  /**
   * The sampled requests kept (oldest first) and how many were pushed out of the ring; a sampled request that ran
   * one of `blockOwners` (the blocks being written) is kept in any case, so every block's span is in the file.
   */
  sampledSpans(blockOwners?: Iterable<object | null>): { spans: SampledSpan[]; dropped: number };
  close(): void;
}

/** "<METHOD> <route or path>", the form blocking.json's `route` has. */
export function routeOf(token: RequestToken): string | null {
  if (token.workItem !== undefined) return null;
  return `${token.method} ${token.route ?? token.path}`;
}

/** The trace id and parent span of a W3C traceparent header; null for anything else. */
export function parseTraceparent(header: unknown): { traceId: string; parentSpanId: string } | null {
  if (typeof header !== 'string' || header.length !== 55) return null;
  const m = TRACEPARENT.exec(header);
  if (!m || m[1] === ZERO_TRACE) return null;
  return { traceId: m[1]!, parentSpanId: m[2]! };
}

/**
 * Whether a trace is sampled at `rate`: decided on the trace id (its last 8 hex digits) when there is one, as
 * OpenTelemetry's TraceIdRatioBased sampler does, so every instance of a fleet keeps the same traces; at random otherwise.
 */
export function sampled(traceId: string | null, rate: number): boolean {
  if (rate <= 0) return false;
  if (rate >= 1) return true;
  if (traceId === null) return Math.random() < rate;
  return parseInt(traceId.slice(-8), 16) < rate * 0x100000000;
}

const kToken = Symbol('looplens.request');

interface HttpMessage {
  request?: { method?: string; url?: string; headers?: Record<string, unknown>; route?: { path?: unknown }; baseUrl?: unknown } & {
    [kToken]?: RequestToken;
  };
  response?: { statusCode?: number };
}

export function requestIdentity(options: IdentityOptions): RequestIdentity {
  const als = new AsyncLocalStorage<RequestToken>();
  let detector: BlockDetector | null = null;
  const starts = { t: new Float64Array(STARTS_KEPT), token: new Array<RequestToken | undefined>(STARTS_KEPT), next: 0 };
  const ring: SampledSpan[] = [];
  let ringNext = 0;
  let dropped = 0;

  const onStart = (message: unknown) => {
    const req = (message as HttpMessage).request;
    if (!req) return;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const parent = parseTraceparent(req.headers?.traceparent);
    const token: RequestToken = {
      method: req.method ?? 'GET',
      path: q < 0 ? url : url.slice(0, q),
      route: null,
      traceId: parent?.traceId ?? null,
      parentSpanId: parent?.parentSpanId ?? null,
      spanId: null,
      startEpochMs: Date.now(),
    };
    if (sampled(token.traceId, options.sampleRate)) {
      token.traceId ??= randomBytes(16).toString('hex');
      token.spanId = randomBytes(8).toString('hex');
    }
    req[kToken] = token;
    als.enterWith(token);
    detector?.switchTo(token);
    const i = starts.next++ % STARTS_KEPT;
    starts.t[i] = performance.now();
    starts.token[i] = token;
  };
  const onFastify = (message: unknown) => {
    const route = (message as { route?: { url?: string } }).route?.url;
    const token = als.getStore();
    if (route && token) token.route = route;
  };
  const onFinish = (message: unknown) => {
    const { request: req, response: res } = message as HttpMessage;
    const token = req?.[kToken];
    if (!req || !token) return;
    // Express (4 and 5) leaves the matched route on the request: its template, under the router's mount path
    const path = req.route?.path;
    if (token.route === null && typeof path === 'string') token.route = `${typeof req.baseUrl === 'string' ? req.baseUrl : ''}${path}`;
    if (token.spanId === null) return;
    const span: SampledSpan = { token, endEpochMs: Date.now(), statusCode: res?.statusCode ?? 0 };
    token.sampledSpan = span;
    if (ring.length < options.maxSpans) ring.push(span);
    else if (options.maxSpans > 0) {
      ring[ringNext] = span;
      ringNext = (ringNext + 1) % options.maxSpans;
      dropped++;
    } else dropped++;
    options.onSampled?.(span);
  };

  dc.subscribe('http.server.request.start', onStart);
  dc.subscribe('http.server.response.finish', onFinish);
  dc.subscribe('tracing:fastify.request.handler:start', onFastify);
  return {
    currentOwner: () => als.getStore() ?? null,
    rootOf: (owner) => owner,
    attach(d) {
      detector = d;
    },
    activityIn(from, to) {
      const found: object[] = [];
      for (let k = Math.max(0, starts.next - STARTS_KEPT); k < starts.next; k++) {
        const i = k % STARTS_KEPT;
        const token = starts.token[i];
        if (token && starts.t[i]! >= from && starts.t[i]! <= to) found.push(token);
      }
      return found;
    },
    describe(owner): OwnerIds {
      const token = owner as RequestToken;
      if (typeof token.startEpochMs !== 'number') return { route: null, traceId: null, spanId: null };
      return { route: routeOf(token), traceId: token.traceId, spanId: token.spanId };
    },
    sampledSpans(blockOwners = []) {
      const spans = [...ring.slice(ringNext), ...ring.slice(0, ringNext)];
      const kept = new Set(spans);
      for (const owner of blockOwners) {
        const span = (owner as RequestToken | null)?.sampledSpan;
        if (span && !kept.has(span)) {
          kept.add(span);
          spans.push(span);
        }
      }
      return { spans, dropped };
    },
    close() {
      dc.unsubscribe('http.server.request.start', onStart);
      dc.unsubscribe('http.server.response.finish', onFinish);
      dc.unsubscribe('tracing:fastify.request.handler:start', onFastify);
    },
  };
}

/**
 * Worker threads: each 'message' listener added to a MessagePort runs inside a work-item token (the port's
 * prototype is patched once, for listeners added after the probes start — a preload starts first).
 */
export function workItemIdentity(MessagePortClass: { prototype: object }): OwnerModel & { close(): void } {
  const als = new AsyncLocalStorage<RequestToken>();
  let detector: BlockDetector | null = null;
  let n = 0;
  const proto = MessagePortClass.prototype as Record<string, unknown>;
  const originals = new Map<string, unknown>();
  const wrapped = new WeakMap<object, (...args: unknown[]) => unknown>();
  for (const name of ['on', 'addListener', 'once', 'prependListener']) {
    const original = proto[name] as ((this: unknown, event: unknown, listener: unknown) => unknown) | undefined;
    if (typeof original !== 'function') continue;
    originals.set(name, original);
    proto[name] = function (this: unknown, event: unknown, listener: unknown) {
      if (event !== 'message' || typeof listener !== 'function') return original.call(this, event, listener);
      const fn = listener as (...args: unknown[]) => unknown;
      const label = fn.name || 'anonymous';
      const run = function (this: unknown, ...args: unknown[]) {
        const token: RequestToken = { method: '', path: '', route: null, traceId: null, parentSpanId: null, spanId: null, startEpochMs: Date.now(), workItem: `message #${++n} (${label})` };
        return als.run(token, () => {
          detector?.switchTo(token);
          return fn.apply(this, args);
        });
      };
      wrapped.set(fn, run);
      return original.call(this, event, run);
    };
  }
  // removeListener/off must find the wrapper
  for (const name of ['off', 'removeListener']) {
    const original = proto[name] as ((this: unknown, event: unknown, listener: unknown) => unknown) | undefined;
    if (typeof original !== 'function') continue;
    originals.set(name, original);
    proto[name] = function (this: unknown, event: unknown, listener: unknown) {
      const w = typeof listener === 'function' ? wrapped.get(listener) : undefined;
      return original.call(this, event, w ?? listener);
    };
  }
  return {
    currentOwner: () => als.getStore() ?? null,
    rootOf: (owner) => owner,
    attach(d) {
      detector = d;
    },
    describe(owner): OwnerIds {
      const token = owner as RequestToken;
      return { route: null, traceId: null, spanId: null, ...(token.workItem ? { workItem: token.workItem } : {}) };
    },
    close() {
      for (const [name, fn] of originals) proto[name] = fn;
    },
  };
}
