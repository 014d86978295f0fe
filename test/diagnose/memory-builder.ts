/**
 * Synthetic memory evidence for the memory rules' tests: a sampling heap profile (allocated and live halves) with the
 * stacks given, GC pauses, and a span profile's route per frame — through the evidence's own memoryFiguresOf.
 */
import type { GcPause, HeapProfileFile, HeapProfileNode, MemorySample } from '../../profiles/contract/index.js';
import type { Evidence } from '../../scripts/analysis/evidence.js';
import { memoryFiguresOf } from '../../scripts/analysis/memory.js';
import { T0, TraceBuilder } from './builder.js';

export const WINDOW_MS = 10_000;
/** An allocation: its stack (outermost first, each "name@file:line", file under /app) and bytes. */
export type Alloc = { stack: string[]; bytes: number };

function tree(allocs: readonly Alloc[]): { head: HeapProfileNode; samples: HeapProfileFile['samples'] } {
  let id = 1;
  const head: HeapProfileNode = { id: id++, callFrame: { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1, scriptId: 0 }, selfSize: 0, children: [] };
  const samples: HeapProfileFile['samples'] = [];
  let ordinal = 0;
  for (const a of allocs) {
    let node = head;
    for (const f of a.stack) {
      const at = f.indexOf('@');
      const [name, where] = [f.slice(0, at), f.slice(at + 1)];
      const [file, line] = [where.slice(0, where.lastIndexOf(':')), where.slice(where.lastIndexOf(':') + 1)];
      const url = `file:///app/${file}`;
      let child = node.children.find((c) => c.callFrame.functionName === name && c.callFrame.url === url);
      if (!child) {
        child = { id: id++, callFrame: { functionName: name, url, lineNumber: Number(line) - 1, columnNumber: 0, scriptId: 1 }, selfSize: 0, children: [] };
        node.children.push(child);
      }
      node = child;
    }
    node.selfSize += a.bytes;
    samples.push({ size: a.bytes, nodeId: node.id, ordinal: ordinal++ });
  }
  return { head, samples };
}

export interface MemoryCase {
  allocated: Alloc[];
  live: Alloc[];
  /** GC pauses in the window: [ms after T0, duration ms]. */
  pauses?: [number, number][];
  /** Requests per route, spread evenly over the window. */
  requests: Record<string, number>;
  /** Span-profile CPU ms per route and frame ("name (file:line)"): which route ran a frame. */
  frameRoutes?: Record<string, Record<string, number>>;
}

/** The evidence of `c` (traced requests over a 10 s window) with memory figures from its heap profile and pauses. */
export function memoryEvidence(c: MemoryCase): Evidence {
  const b = new TraceBuilder();
  for (const [route, n] of Object.entries(c.requests)) {
    const [method, path] = route.split(' ') as [string, string];
    b.requests(n, method, path, WINDOW_MS / n, 2);
  }
  const evidence = b.input();
  const window = { startMs: T0, endMs: T0 + WINDOW_MS };
  const a = tree(c.allocated);
  const l = tree(c.live);
  const heap: HeapProfileFile = {
    ...a,
    looplens: {
      intervalBytes: 131072,
      pid: 1,
      cwd: '/app',
      allocated: { startMs: T0, endMs: T0 + WINDOW_MS / 2 },
      live: { ...l, fromMs: T0 + WINDOW_MS / 2, atMs: T0 + WINDOW_MS + 200, settledOrdinal: l.samples.length, settledAtMs: T0 + WINDOW_MS },
    },
  };
  const gc: GcPause[] = (c.pauses ?? []).map(([t, d]) => ({ startMs: T0 + t, durationMs: d, kind: 'minor' }));
  const samples: MemorySample[] = Array.from({ length: 10 }, (_, i) => ({
    t: T0 + (i + 1) * 1000 - 1,
    heapUsedBytes: 50e6 + i * 1e6,
    heapTotalBytes: 80e6,
    externalBytes: 2e6,
    rssBytes: 150e6,
    gc: gc.filter((p) => p.startMs >= T0 + i * 1000 && p.startMs < T0 + (i + 1) * 1000),
  }));
  const routeStacks = c.frameRoutes
    ? new Map(Object.entries(c.frameRoutes).map(([route, frames]) => [route, new Map(Object.entries(frames))]))
    : null;
  const memory = memoryFiguresOf({
    samples,
    heap,
    window,
    requests: evidence.measured.requests.map((r) => ({ startMs: r.startMs, route: r.route })),
    requestCount: evidence.measured.requestCount,
    routeStacks,
  });
  return { ...evidence, window: { ...window, source: 'run.json' }, memory };
}

/** n allocations of `bytes` each at one stack. */
export const times = (n: number, stack: string[], bytes: number): Alloc[] => Array.from({ length: n }, () => ({ stack, bytes }));
