/**
 * The memory side of a run's evidence, over the measured window: the heap each second and every GC pause
 * (memory.jsonl), what was allocated and what stayed live (heap.heapprofile), by allocation site and route. Pure.
 *
 * - Growth is what the heap profile's live half holds: bytes allocated in the window's second half — up to the sample
 *   the probes noted two thirds into it (`settledOrdinal`) — and still live at the end (after a full GC), per 1,000
 *   requests of that stretch. Churn — allocated and collected — is not in it, nor what requests still in flight when
 *   the app stopped held.
 * - An allocation's site is the innermost frame on its stack that is the app's or a package's (./frames.ts); looplens'
 *   own measuring (the probes, OpenTelemetry) is left out of every figure here.
 * - An allocation's route: V8's heap samples carry no time, so they cannot be matched to a request by when they
 *   happened. They are charged by their stack: the innermost frame on it that the span profile saw run (its CPU
 *   samples) in one route's requests — ROUTE_SHARE of that frame's samples or more — names the route. Unknown
 *   (null) where no frame on the stack is that route's alone, or without a span profile.
 */
import type { GcPause, HeapProfileFile, HeapProfileNode, MemorySample, SamplingHeapProfile, TimeWindow } from '../../profiles/contract/index.js';
import type { FoldOptions } from './fold.js';
import { frameName } from './fold.js';
import { frameOwner, type FrameOwner } from './frames.js';

/**
 * A frame names an allocation's route when this share of its span-profile CPU ran in that route's requests. Not
 * higher: a sample within a fraction of a ms of a slice's edge can be charged to the neighbouring request, and a
 * handler that runs 0.2 ms a request has few samples (at 0.8 the fixture's leak route was sometimes named by none).
 */
export const ROUTE_SHARE = 0.6;
/** ... and it ran at least this many ms in the window's requests (fewer is too few samples to tell). */
const ROUTE_MIN_MS = 1;

export interface AllocationSite {
  /** The innermost app or package frame, "name (file:line)". */
  site: string;
  owner: FrameOwner;
  bytes: number;
  /** bytes ÷ the profile's bytes (measuring left out). */
  share: number;
  /** The route its allocations are charged to (by the share of its bytes), null when not known. */
  route: string | null;
  /** The stack of its largest allocation, outermost first. */
  stack: string[];
}

export interface HeapPart {
  window: TimeWindow;
  /** The app's bytes (looplens' measuring left out). */
  bytes: number;
  /** looplens' own measuring's bytes. */
  measuringBytes: number;
  /** Requests of the window that started in this part (traced ones; the load's count pro rata without traces). */
  requests: number;
  /** Folded stack ("frame;frame") → bytes: the allocation flamegraph. */
  stacks: Map<string, number>;
  /** By site, most bytes first. */
  sites: AllocationSite[];
  /** Bytes charged to each route (known ones only). */
  routes: Map<string, number>;
  /** Traced requests of each route that started in this part. */
  requestsByRoute: Map<string, number>;
}

export interface MemoryFigures {
  /** memory.jsonl's samples in the window (each second). */
  samples: MemorySample[];
  heapUsedStartBytes: number | null;
  heapUsedEndBytes: number | null;
  /** The window's GC pauses, in start order. */
  pauses: GcPause[];
  gcMs: number;
  /** gcMs ÷ the window's ms. */
  gcShare: number;
  longestPause: GcPause | null;
  byKind: Partial<Record<GcPause['kind'], { count: number; ms: number }>>;
  /** The heap profile's allocated half; null without heap.heapprofile. */
  allocated: (HeapPart & { bytesPerRequest: number | null }) | null;
  /** Its live half (allocated in it, still live at the end); null when the probes sampled none. */
  live: (HeapPart & { bytesPer1kRequests: number | null }) | null;
  /** live.bytesPer1kRequests: what the heap keeps per 1,000 requests. */
  growthBytesPer1kRequests: number | null;
  /** Per route (known from the stacks): bytes allocated per request, bytes kept per 1,000 requests. */
  routes: Map<string, { allocatedBytesPerRequest: number | null; retainedBytesPer1kRequests: number | null }>;
}

export interface MemoryInput {
  samples: readonly MemorySample[];
  heap: HeapProfileFile | null;
  window: TimeWindow;
  /** The window's traced requests: their start and route. */
  requests: readonly { startMs: number; route: string }[];
  /** Requests of the window (the load generator's count, else the traced ones). */
  requestCount: number;
  /** Span profile, per route: folded stack → ms (CpuFigures.routes); null without one. */
  routeStacks: Map<string, Map<string, number>> | null;
  original?: FoldOptions['original'];
}

