/**
 * A run's evidence, built once: the one model summary.json, summary.md, findings.json, compare, lab.md and the HTML
 * report are computed from. It holds the measured window (run.json `window`), every request with its one route
 * (./routes.ts), every block once (blocking.json, matched to its request by trace id — never by timing), the time
 * each request and each of its calls and queries spent waiting behind other requests' blocks, the load generator's
 * figures met on the app's routes, and the per-route figures every view shows. Start-up, warm-up and shutdown are
 * in it, labelled by phase, and never in the measured figures.
 *
 * buildEvidence is pure (the files' contents in, the model out); loadEvidence reads a run folder through
 * profiles/contract and builds it.
 */
import {
  hasFile,
  readBlocking,
  readServingCpuProfiles,
  readFolded,
  readEventLoop,
  readHeapProfile,
  readMemory,
  readLoad,
  readRunInfo,
  readSummary,
  readThreads,
  readTraces,
  waitedMs,
  type BlockingFile,
  type CacheSummary,
  type EventLoopSample,
  type HeapProfileFile,
  type MemorySample,
  type LoadFile,
  type LoadRoute,
  type OffloadPoolCounts,
  type ProcessMemory,
  type RequestStats,
  type RunInfo,
  type Span,
  type StackFrame,
  type ThreadFiles,
  type ThreadSummary,
  type TimeWindow,
  type TraceSet,
} from '../../profiles/contract/index.js';
import { threadFigures } from './threads.js';
import { latencyOf, mergeHistograms } from '../load/histogram.js';
import { cpuFiguresOf, cpuSamplesOf, type CpuFigures, type CpuSamples } from './cpu.js';
import { parseFolded } from './fold.js';
import { gcMsIn, memoryFiguresOf, type MemoryFigures } from './memory.js';
import { buildRequests, dbQueryOf, httpStatus, isCacheSystem, type DbQuery, type HttpCall, type RequestTrace } from './requests.js';
import { inferTemplates, loadRouteMatcher, probeRoute } from './routes.js';
import { runSourceMapper, withSourcePositions } from './sourcemaps.js';
import { median as medianOf, summariseEventLoop } from './summarise.js';

/** Where in the run something happened. Only `measured` counts in the figures. */
export type Phase = 'startup' | 'warmup' | 'measured' | 'after';

export interface EvidenceWindow extends TimeWindow {
  /** `run.json`: the recorded load window; `whole run`: an older run without one — everything counts. */
  source: 'run.json' | 'whole run';
}

/** Why a block is charged to no request. */
export type NoRequest = 'start-up' | 'garbage collection' | 'outside any request';

export interface EvidenceBlock {
  /** blocking.json's id, or "#<index>" for files written before ids. */
  id: string;
  /** The process that blocked ("<pid>" of the id), null when the file does not say. */
  pid: string | null;
  startMs: number;
  endMs: number;
  durationMs: number;
  phase: Phase;
  found: 'timed' | 'recovered';
  /** The one route key: its request's route, else the route the probes recorded (templated like any other). */
  route: string | null;
  /** The request it is charged to, when its trace is in the traces. */
  request: EvidenceRequest | null;
  traceId: string | null;
  spanId: string | null;
  topFrame: string;
  frames: StackFrame[];
  /** When route is null: why no request was charged. */
  noRequest: NoRequest | null;
  /** ms other requests in flight spent waiting behind this block (each overlap counted once per request). */
  waitersMs: number;
  /** ms of it GC pauses covered (memory.jsonl); absent without GC entries. A block GC ran most of is shown as GC. */
  gcMs?: number;
}

export interface EvidenceRequest extends RequestTrace {
  phase: Phase;
  /** The process that served it (the span's process.pid), null when not recorded. */
  pid: string | null;
  /** Blocks charged to this request. */
  blocks: EvidenceBlock[];
  /** ms of its lifetime in which the loop was blocked by other requests' work (semconv waitedMs). */
  waitedMs: number;
  /**
   * ms before its span began in which its process's loop was blocked — the request already sent, waiting in its
   * socket for the loop (see waitingBeforeStart): the part of its waiting the span cannot see. 0 when not known.
   */
  waitedBeforeMs: number;
  /** The blocks of other requests (or of no request) that overlapped its lifetime: what it waited behind. */
  blockedByOthers: EvidenceBlock[];
}

/** A route's figures over the measured window: what every view shows for it. */
export interface RouteFigures {
  route: string;
  /** The template was inferred from paths (no framework named it). */
  inferred: boolean;
  /** The load generator's figures for the route (its load routes that meet on this template, merged); null when none. */
  load: RequestStats | null;
  /** The load generator's route keys counted here. */
  loadRoutes: string[];
  /** Requests of the route in the window: the load generator's count when it drove the route, else the traced ones. */
  requests: number;
  /** Traced requests of the route that started in the window. */
  traced: number;
  blocks: number;
  blockedMs: number;
  /** blockedMs ÷ requests. */
  blockedMsPerRequest: number;
  /** Database queries (not cache lookups) in the traced requests. */
  queries: number;
  /** queries ÷ traced; null without traced requests. */
  queriesPerRequest: number | null;
  /**
   * ms its traced requests waited behind other requests' blocks — inside their spans (`waitedMs`) and before them
   * (`waitedBeforeMs`), added — and per traced request.
   */
  waitedMs: number;
  waitedMsPerRequest: number;
  /** CPU ms per traced request, from the span profile (looplens' measuring left out); null without one. */
  cpuMsPerRequest: number | null;
}

