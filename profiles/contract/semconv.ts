/**
 * Every looplens.* name that travels on spans: the probes write them (probes/tracing.ts), every reader imports them
 * from here. OpenTelemetry's own semantic-convention names (http.route, db.system…) are not repeated here.
 */

/** Span event (in Jaeger: a span log whose `event` field is this) on the span that ran a blocked stretch of the loop. */
export const BLOCKED_EVENT = 'looplens.eventloop.blocked';

/** Attributes of a BLOCKED_EVENT (in Jaeger: log fields beside `event`). */
export const BLOCKED_EVENT_FIELDS = {
  /** The app's own synchronous ms in the stretch (blocking.json `durationMs`). */
  durationMs: 'duration_ms',
  /** Innermost app frame, "name (file:line)" (blocking.json `topFrame`). */
  topFrame: 'top_frame',
  /** "at fn (url:line:col)" lines, innermost first. */
  stack: 'stack',
  /** The block's id in blocking.json (`id`): the one identity a reader matches an event by. */
  blockId: 'block_id',
} as const;

/**
 * On a request's root (server) span: ms this request was in flight while other requests (or work of no request)
 * blocked the loop — time it waited, not time it worked.
 */
export const WAITED_ATTRIBUTE = 'looplens.eventloop.waited_ms';

/**
 * `true` on a server span whose response was never finished: the client went away (the load generator closing its
 * connections at the end of a warmup or of the run). OpenTelemetry's http instrumentation ends such a span like any
 * other (status 200 by default); readers leave these requests out.
 */
export const ABORTED_ATTRIBUTE = 'looplens.http.response.aborted';

/** A blocked stretch as WAITED_ATTRIBUTE counts it: when, how long, and which request (trace) ran it. */
export interface BlockExtent {
  /** Epoch ms. */
  startMs: number;
  durationMs: number;
  /** The trace of the request that ran it; null for work of no request. */
  traceId: string | null;
}

/**
 * WAITED_ATTRIBUTE's definition, for the probes that write it and the evidence that reads requests: the ms of
 * [fromMs, toMs] (epoch ms, a request's lifetime) in which the loop was blocked by work that is not the trace
 * `traceId`'s own. `blocks`: one process's, sorted by start — one loop runs one thing at a time, so they do not
 * overlap, and only the last block that started before `fromMs` can reach into the interval.
 */
export function waitedMs(fromMs: number, toMs: number, blocks: readonly BlockExtent[], traceId: string | null): number {
  let lo = 0;
  let hi = blocks.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (blocks[mid]!.startMs < fromMs) lo = mid + 1;
    else hi = mid;
  }
  let total = 0;
  for (let i = Math.max(0, lo - 1); i < blocks.length; i++) {
    const b = blocks[i]!;
    if (b.startMs >= toMs) break;
    if (traceId !== null && b.traceId === traceId) continue;
    total += Math.max(0, Math.min(toMs, b.startMs + b.durationMs) - Math.max(fromMs, b.startMs));
  }
  return total;
}

/**
 * Live export under the production preset (probes/export.ts): the loop metrics carry OpenTelemetry's semantic-convention
 * names (those of instrumentation-runtime-node: delay in seconds, utilization as a ratio) and looplens' own blocked
 * time; every block goes out as one OTLP log record whose event name is BLOCKED_EVENT.
 */
export const LOOP_METRICS = {
  /** Gauges `nodejs.eventloop.delay.{min,max,mean,p50,p90,p99}`, seconds, over the last second. */
  delayPrefix: 'nodejs.eventloop.delay',
  /** Gauge, 0–1, over the last second. */
  utilization: 'nodejs.eventloop.utilization',
  /** Counter, seconds the loop was blocked, by http.request.method, http.route and code.function.name. */
  blockedTime: 'looplens.eventloop.blocked.time',
  /** Counter of blocks, by the same attributes. */
  blocks: 'looplens.eventloop.blocked.count',
} as const;

/** Attributes of a block's OTLP log record beside BLOCKED_EVENT_FIELDS (and of the blocked-time metrics). */
export const BLOCKED_LOG_ATTRIBUTES = {
  method: 'http.request.method',
  /** The route template (or path) without the method, as semantic conventions have it. */
  route: 'http.route',
  function: 'code.function.name',
  /** The trace the block belongs to when no span of it was sampled (an incoming traceparent's): hex. */
  traceId: 'looplens.trace_id',
  /** In a worker thread: the work item (blocking.json `workItem`). */
  workItem: 'looplens.work_item',
} as const;