const round = (x: number, digits = 0) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** Each frame's ms per route, from the span profile's stacks (a frame counted once per stack). */
function frameRoutes(routeStacks: Map<string, Map<string, number>>): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const [route, stacks] of routeStacks) {
    for (const [stack, ms] of stacks) {
      for (const frame of new Set(stack.split(';'))) {
        const m = out.get(frame) ?? out.set(frame, new Map()).get(frame)!;
        m.set(route, (m.get(route) ?? 0) + ms);
      }
    }
  }
  return out;
}

/** The route a frame belongs to (ROUTE_SHARE of its ms), or null. */
function routeOfFrame(frame: string, frames: Map<string, Map<string, number>>): string | null {
  const m = frames.get(frame);
  if (!m) return null;
  let total = 0;
  let best: [string, number] | null = null;
  for (const [route, ms] of m) {
    total += ms;
    if (!best || ms > best[1]) best = [route, ms];
  }
  return best && total >= ROUTE_MIN_MS && best[1] / total >= ROUTE_SHARE ? best[0] : null;
}

/** A sampling heap profile folded: stack (outermost first, "(root)" left out) → bytes of its node's own samples. */
export function foldHeapProfile(profile: SamplingHeapProfile, root?: string, original?: FoldOptions['original']): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (node: HeapProfileNode, path: string[]) => {
    const here = node.callFrame.functionName === '(root)' && path.length === 0 ? path : [...path, frameName(node.callFrame, root, original)];
    if (node.selfSize > 0 && here.length > 0) {
      const k = here.join(';');
      out.set(k, (out.get(k) ?? 0) + node.selfSize);
    }
    for (const c of node.children) walk(c, here);
  };
  walk(profile.head, []);
  return out;
}

/**
 * The samples up to `ordinal` of a profile, as a profile: each node's selfSize re-added from its samples. A sample's
 * `size` is already what it stands for (the inspector writes V8's object size × its scaled count: about the interval
 * for small objects), as each node's selfSize is their sum.
 */
export function samplesUpTo(profile: SamplingHeapProfile, ordinal: number): SamplingHeapProfile {
  const bytes = new Map<number, number>();
  const samples = profile.samples.filter((s) => s.ordinal <= ordinal);
  for (const s of samples) bytes.set(s.nodeId, (bytes.get(s.nodeId) ?? 0) + s.size);
  const copy = (n: HeapProfileNode): HeapProfileNode => ({ ...n, selfSize: bytes.get(n.id) ?? 0, children: n.children.map(copy) });
  return { head: copy(profile.head), samples };
}

function heapPart(
  profile: SamplingHeapProfile,
  window: TimeWindow,
  requests: number,
  requestsByRoute: Map<string, number>,
  cwd: string | undefined,
  frames: Map<string, Map<string, number>> | null,
  original?: FoldOptions['original'],
): HeapPart {
  const folded = foldHeapProfile(profile, cwd, original);
  const stacks = new Map<string, number>();
  const sites = new Map<string, { owner: FrameOwner; bytes: number; routes: Map<string, number>; top: [string[], number] }>();
  const routes = new Map<string, number>();
  let bytes = 0;
  let measuringBytes = 0;
  for (const [stack, n] of folded) {
    const list = stack.split(';');
    let site: { frame: string; owner: FrameOwner } | null = null;
    for (let i = list.length - 1; i >= 0 && !site; i--) {
      const owner = frameOwner(list[i]!);
      if (owner) site = { frame: list[i]!, owner };
    }
    if (site?.owner.kind === 'probes') {
      measuringBytes += n;
      continue;
    }
    bytes += n;
    stacks.set(stack, n);
    let route: string | null = null;
    if (frames) for (let i = list.length - 1; i >= 0 && !route; i--) route = routeOfFrame(list[i]!, frames);
    if (route) routes.set(route, (routes.get(route) ?? 0) + n);
    if (!site) continue; // Node's own allocations (no app or package frame): in the flamegraph, not a site
    const s = sites.get(site.frame) ?? sites.set(site.frame, { owner: site.owner, bytes: 0, routes: new Map(), top: [list, 0] }).get(site.frame)!;
    s.bytes += n;
    if (route) s.routes.set(route, (s.routes.get(route) ?? 0) + n);
    if (n > s.top[1]) s.top = [list, n];
  }
  const siteList: AllocationSite[] = [...sites].map(([site, s]) => {
    let route: string | null = null;
    let best = 0;
    for (const [r, n] of s.routes) if (n > best) [route, best] = [r, n];
    // a route names the site only when it holds most of its bytes
    if (best < s.bytes / 2) route = null;
    return { site, owner: s.owner, bytes: round(s.bytes), share: bytes > 0 ? s.bytes / bytes : 0, route, stack: s.top[0] };
  });
  siteList.sort((a, b) => b.bytes - a.bytes || a.site.localeCompare(b.site));
  return { window, bytes: round(bytes), measuringBytes: round(measuringBytes), requests, stacks, sites: siteList, routes, requestsByRoute };
}