export interface MeasuredFigures {
  requests: EvidenceRequest[];
  blocks: EvidenceBlock[];
  /** By route, most requests first. */
  routes: RouteFigures[];
  /** Requests in the window: the load generator's count, else the traced ones. */
  requestCount: number;
  blockedMs: number;
  blockedMsPerRequest: number;
  queries: number;
  queriesPerRequest: number | null;
  /** Outgoing calls of traced requests, and how many failed (error status or 5xx). */
  upstream: { calls: number; failures: number };
  /** Share of the blocked ms charged to a request (1 when nothing blocked). */
  chargedShare: number;
  /** Whether the queries kept their request's async context (see lostContextOf). */
  context: QueryContext;
  /** Per process of the app (cluster workers, their primary): see processFigures. */
  processes: ProcessFigures[];
}

/**
 * Queries that lost their request's async context: a database query of the window in no request's trace (orphan), or
 * in a request's trace but started outside that request's lifetime — what a promise library or a pool that runs
 * callbacks outside the async context (bluebird under knex < 0.95, some connection pools) makes of queries: they land
 * in whichever request's context was active, or in none. When `lost`, the queries per request and every finding
 * drawn from queries are not to be trusted.
 */
export interface QueryContext {
  /** Database queries (not cache lookups) that started in the window, orphans included. */
  queries: number;
  orphan: number;
  outsideRequest: number;
  /** (orphan + outsideRequest) ÷ queries. */
  share: number;
  lost: boolean;
}

/** What to do about lost context, in one sentence (the note, summary.md, the report). */
export const LOST_CONTEXT_FIX =
  'A promise library (bluebird) or a connection pool that runs callbacks outside the async context drops it: use the library on native promises (knex ≥ 0.95), or turn its OpenTelemetry instrumentation on (LOOPLENS_OTEL_INSTRUMENTATIONS=<name>; knex, mysql2 and pg are on by default).';

/** The share of a window's queries out of context from which the context counts as lost. */
export const LOST_CONTEXT_SHARE = 0.05;
/** How far outside its request a query may start and still be its request's (span clocks, a response's last write). */
const OUTSIDE_TOLERANCE_MS = 1;

function queryContext(spans: readonly Span[], measuredRequests: readonly RequestTrace[], window: TimeWindow): QueryContext {
  const inRequests = new Set<Span>();
  let outsideRequest = 0;
  for (const r of measuredRequests) {
    for (const q of r.queries) {
      if (isCacheSystem(q.system)) continue;
      inRequests.add(q.span);
      if (q.span.startMs > r.endMs + OUTSIDE_TOLERANCE_MS || q.span.startMs < r.startMs - OUTSIDE_TOLERANCE_MS) outsideRequest++;
    }
  }
  const byId = new Map(spans.map((s) => [`${s.traceId}/${s.spanId}`, s]));
  let orphan = 0;
  let queries = inRequests.size;
  for (const s of spans) {
    if (inRequests.has(s) || s.startMs < window.startMs || s.startMs > window.endMs) continue;
    const q = dbQueryOf(s);
    if (!q || isCacheSystem(q.system)) continue;
    // a driver's span under a query builder's is the same query
    const parent = s.parentId ? byId.get(`${s.traceId}/${s.parentId}`) : undefined;
    if (parent && dbQueryOf(parent)) continue;
    // in a request's trace, outside the window's requests (a request that started before the window): not counted
    let root: Span | undefined = s;
    while (root?.parentId) root = byId.get(`${root.traceId}/${root.parentId}`);
    if (root && root !== s && root.kind === 'server') continue;
    queries++;
    orphan++;
  }
  const share = queries > 0 ? (orphan + outsideRequest) / queries : 0;
  return { queries, orphan, outsideRequest, share, lost: share >= LOST_CONTEXT_SHARE };
}

