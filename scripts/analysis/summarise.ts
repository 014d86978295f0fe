/**
 * summary.json from a run's evidence (./evidence.ts): the figures of the measured window, per route and overall —
 * the load generator's latencies, the probes' event loop and blocked time, the traces' queries and calls. Every
 * number here is a field of the evidence, so every other view of the run shows the same one.
 */
import type { EventLoopSample, MemorySummary, ProcessSummary, RequestStats, Summary } from '../../profiles/contract/types.js';
import type { Evidence, EvidenceRequest, ProcessFigures } from './evidence.js';
import type { MemoryFigures } from './memory.js';
import { summariseOffloadPool } from './offload.js';
import { isCacheSystem } from './requests.js';

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Nearest-rank percentile of unsorted numbers (0 for none). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Event-loop numbers over the samples whose interval ends inside the window (+1 s of slack for the last one):
 * p50 and p99 are medians of the per-second p50 and p99 (robust to one stray second), max the largest per-second
 * max, utilization the mean.
 */
export function summariseEventLoop(samples: readonly EventLoopSample[], window: { startMs: number; endMs: number }): Summary['eventLoop'] {
  // each process's samples on their own: a cluster's workers sample in turn, and one's gap is not another's
  const byPid = new Map<number | undefined, EventLoopSample[]>();
  for (const s of samples) byPid.set(s.pid, [...(byPid.get(s.pid) ?? []), s]);
  const filled = [...byPid.values()].flatMap((list) => fillBlockedIntervals(list));
  let inside = filled.filter((s) => s.t > window.startMs && s.t <= window.endMs + 1000);
  if (inside.length === 0) inside = filled;
  return {
    delayMs: {
      p50: round(median(inside.map((s) => s.delayMs.p50)), 2),
      p99: round(median(inside.map((s) => s.delayMs.p99)), 2),
      max: round(Math.max(0, ...inside.map((s) => s.delayMs.max)), 2),
    },
    utilization: round(Math.min(1, Math.max(0, inside.reduce((a, s) => a + s.utilization, 0) / Math.max(1, inside.length))), 3),
  };
}

/**
 * A loop blocked for a whole sampling interval records no delay at all (the histogram's timer never ran), so the
 * sample reads 0 ms at 100 % utilization, and it comes late. Such a sample gets the lateness of its own timer as its
 * delay: the gap since the previous sample minus the usual one-second period.
 */
export function fillBlockedIntervals(samples: readonly EventLoopSample[], periodMs = 1000): EventLoopSample[] {
  const sorted = [...samples].sort((a, b) => a.t - b.t);
  return sorted.map((s, i) => {
    const gap = i > 0 ? s.t - sorted[i - 1].t : 0;
    if (i === 0 || s.delayMs.max > 0 || s.utilization < 0.99 || gap < 1.5 * periodMs) return s;
    const late = Math.round((gap - periodMs) * 1000) / 1000;
    return { ...s, delayMs: { min: late, mean: late, p50: late, p90: late, p99: late, max: late } };
  });
}

/** Server-side figures of traced requests, for a run without a load generator (a folder the probes wrote). */
function tracedStats(requests: readonly EvidenceRequest[], seconds: number): RequestStats {
  const ms = requests.map((r) => r.durationMs);
  const status = (r: EvidenceRequest) => Number(r.span.attributes['http.response.status_code'] ?? r.span.attributes['http.status_code'] ?? 0);
  return {
    requests: requests.length,
    rps: round(requests.length / Math.max(0.001, seconds), 1),
    latencyMs: {
      p50: round(percentile(ms, 50), 3),
      p90: round(percentile(ms, 90), 3),
      p95: round(percentile(ms, 95), 3),
      p99: round(percentile(ms, 99), 3),
      max: round(Math.max(0, ...ms), 3),
    },
    non2xx: requests.filter((r) => status(r) !== 0 && (status(r) < 200 || status(r) >= 300)).length,
    errors: 0,
  };
}