export function memoryFiguresOf(input: MemoryInput): MemoryFigures {
  const { window } = input;
  const windowMs = Math.max(1, window.endMs - window.startMs);
  const samples = input.samples.filter((s) => s.t >= window.startMs && s.t <= window.endMs + 1000);
  const inWindow = samples.filter((s) => s.t <= window.endMs);
  const pauses = input.samples
    .flatMap((s) => s.gc)
    .filter((p) => p.startMs >= window.startMs && p.startMs <= window.endMs)
    .sort((a, b) => a.startMs - b.startMs);
  const byKind: MemoryFigures['byKind'] = {};
  let gcMs = 0;
  let longestPause: GcPause | null = null;
  for (const p of pauses) {
    gcMs += p.durationMs;
    const k = byKind[p.kind] ?? (byKind[p.kind] = { count: 0, ms: 0 });
    k.count++;
    k.ms = round(k.ms + p.durationMs, 3);
    if (!longestPause || p.durationMs > longestPause.durationMs) longestPause = p;
  }
  // the load's count pro rata where requests are not traced
  const requestsIn = (w: TimeWindow) => {
    const traced = input.requests.filter((r) => r.startMs >= w.startMs && r.startMs <= w.endMs).length;
    if (traced > 0 || input.requests.length > 0) return traced;
    return Math.round((input.requestCount * Math.max(0, Math.min(w.endMs, window.endMs) - Math.max(w.startMs, window.startMs))) / windowMs);
  };
  const byRouteIn = (w: TimeWindow) => {
    const m = new Map<string, number>();
    for (const r of input.requests) if (r.startMs >= w.startMs && r.startMs <= w.endMs) m.set(r.route, (m.get(r.route) ?? 0) + 1);
    return m;
  };
  const frames = input.routeStacks ? frameRoutes(input.routeStacks) : null;
  const heap = input.heap;
  const cwd = heap?.looplens?.cwd;
  let allocated: MemoryFigures['allocated'] = null;
  let live: MemoryFigures['live'] = null;
  if (heap) {
    const w = heap.looplens?.allocated ?? window;
    const part = heapPart(heap, w, requestsIn(w), byRouteIn(w), cwd, frames, input.original);
    allocated = { ...part, bytesPerRequest: part.requests > 0 ? round(part.bytes / part.requests) : null };
    const l = heap.looplens?.live;
    if (l) {
      const settled = l.settledOrdinal !== undefined && l.settledAtMs !== undefined;
      const lw = { startMs: l.fromMs, endMs: Math.min(settled ? l.settledAtMs! : l.atMs, window.endMs) };
      const profile = settled ? samplesUpTo(l, l.settledOrdinal!) : l;
      const lp = heapPart(profile, lw, requestsIn(lw), byRouteIn(lw), cwd, frames, input.original);
      live = { ...lp, bytesPer1kRequests: lp.requests > 0 ? round((lp.bytes / lp.requests) * 1000) : null };
    }
  }
  const routes: MemoryFigures['routes'] = new Map();
  for (const route of new Set([...(allocated?.routes.keys() ?? []), ...(live?.routes.keys() ?? [])])) {
    const na = allocated?.requestsByRoute.get(route) ?? 0;
    const nl = live?.requestsByRoute.get(route) ?? 0;
    routes.set(route, {
      allocatedBytesPerRequest: allocated && na > 0 ? round((allocated.routes.get(route) ?? 0) / na) : null,
      retainedBytesPer1kRequests: live && nl > 0 ? round(((live.routes.get(route) ?? 0) / nl) * 1000) : null,
    });
  }
  return {
    samples,
    heapUsedStartBytes: inWindow[0]?.heapUsedBytes ?? null,
    heapUsedEndBytes: inWindow.at(-1)?.heapUsedBytes ?? null,
    pauses,
    gcMs: round(gcMs, 3),
    gcShare: gcMs / windowMs,
    longestPause,
    byKind,
    allocated,
    live,
    growthBytesPer1kRequests: live?.bytesPer1kRequests ?? null,
    routes,
  };
}

/** ms of [from, to] that GC pauses cover (pauses sorted by start). */
export function gcMsIn(pauses: readonly GcPause[], from: number, to: number): number {
  let ms = 0;
  for (const p of pauses) {
    if (p.startMs >= to) break;
    const end = p.startMs + p.durationMs;
    if (end > from) ms += Math.min(end, to) - Math.max(p.startMs, from);
  }
  return ms;
}