export interface Evidence {
  /** The run folder, when built from one. */
  dir: string | null;
  info: RunInfo | null;
  window: EvidenceWindow;
  warmup: TimeWindow | null;
  /** blocking.json as written (threshold, descheduled, armed); null without it. */
  blocking: BlockingFile | null;
  traces: TraceSet;
  load: LoadFile | null;
  cache: CacheSummary | null;
  /** The app's offload pool over the window (load.json `offloadPool`), null when it reported none. */
  offloadPool: OffloadPoolCounts | null;
  eventLoop: EventLoopSample[];
  /** The CPU samples (see CpuFigures.scope), null without a CPU profile. */
  cpu: CpuFigures | null;
  /** Heap, GC and allocations over the window (./memory.ts), null without memory.jsonl and heap.heapprofile. */
  memory: MemoryFigures | null;
  /** Every request in the traces, in start order, each with its phase. */
  requests: EvidenceRequest[];
  /** Every block, in start order, each with its phase. */
  blocks: EvidenceBlock[];
  measured: MeasuredFigures;
  /** The app's worker threads over the window (./threads.ts): their own blocks and loops, apart from the main loop's. */
  threads: ThreadSummary[];
  /** What limits the evidence (missing files, an older run without a window…), one line each. */
  notes: string[];
}

export interface EvidenceInput {
  dir?: string | null;
  info: RunInfo | null;
  load: LoadFile | null;
  blocking: BlockingFile | null;
  traces: TraceSet;
  eventLoop: readonly EventLoopSample[];
  cpu?: CpuSamples | null;
  /** memory.jsonl and heap.heapprofile, when the probes wrote them. */
  memory?: readonly MemorySample[] | null;
  heap?: HeapProfileFile | null;
  /** threads/<pid>-<threadId>/, when the app's worker threads wrote files. */
  threads?: readonly ThreadFiles[];
  notes?: string[];
}

const round = (x: number, digits = 3): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function phaseOf(t: number, window: TimeWindow, warmup: TimeWindow | null): Phase {
  if (t > window.endMs) return 'after';
  if (t >= window.startMs) return 'measured';
  if (warmup && t >= warmup.startMs) return 'warmup';
  return 'startup';
}

/** "12345:7" → "12345". */
function pidOfBlock(id: string | undefined): string | null {
  const m = id ? /^(\d+):/.exec(id) : null;
  return m ? m[1]! : null;
}

/** Blocks of one process (sorted, not overlapping) that overlap [from, to]. */
function overlapping(blocks: readonly EvidenceBlock[], from: number, to: number): EvidenceBlock[] {
  let lo = 0;
  let hi = blocks.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (blocks[mid]!.startMs < from) lo = mid + 1;
    else hi = mid;
  }
  const out: EvidenceBlock[] = [];
  for (let i = Math.max(0, lo - 1); i < blocks.length && blocks[i]!.startMs < to; i++) {
    if (blocks[i]!.endMs > from) out.push(blocks[i]!);
  }
  return out;
}

/** The window a run without a recorded one is read over: everything the traces and blocks saw. */
function wholeRun(traces: TraceSet, blocking: BlockingFile | null): TimeWindow {
  let start = Infinity;
  let end = -Infinity;
  for (const s of traces.spans) {
    start = Math.min(start, s.startMs);
    end = Math.max(end, s.endMs);
  }
  for (const e of blocking?.events ?? []) {
    start = Math.min(start, e.startMs);
    end = Math.max(end, e.startMs + e.durationMs);
  }
  return Number.isFinite(start) ? { startMs: start, endMs: end } : { startMs: 0, endMs: 0 };
}

/**
 * Victim correction: a call or a query that overlapped other requests' blocks was measured long because its answer
 * waited for the loop. Its own time is at most its duration, and at least the larger of its duration less that
 * waiting and the time until the first such block began (the loop was free until then and its callback had not run:
 * the answer was not there yet). Within those bounds, what the same call (endpoint) or query (shape) takes when
 * nothing blocks it — the median of its unblocked instances in the run (of all its instances' lower bounds when
 * fewer than MIN_TYPICAL were unblocked).
 */
const MIN_TYPICAL = 3;
/** Overlap below this (ms) is timer noise, not waiting. */
const WAIT_NOISE_MS = 0.5;

/** The lower bound of an operation's own time (see correctForWaiting), given the blocks its request waited behind. */
function ownLowerBound(span: Span, waited: number, others: readonly EvidenceBlock[]): number {
  const dur = span.endMs - span.startMs;
  const first = others.find((b) => b.endMs > span.startMs && b.startMs < span.endMs);
  const untilFirst = first ? Math.max(0, first.startMs - span.startMs) : dur;
  return Math.min(dur, Math.max(dur - waited, untilFirst));
}

function correctForWaiting<T extends { span: Span; waitedMs: number; ownMs: number }>(items: readonly T[], key: (t: T) => string): void {
  const groups = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = groups.get(k);
    if (list) list.push(it);
    else groups.set(k, [it]);
  }
  for (const list of groups.values()) {
    const dur = (t: T) => t.span.endMs - t.span.startMs;
    const clean = list.filter((t) => t.waitedMs < WAIT_NOISE_MS).map(dur);
    // ownMs holds each operation's lower bound here (set with its waiting, below in buildEvidence)
    const typical = clean.length >= MIN_TYPICAL ? median(clean) : median(list.map((t) => t.ownMs));
    for (const t of list) {
      t.ownMs = t.waitedMs < WAIT_NOISE_MS ? dur(t) : Math.min(dur(t), Math.max(t.ownMs, typical));
    }
  }
}