export function summarise(evidence: Evidence): Summary {
  const { measured, load, window } = evidence;
  const seconds = (window.endMs - window.startMs) / 1000;
  const routes: Record<string, RequestStats> = {};
  for (const f of measured.routes) {
    // with a load generator, the routes it drove; without one, every traced route
    const stats = f.load ?? (load ? null : tracedStats(measured.requests.filter((r) => r.route === f.route), seconds));
    if (!stats) continue;
    const r: RequestStats = { ...stats, blockedMsPerRequest: f.blockedMsPerRequest };
    if (f.queriesPerRequest !== null) r.queriesPerRequest = f.queriesPerRequest;
    if (f.traced > 0) r.waitedMsPerRequest = round(f.waitedMsPerRequest, 2);
    if (f.cpuMsPerRequest !== null) r.cpuMsPerRequest = round(f.cpuMsPerRequest, 3);
    routes[f.route] = r;
  }
  const summary: Summary = {
    overall: load?.overall ?? tracedStats(measured.requests, seconds),
    routes,
    eventLoop: summariseEventLoop(evidence.eventLoop, window),
    blocking: { count: measured.blocks.length, totalMs: round(measured.blockedMs, 1), msPerRequest: measured.blockedMsPerRequest },
  };
  // an app that never queried a database has no db section (rather than a misleading 0)
  const queried = evidence.requests.some((r) => r.queries.some((q) => !isCacheSystem(q.system)));
  if (queried && measured.queriesPerRequest !== null) summary.db = { queriesPerRequest: measured.queriesPerRequest };
  const cpu = evidence.cpu;
  if (cpu && cpu.msPerRequest !== null) {
    const busy = cpu.ms + cpu.measuringMs;
    summary.cpu = { msPerRequest: round(cpu.msPerRequest, 3), scope: cpu.scope, measuringShare: round(busy ? cpu.measuringMs / busy : 0, 3) };
    if (cpu.chargedShare !== null) summary.cpu.chargedShare = round(cpu.chargedShare, 3);
  }
  const c = measured.context;
  if (c.lost) summary.lostContext = { share: round(c.share, 3), orphanQueries: c.orphan, outsideRequestQueries: c.outsideRequest, queries: c.queries };
  if (measured.upstream.calls > 0) summary.upstream = { ...measured.upstream };
  if (evidence.cache) summary.cache = evidence.cache;
  // per process: a cluster's workers, or any run whose memory the runner sampled
  const procs = measured.processes;
  if (procs.filter((p) => p.role === 'server').length > 1 || procs.some((p) => p.rssMb)) summary.processes = procs.map(processSummary);
  // per worker thread: its own blocks and loop (never counted in the main loop's blocking above)
  if (evidence.threads.length) summary.threads = evidence.threads;
  if (evidence.offloadPool) summary.offloadPool = summariseOffloadPool(evidence.offloadPool, window.endMs - window.startMs);
  if (evidence.memory) summary.memory = summariseMemory(evidence.memory);
  return summary;
}

const MIB = 1024 * 1024;

/** The window's memory figures as summary.json carries them (MiB and KiB, rounded). */
export function summariseMemory(m: MemoryFigures): MemorySummary {
  const mb = (b: number | null, d = 2) => (b === null ? null : round(b / MIB, d));
  const out: MemorySummary = {
    heapUsedMb: m.heapUsedStartBytes !== null && m.heapUsedEndBytes !== null ? { start: mb(m.heapUsedStartBytes, 1)!, end: mb(m.heapUsedEndBytes, 1)! } : null,
    growthMbPer1kRequests: mb(m.growthBytesPer1kRequests, 3),
    allocatedKbPerRequest: m.allocated?.bytesPerRequest != null ? round(m.allocated.bytesPerRequest / 1024, 1) : null,
    gc: {
      pauses: m.pauses.length,
      ms: round(m.gcMs, 1),
      share: round(m.gcShare, 4),
      longestPauseMs: round(m.longestPause?.durationMs ?? 0, 2),
      longestPauseKind: m.longestPause?.kind ?? null,
      byKind: m.byKind,
    },
  };
  if (m.routes.size > 0) {
    out.routes = Object.fromEntries(
      [...m.routes].map(([route, r]) => [
        route,
        { allocatedKbPerRequest: r.allocatedBytesPerRequest === null ? null : round(r.allocatedBytesPerRequest / 1024, 1), growthMbPer1kRequests: mb(r.retainedBytesPer1kRequests, 3) },
      ]),
    );
  }
  return out;
}

/** A process's figures as summary.json carries them (pid as a number; eventLoop and rssMb when known). */
function processSummary(p: ProcessFigures): ProcessSummary {
  return {
    pid: Number(p.pid),
    role: p.role,
    requests: p.requests,
    rps: p.rps,
    blocks: p.blocks,
    blockedMs: p.blockedMs,
    blockedMsPerRequest: round(p.blockedMsPerRequest, 2),
    waitedMsPerRequest: round(p.waitedMsPerRequest, 2),
    ...(p.eventLoop ? { eventLoop: p.eventLoop } : {}),
    ...(p.rssMb ? { rssMb: p.rssMb } : {}),
  };
}
