/**
 * Reads the JS stack that ran in a time window out of a V8 CPU profile (the .cpuprofile format).
 * Pure functions; used by the probe at shutdown and reusable on a saved profile.
 */
import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CpuProfile, CpuProfileNode, StackFrame } from '../../profiles/contract/types.js';

export type { CpuProfile, CpuProfileNode } from '../../profiles/contract/types.js';

/** Share of a window's samples an app function needs to be named over what else ran. */
const MIN_APP_SHARE = 0.1;
const META = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

/** A frame of the app itself: not Node's, not a dependency's, not the probes'. */
export function isAppUrl(url: string, excludePrefixes: readonly string[] = []): boolean {
  if (!url || url.startsWith('node:') || url.startsWith('internal/') || url.startsWith('evalmachine')) return false;
  if (url.includes('/node_modules/') || url.includes('\\node_modules\\')) return false;
  return !excludePrefixes.some((p) => url.startsWith(p));
}

export interface ProfileIndex {
  /** Absolute sample times, µs on the profile's (monotonic) clock. */
  times: Float64Array;
  samples: Int32Array;
  byId: Map<number, CpuProfileNode>;
  parent: Map<number, number>;
}

export function indexProfile(profile: CpuProfile): ProfileIndex {
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const times = new Float64Array(samples.length);
  let t = profile.startTime ?? 0;
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0;
    times[i] = t;
  }
  const byId = new Map<number, CpuProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  return { times, samples: Int32Array.from(samples), byId, parent };
}