/** The load generator's routes, each met with the app route its traced requests carry. */
function meetLoadRoutes(load: LoadFile, requests: readonly EvidenceRequest[]): Map<string, { load: LoadRoute; appRoute: string | null }> {
  const out = new Map<string, { load: LoadRoute; appRoute: string | null }>();
  for (const [key, route] of Object.entries(load.routes)) {
    // an older load (summary.json's routes) has no paths: its key ("GET /users/:id/timeline") is the pattern
    const patterns = route.paths?.length ? route.paths : [key.slice(key.indexOf(' ') + 1)];
    const method = route.method ?? key.split(' ')[0] ?? 'GET';
    const matchers = patterns.map((p) => loadRouteMatcher(method, p));
    const counts = new Map<string, number>();
    for (const r of requests) {
      const m = String(r.span.attributes['http.request.method'] ?? r.span.attributes['http.method'] ?? r.route.split(' ')[0]);
      if (matchers.some((match) => match(m, r.target))) counts.set(r.route, (counts.get(r.route) ?? 0) + 1);
    }
    let appRoute: string | null = null;
    let best = 0;
    for (const [r, n] of counts) if (n > best) [appRoute, best] = [r, n];
    out.set(key, { load: route, appRoute });
  }
  return out;
}

/** RequestStats of several load routes met on one app route: counts added, latencies from their merged histograms. */
function mergeLoadStats(parts: readonly LoadRoute[], notes: string[], route: string): RequestStats {
  if (parts.length === 1) {
    const { requests, rps, latencyMs, non2xx, errors } = parts[0]!;
    return { requests, rps, latencyMs, non2xx, errors };
  }
  const merged = mergeHistograms(parts.map((p) => p.histogram ?? ''));
  const biggest = [...parts].sort((a, b) => b.requests - a.requests)[0]!;
  if (!merged || parts.some((p) => !p.histogram)) notes.push(`${route}: the latencies of its load routes could not be merged; those of the busiest one are shown`);
  return {
    requests: parts.reduce((a, p) => a + p.requests, 0),
    rps: round(parts.reduce((a, p) => a + p.rps, 0), 1),
    latencyMs: merged ? latencyOf(merged) : biggest.latencyMs,
    non2xx: parts.reduce((a, p) => a + p.non2xx, 0),
    errors: parts.reduce((a, p) => a + p.errors, 0),
  };
}

export function buildEvidence(input: EvidenceInput): Evidence {
  const notes = [...(input.notes ?? [])];
  const { info, blocking, traces, load } = input;
  const window: EvidenceWindow = info?.window ? { ...info.window, source: 'run.json' } : { ...wholeRun(traces, blocking), source: 'whole run' };
  if (window.source === 'whole run') notes.push('run.json records no measured window (an older run, or one that ended before its load): every request and block of the files counts');
  const warmup = info?.warmup ?? null;

  // Requests, with their phase and process.
  const requests: EvidenceRequest[] = buildRequests(traces.spans).map((r) => ({
    ...r,
    phase: phaseOf(r.startMs, window, warmup),
    pid: r.span.pid,
    blocks: [],
    waitedMs: 0,
    waitedBeforeMs: 0,
    blockedByOthers: [],
  }));
  // Routes no framework named: templates inferred from every path the run saw (./routes.ts).
  const inferred = requests.filter((r) => r.routeInferred && r.target !== null);
  const pathKey = (r: EvidenceRequest) => `${r.route.slice(0, r.route.indexOf(' '))} ${(r.target ?? '/').split('?')[0]}`;
  const templates = inferTemplates(inferred.map(pathKey));
  for (const r of inferred) r.route = templates.get(pathKey(r)) ?? r.route;
  const byTrace = new Map<string, EvidenceRequest>();
  for (const r of requests) if (!byTrace.has(r.traceId)) byTrace.set(r.traceId, r);

  // Blocks, each once, charged to the request of its trace.
  const blocks: EvidenceBlock[] = (blocking?.events ?? []).map((e, i) => {
    const request = e.traceId ? (byTrace.get(e.traceId.toLowerCase()) ?? null) : null;
    const route = request?.route ?? (e.route ? probeRoute(e.route) : null);
    const phase = phaseOf(e.startMs, window, warmup);
    const block: EvidenceBlock = {
      id: e.id ?? `#${i}`,
      pid: pidOfBlock(e.id),
      startMs: e.startMs,
      endMs: e.startMs + e.durationMs,
      durationMs: e.durationMs,
      phase,
      found: e.found ?? 'timed',
      route,
      request,
      traceId: e.traceId ? e.traceId.toLowerCase() : null,
      spanId: e.spanId ? e.spanId.toLowerCase() : null,
      topFrame: e.topFrame,
      frames: e.frames,
      noRequest: route !== null ? null : phase === 'startup' ? 'start-up' : e.topFrame === '(garbage collector)' ? 'garbage collection' : 'outside any request',
      waitersMs: 0,
    };
    request?.blocks.push(block);
    return block;
  });
  blocks.sort((a, b) => a.startMs - b.startMs);

  // Waiting: per process, what each request (and each of its calls and queries) spent behind others' blocks.
  const byProcess = new Map<string, EvidenceBlock[]>();
  for (const b of blocks) {
    const k = b.pid ?? '';
    const list = byProcess.get(k);
    if (list) list.push(b);
    else byProcess.set(k, [b]);
  }
  const onePid = byProcess.size <= 1;
  const blocksOf = (pid: string | null): EvidenceBlock[] => (onePid ? blocks : (byProcess.get(pid ?? '') ?? []));
  for (const r of requests) {
    const mine = blocksOf(r.pid);
    if (mine.length === 0) continue;
    const others = overlapping(mine, r.startMs, r.endMs).filter((b) => b.traceId !== r.traceId);
    if (others.length === 0) continue;
    r.waitedMs = waitedMs(r.startMs, r.endMs, others, null);
    r.blockedByOthers = others;
    for (const b of others) b.waitersMs += Math.max(0, Math.min(r.endMs, b.endMs) - Math.max(r.startMs, b.startMs));
    for (const op of [...r.queries, ...r.calls] as (DbQuery | HttpCall)[]) {
      op.waitedMs = waitedMs(op.span.startMs, op.span.endMs, r.blockedByOthers, null);
      op.ownMs = ownLowerBound(op.span, op.waitedMs, others);
    }
  }

  // and before their spans began (closed-loop clients, every span kept: see waitingBeforeStart)
  if (!info?.load?.rate && !traces.droppedSpans) waitingBeforeStart(requests, blocks);
  const measuredRequests = requests.filter((r) => r.phase === 'measured');
  correctForWaiting(
    measuredRequests.flatMap((r) => r.calls),
    (c) => `${c.method} ${c.endpoint}`,
  );
  correctForWaiting(
    measuredRequests.flatMap((r) => r.queries),
    (q) => `${q.system}\u0000${q.shape}`,
  );
  const measuredBlocks = blocks.filter((b) => b.phase === 'measured');

  // Per route: the traced requests and blocks, met with the load generator's routes.
  const routes = new Map<string, RouteFigures>();
  const figuresOf = (route: string, inferred: boolean): RouteFigures => {
    let f = routes.get(route);
    if (!f) {
      f = { route, inferred, load: null, loadRoutes: [], requests: 0, traced: 0, blocks: 0, blockedMs: 0, blockedMsPerRequest: 0, queries: 0, queriesPerRequest: null, waitedMs: 0, waitedMsPerRequest: 0, cpuMsPerRequest: null };
      routes.set(route, f);
    }
    return f;
  };
  const dbQueries = (r: RequestTrace) => r.queries.filter((q) => !isCacheSystem(q.system)).length;
  for (const r of measuredRequests) {
    const f = figuresOf(r.route, r.routeInferred);
    f.traced++;
    f.queries += dbQueries(r);
    f.waitedMs += r.waitedMs + r.waitedBeforeMs;
  }
  if (load) {
    const met = meetLoadRoutes(load, measuredRequests);
    const parts = new Map<string, { keys: string[]; routes: LoadRoute[] }>();
    for (const [key, { load: lr, appRoute }] of met) {
      const route = appRoute ?? key;
      const p = parts.get(route) ?? { keys: [], routes: [] };
      p.keys.push(key);
      p.routes.push(lr);
      parts.set(route, p);
    }
    for (const [route, p] of parts) {
      const f = figuresOf(route, routes.get(route)?.inferred ?? false);
      f.loadRoutes = p.keys;
      f.load = mergeLoadStats(p.routes, notes, route);
    }
  }
  for (const b of measuredBlocks) {
    if (b.route === null) continue;
    const f = figuresOf(b.route, b.request?.routeInferred ?? false);
    f.blocks++;
    f.blockedMs += b.durationMs;
  }
  for (const f of routes.values()) {
    f.requests = f.load ? f.load.requests : f.traced;
    f.blockedMs = round(f.blockedMs, 2);
    f.blockedMsPerRequest = round(f.blockedMs / Math.max(1, f.requests), 3);
    f.queriesPerRequest = f.traced > 0 ? round(f.queries / f.traced, 2) : null;
    f.waitedMsPerRequest = f.traced > 0 ? round(f.waitedMs / f.traced, 3) : 0;
    f.waitedMs = round(f.waitedMs, 2);
  }

  const blockedMs = measuredBlocks.reduce((a, b) => a + b.durationMs, 0);
  const charged = measuredBlocks.filter((b) => b.route !== null).reduce((a, b) => a + b.durationMs, 0);
  const requestCount = load ? load.overall.requests : measuredRequests.length;
  const queries = measuredRequests.reduce((a, r) => a + dbQueries(r), 0);
  const upstream = { calls: 0, failures: 0 };
  for (const r of measuredRequests) {
    for (const c of r.calls) {
      upstream.calls++;
      if (c.span.error || httpStatus(c.span) >= 500) upstream.failures++;
    }
  }
  const context = queryContext(traces.spans, measuredRequests, window);
  if (context.lost) {
    notes.push(
      `${Math.round(context.share * 100)} % of the window's database queries lost their request's context (${context.orphan} in no request, ${context.outsideRequest} outside the request they were charged to): queries per request and findings drawn from queries are not shown. ${LOST_CONTEXT_FIX}`,
    );
  }
  // CPU: the window's samples; with a span profile, each traced request's own, by route
  const cpu = input.cpu ? cpuFiguresOf(input.cpu, measuredRequests.map((r) => ({ traceId: r.traceId, spanId: r.span.spanId, route: r.route })), requestCount) : null;
  for (const [route, c] of cpu?.routes ?? []) {
    const f = routes.get(route);
    if (f && c.msPerRequest !== null) f.cpuMsPerRequest = round(c.msPerRequest, 3);
  }
  // Memory: the heap each second, GC pauses, what was allocated and what stayed live (./memory.ts)
  const memory =
    input.memory?.length || input.heap
      ? memoryFiguresOf({
          samples: input.memory ?? [],
          heap: input.heap ?? null,
          window,
          requests: measuredRequests,
          requestCount,
          routeStacks: cpu?.routes ? new Map([...cpu.routes].map(([r, c]) => [r, c.stacks])) : null,
        })
      : null;
  if (memory && memory.pauses.length > 0) {
    for (const b of blocks) {
      b.gcMs = round(gcMsIn(memory.pauses, b.startMs, b.endMs), 2);
      // a block GC ran most of, charged to no request, is garbage collection's
      if (b.route === null && b.phase !== 'startup' && b.gcMs >= b.durationMs / 2) b.noRequest = 'garbage collection';
    }
  }
  const switchMs = input.heap?.looplens?.switchMs;
  if (switchMs !== undefined && switchMs >= 20) notes.push(`the heap profiler's switch from its allocated to its live half held the loop ${switchMs} ms once, halfway into the window (the sampler handing over its samples; LOOPLENS_HEAP_INTERVAL_KB larger, or LOOPLENS_HEAP_PROFILE=0, avoids it)`);
  if (input.heap && !input.heap.looplens?.live) notes.push('heap.heapprofile holds no live half (the probes never saw the measured window: preloaded by hand): memory growth is not known');
  const measured: MeasuredFigures = {
    requests: measuredRequests,
    blocks: measuredBlocks,
    routes: [...routes.values()].sort((a, b) => b.requests - a.requests || a.route.localeCompare(b.route)),
    requestCount,
    blockedMs: round(blockedMs, 2),
    blockedMsPerRequest: round(blockedMs / Math.max(1, requestCount), 3),
    queries,
    queriesPerRequest: measuredRequests.length > 0 ? round(queries / measuredRequests.length, 2) : null,
    upstream,
    chargedShare: blockedMs > 0 ? charged / blockedMs : 1,
    context,
    processes: processFigures(measuredRequests, measuredBlocks, input.eventLoop, load?.memory ?? [], window),
  };
  if (load && traces.spans.length > 0 && measuredRequests.length < 0.9 * requestCount) {
    notes.push(`the traces hold ${measuredRequests.length} of the window's ${requestCount} requests (the probes' span cap, LOOPLENS_MAX_SPANS, or requests without spans): per-request trace figures are over the traced ones`);
  }
  return {
    dir: input.dir ?? null,
    info,
    window,
    warmup,
    blocking,
    traces,
    load,
    cache: load?.cache ?? null,
    offloadPool: load?.offloadPool ?? null,
    eventLoop: [...input.eventLoop],
    cpu,
    memory,
    requests,
    blocks,
    measured,
    threads: threadFigures(input.threads ?? [], info?.window ?? null),
    notes,
  };
}