function lowerBound(times: Float64Array, value: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** V8's positions are 0-based (-1 when unknown, e.g. native code): 1-based, or 0 when unknown. */
function toFrame(node: CpuProfileNode): StackFrame {
  const cf = node.callFrame;
  return {
    functionName: cf.functionName,
    url: cf.url,
    lineNumber: Math.max(0, cf.lineNumber + 1),
    columnNumber: Math.max(0, (cf.columnNumber ?? -1) + 1),
  };
}

/** "at fn (url:line:col)", or "at fn (native)" for frames without a script. */
export function formatStackLine(frame: StackFrame): string {
  const where = frame.url ? `${frame.url}:${frame.lineNumber}:${frame.columnNumber}` : 'native';
  return `at ${frame.functionName || '(anonymous)'} (${where})`;
}

/** Innermost first, without the profiler's meta nodes. */
export function stackOf(index: ProfileIndex, leafId: number): StackFrame[] {
  const frames: StackFrame[] = [];
  for (let id: number | undefined = leafId; id !== undefined; id = index.parent.get(id)) {
    const node = index.byId.get(id);
    if (node && !META.has(node.callFrame.functionName)) frames.push(toFrame(node));
  }
  return frames;
}

export function displayUrl(url: string, cwd: string): string {
  let path = url;
  if (url.startsWith('file://')) {
    try {
      path = fileURLToPath(url);
    } catch {
      return url;
    }
  }
  if (cwd && path.startsWith(cwd + sep)) return relative(cwd, path);
  return path;
}

/** "name (file:line)" */
export function formatFrame(frame: StackFrame, cwd: string): string {
  return `${frame.functionName || '(anonymous)'} (${displayUrl(frame.url, cwd)}:${frame.lineNumber})`;
}

export interface WindowStack {
  topFrame: string;
  frames: StackFrame[];
  /** Samples seen in the window. */
  samples: number;
}

/**
 * The dominant stack in [startUs, endUs]: the innermost app frame seen in most samples, and the most frequent full
 * stack among those samples. A native call (e.g. a *Sync function) shows its JS caller, which is what gets named.
 */
export function stackInWindow(
  index: ProfileIndex,
  startUs: number,
  endUs: number,
  opts: { cwd: string; excludeUrlPrefixes?: readonly string[] },
): WindowStack {
  const exclude = opts.excludeUrlPrefixes ?? [];
  const appFrameOfLeaf = new Map<number, string | null>();
  const byApp = new Map<string, Map<number, number>>();
  let seen = 0;
  let gc = 0;
  for (let i = lowerBound(index.times, startUs); i < index.times.length && index.times[i] <= endUs; i++) {
    const leaf = index.samples[i];
    const node = index.byId.get(leaf);
    if (!node || node.callFrame.functionName === '(idle)' || node.callFrame.functionName === '(program)') continue;
    seen++;
    if (node.callFrame.functionName === '(garbage collector)') gc++;
    let key = appFrameOfLeaf.get(leaf);
    if (key === undefined) {
      key = null;
      for (let id: number | undefined = leaf; id !== undefined; id = index.parent.get(id)) {
        const cf = index.byId.get(id)?.callFrame;
        if (cf && !META.has(cf.functionName) && isAppUrl(cf.url, exclude)) {
          key = `${cf.functionName}\u0000${cf.url}\u0000${cf.lineNumber}`;
          break;
        }
      }
      appFrameOfLeaf.set(leaf, key);
    }
    const k = key ?? '';
    let leaves = byApp.get(k);
    if (!leaves) byApp.set(k, (leaves = new Map()));
    leaves.set(leaf, (leaves.get(leaf) ?? 0) + 1);
  }
  if (seen === 0) return { topFrame: '(no samples)', frames: [], samples: 0 };
  // Mostly garbage collection: say so rather than name whichever app frame happened to be on the stack.
  if (gc * 2 >= seen) return { topFrame: '(garbage collector)', frames: [], samples: seen };
  // The app function seen in most samples; samples without any app frame (compilation, GC, Node internals) decide
  // only when no app function holds at least MIN_APP_SHARE of the window.
  let bestKey = '';
  let bestCount = 0;
  for (const [key, leaves] of byApp) {
    if (key === '') continue;
    let count = 0;
    for (const c of leaves.values()) count += c;
    if (count > bestCount) {
      bestKey = key;
      bestCount = count;
    }
  }
  if (bestCount < MIN_APP_SHARE * seen && byApp.has('')) bestKey = '';
  let bestLeaf = -1;
  let bestLeafCount = -1;
  for (const [leaf, count] of byApp.get(bestKey)!) {
    if (count > bestLeafCount) {
      bestLeaf = leaf;
      bestLeafCount = count;
    }
  }
  const frames = stackOf(index, bestLeaf);
  const top = frames.find((f) => isAppUrl(f.url, exclude)) ?? frames[0];
  return { topFrame: top ? formatFrame(top, opts.cwd) : '(native)', frames, samples: seen };
}

export interface StretchOptions {
  /** Sorted times (µs) that end a stretch, e.g. the times requests started: the samples after one begin a new one. */
  breaksUs?: readonly number[];
  /**
   * Sorted times (µs) at which the loop is known to have been held (the watchdog's marks): a gap in the samples that
   * holds one does not end a stretch — the sampler missed samples, the loop did not turn.
   */
  bridgesUs?: readonly number[];
  /**
   * µs the thread waited for a CPU in the window (Linux run-queue time): gaps up to this much in all do not end a
   * stretch — a thread the OS took off the CPU is not sampled, and its loop does not turn either.
   */
  offCpuUs?: number;
}

/**
 * The longest stretch of consecutive busy samples (not idle) in [startUs, endUs], as [firstUs, lastUs]: a block the
 * profile saw while nothing timed callbacks. Samples further apart than maxGapUs end a stretch — unless a bridge
 * lies in the gap or the thread's off-CPU time covers it — and so does each break: the samples after a break begin a
 * new stretch, so requests handled back to back in one late loop turn are not taken for one block.
 */
export function longestBusyStretch(index: ProfileIndex, startUs: number, endUs: number, maxGapUs: number, opts: StretchOptions = {}): [number, number] | null {
  const breaksUs = opts.breaksUs ?? [];
  const bridgesUs = opts.bridgesUs ?? [];
  let offCpu = opts.offCpuUs ?? 0;
  let best: [number, number] | null = null;
  let runStart = -1;
  let last = -1;
  let b = 0;
  let k = 0;
  for (let i = lowerBound(index.times, startUs); i < index.times.length && index.times[i] <= endUs; i++) {
    const t = index.times[i];
    const idle = index.byId.get(index.samples[i])?.callFrame.functionName === '(idle)';
    let broken = false;
    while (b < breaksUs.length && breaksUs[b] <= t) {
      if (breaksUs[b] > last) broken = true;
      b++;
    }
    let bridged = false;
    while (k < bridgesUs.length && bridgesUs[k] <= t) {
      if (bridgesUs[k] > last) bridged = true;
      k++;
    }
    let gapped = false;
    if (last >= 0 && t - last > maxGapUs && !bridged) {
      if (t - last <= offCpu) offCpu -= t - last;
      else gapped = true;
    }
    if (idle || (last >= 0 && (gapped || broken))) {
      if (runStart >= 0 && (!best || last - runStart > best[1] - best[0])) best = [runStart, last];
      runStart = -1;
      last = -1;
      if (idle) continue;
    }
    if (runStart < 0) runStart = t;
    last = t;
  }
  if (runStart >= 0 && (!best || last - runStart > best[1] - best[0])) best = [runStart, last];
  return best;
}