/**
 * The load generator's figures of a run written before load.json: summary.json's overall and routes (keys as the
 * load generator named them) and its cache counters.
 */
function loadFromSummary(dir: string): LoadFile {
  const s = readSummary(dir);
  const routes: Record<string, LoadRoute> = {};
  for (const [key, r] of Object.entries(s.routes)) {
    const { requests, rps, latencyMs, non2xx, errors } = r;
    routes[key] = { requests, rps, latencyMs, non2xx, errors, method: key.split(' ')[0] ?? 'GET', paths: [] };
  }
  const { requests, rps, latencyMs, non2xx, errors } = s.overall;
  return { overall: { requests, rps, latencyMs, non2xx, errors }, routes, ...(s.cache ? { cache: s.cache } : {}) };
}

export interface LoadEvidenceOptions {
  /**
   * A file that is there but unreadable (corrupt, not of the contract) makes loadEvidence throw the RunFolderError
   * naming it; with this, the error is handed here instead and the file counts as missing (the HTML report shows it
   * as a note on the page).
   */
  onUnreadable?: (err: Error) => void;
}

/**
 * A run folder's evidence, read through profiles/contract. Every file is optional: what is missing limits the
 * evidence and says so in its notes.
 */
export function loadEvidence(dir: string, options: LoadEvidenceOptions = {}): Evidence {
  const notes: string[] = [];
  const read = <T>(key: Parameters<typeof hasFile>[1], reader: (d: string) => T): T | null => {
    if (!hasFile(dir, key)) return null;
    if (!options.onUnreadable) return reader(dir);
    try {
      return reader(dir);
    } catch (err) {
      options.onUnreadable(err as Error);
      return null;
    }
  };
  const info = read('run', readRunInfo);
  let load = read('load', readLoad);
  if (!load && !hasFile(dir, 'load')) {
    load = read('summary', loadFromSummary);
    if (info && load) notes.push('no load.json (an older run): the load generator\'s figures come from summary.json');
  }
  const blocking = withSourcePositions(read('blocking', readBlocking), dir, info); // frames at their .ts source (./sourcemaps.ts)
  if (!blocking) notes.push('blocking.json missing: no blocked time in this evidence');
  let traces: TraceSet = { spans: [], source: null, droppedSpans: null };
  if (options.onUnreadable) {
    try {
      traces = readTraces(dir);
    } catch (err) {
      options.onUnreadable(err as Error);
    }
  } else traces = readTraces(dir);
  if (traces.source === null) notes.push('no spans (traces.otlp.json and traces.jaeger.json missing or empty): requests, queries and calls are not known');
  const eventLoop = read('eventloop', readEventLoop) ?? [];
  const folded = read('folded', readFolded);
  const profiles = read('cpuprofile', readServingCpuProfiles) ?? [];
  // frames at their source position, as stacks.folded names them (the maps as they were during the run)
  const startedAt = info?.startedAt ? Date.parse(info.startedAt) : NaN;
  const mapper = profiles.length && Number.isFinite(startedAt) ? runSourceMapper(dir, startedAt) : null;
  const cpu = cpuSamplesOf(profiles, folded === null ? null : parseFolded(folded), info?.window ?? null, mapper ? mapper.original.bind(mapper) : undefined);
  // (a run with no window has its own note; every figure of it counts the whole run)
  if (cpu?.scope === 'run' && info?.window) {
    notes.push(
      profiles.length
        ? 'the CPU profile has no clock of the probes (an older run, or another profiler): CPU figures count the whole run, start-up and warm-up included'
        : 'no profile.cpuprofile (another profiler\'s run): CPU figures come from stacks.folded and count the whole run, start-up and warm-up included',
    );
  }
  const memory = read('memory', readMemory);
  const heap = read('heapProfile', readHeapProfile);
  // worker threads' own files (threads/<pid>-<threadId>/)
  let threads: ThreadFiles[] = [];
  try {
    threads = readThreads(dir);
  } catch (err) {
    if (!options.onUnreadable) throw err;
    options.onUnreadable(err as Error);
  }
  return buildEvidence({ dir, info, load, blocking, traces, eventLoop, cpu, memory, heap, threads, notes });
}


// ---------------------------------------------------------------------------------------------------------------
// Per process: what each process of the app did in the window

/** One process of the app over the measured window: the per-worker breakdown of a cluster run. */
export interface ProcessFigures {
  /** Its pid, as requests and blocks carry it. */
  pid: string;
  /** `server`: it served requests (or the probes sampled its loop); `primary`: a server's parent; `other`: the rest. */
  role: 'server' | 'primary' | 'other';
  /** Traced requests it served that started in the window, and their rate over the window. */
  requests: number;
  rps: number;
  blocks: number;
  blockedMs: number;
  /** blockedMs ÷ requests (0 without requests). */
  blockedMsPerRequest: number;
  /** ms its requests waited behind other requests' blocks (in this process: a worker's blocks stop only its loop). */
  waitedMs: number;
  waitedMsPerRequest: number;
  /** Its own event-loop samples summarised as summary.json's `eventLoop`; null when none are its. */
  eventLoop: { delayMs: { p50: number; p99: number; max: number }; utilization: number } | null;
  /** RSS over the window in MiB (median and largest of the runner's samples); null when not sampled. */
  rssMb: { p50: number; max: number } | null;
}

/**
 * The window's requests, blocks, loop samples and memory, per process: requests by their span's process.pid, blocks
 * by the pid of their id ("<pid>:<n>"), loop samples by the pid their worker's file was merged with (a single
 * process's samples, which carry none, are the one server's), memory by pid (load.json `memory`). Servers first
 * (by pid), then their primary, then any other process of the app's group (a profiler, a shell).
 */
export function processFigures(
  requests: readonly EvidenceRequest[],
  blocks: readonly EvidenceBlock[],
  samples: readonly EventLoopSample[],
  memory: readonly ProcessMemory[],
  window: TimeWindow,
): ProcessFigures[] {
  const seconds = Math.max(0.001, (window.endMs - window.startMs) / 1000);
  const pids = new Set<string>();
  for (const r of requests) if (r.pid) pids.add(r.pid);
  for (const b of blocks) if (b.pid) pids.add(b.pid);
  for (const s of samples) if (s.pid !== undefined) pids.add(String(s.pid));
  const servers = new Set(pids);
  for (const m of memory) pids.add(String(m.pid));
  // a single process: blocks and samples that name no process are its
  const only = servers.size === 1 ? [...servers][0]! : null;
  const out: ProcessFigures[] = [];
  for (const pid of pids) {
    const mine = requests.filter((r) => r.pid === pid);
    const blocked = blocks.filter((b) => (b.pid ?? only) === pid);
    const loop = samples.filter((s) => (s.pid !== undefined ? String(s.pid) : only) === pid);
    const mem = memory.find((m) => String(m.pid) === pid);
    const blockedMs = blocked.reduce((a, b) => a + b.durationMs, 0);
    const waited = mine.reduce((a, r) => a + r.waitedMs + r.waitedBeforeMs, 0);
    const rss = mem?.samples.map((x) => x.rssKb / 1024) ?? [];
    out.push({
      pid,
      role: servers.has(pid) ? 'server' : 'other',
      requests: mine.length,
      rps: round(mine.length / seconds, 1),
      blocks: blocked.length,
      blockedMs: round(blockedMs, 2),
      blockedMsPerRequest: mine.length > 0 ? round(blockedMs / mine.length, 3) : 0,
      waitedMs: round(waited, 2),
      waitedMsPerRequest: mine.length > 0 ? round(waited / mine.length, 3) : 0,
      eventLoop: loop.length > 0 ? summariseEventLoop(loop, window) : null,
      rssMb: rss.length > 0 ? { p50: round(medianOf(rss), 1), max: round(Math.max(...rss), 1) } : null,
    });
  }
  // the parent of the servers (node:cluster's primary) is the primary
  const parents = new Set(memory.filter((m) => servers.has(String(m.pid))).map((m) => String(m.ppid)));
  for (const p of out) if (p.role === 'other' && parents.has(p.pid)) p.role = 'primary';
  const rank = { server: 0, primary: 1, other: 2 } as const;
  return out.sort((a, b) => rank[a.role] - rank[b.role] || Number(a.pid) - Number(b.pid));
}

/**
 * The waiting a request's span cannot see. A request that arrives while the loop is blocked waits in its socket, and
 * its server span begins only when the loop is free again — so a route that never blocks shows no waiting inside its
 * spans, however long its requests waited behind the blocks. A closed-loop client on keep-alive connections (a load
 * generator without a fixed rate: autocannon, wrk) sends each request the moment the previous answer on its
 * connection arrives: the request was there from the previous response's end (its span's end) on. So, per connection
 * (its process, and the client's address and port the span records), the blocks of the process between the previous
 * request's end and this one's start are waiting this request did (`waitedBeforeMs`; nothing of its own ran yet).
 * The first request of a connection, and requests whose connection is not recorded, get 0. Not for fixed-rate loads
 * (the client waits between requests, so a gap is not all waiting), nor when spans were dropped (a gap could hold a
 * request whose span is missing, and its own blocks): the caller skips those.
 */
export function waitingBeforeStart(requests: readonly EvidenceRequest[], blocks: readonly EvidenceBlock[]): void {
  const byPid = new Map<string, EvidenceBlock[]>();
  for (const b of blocks) {
    const list = byPid.get(b.pid ?? '');
    if (list) list.push(b);
    else byPid.set(b.pid ?? '', [b]);
  }
  const onePid = byPid.size <= 1;
  const connections = new Map<string, EvidenceRequest[]>();
  for (const r of requests) {
    const a = r.span.attributes;
    const port = a['network.peer.port'] ?? a['net.peer.port'] ?? a['client.port'];
    if (port === undefined || port === null || port === '') continue;
    const key = `${r.pid ?? ''} ${String(a['network.peer.address'] ?? a['net.peer.ip'] ?? a['client.address'] ?? '')} ${String(port)}`;
    const list = connections.get(key);
    if (list) list.push(r);
    else connections.set(key, [r]);
  }
  for (const list of connections.values()) {
    const mine = onePid ? blocks : (byPid.get(list[0]!.pid ?? '') ?? []);
    if (mine.length === 0) continue;
    list.sort((a, b) => a.startMs - b.startMs);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1]!;
      const r = list[i]!;
      // one request at a time on a connection (HTTP/1.1 without pipelining): the gap between two of them
      if (r.startMs <= prev.endMs) continue;
      r.waitedBeforeMs = Math.round(waitedMs(prev.endMs, r.startMs, mine, null) * 1000) / 1000;
    }
  }
}
