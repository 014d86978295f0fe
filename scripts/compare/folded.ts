/**
 * Folded stacks (`stacks.folded`, one `frame;frame;…;leaf count` per line) as comparable profiles.
 *
 * Two runs rarely share their absolute paths (base and head are often two checkouts) or their line numbers (the
 * change under review moves code), so frames are compared by a normalised name: the function name plus its file
 * relative to the project root, without line, column or JIT markers. The project root is where the run's
 * dependencies live (the folder holding node_modules/); without dependency frames, the last three path segments
 * are kept. Counts become shares of the run's total samples, so runs of different length compare.
 */
import { parseFolded as readFoldedCounts } from '../analysis/fold.js';
import { frameKind } from '../../dashboards/flamegraph/frames.js';

export interface FoldedProfile {
  /** Normalised stack ("a;b;c") → samples. */
  stacks: Map<string, number>;
  /** Every sample, idle included. */
  total: number;
  /** The project root detected from the frames (see findProjectRoot), if any. */
  root?: string;
}

/** Samples outside JavaScript that say nothing about which code got slower: kept in totals, left out of rankings. */
export const IDLE_FRAMES = new Set(['(idle)', '(root)']);

const MARKER = /(?:_\[[a-z]\])+$/i; // flamegraph annotations: _[j] JIT, _[i] inlined, _[k] kernel, _[w] waker
const LOCATION = /^(.*?)[ \t]+\(?((?:file:\/\/|node:|\/|[A-Za-z]:[\\/]|\.{0,2}\/|[\w@.-]+\/)[^()]*?)(?::\d+){0,2}\)?$/;

function splitFrame(frame: string): { name: string; location?: string } {
  const f = frame.trim().replace(MARKER, '');
  const m = LOCATION.exec(f);
  if (!m) return { name: f };
  return { name: m[1].trim() || '(anonymous)', location: m[2] };
}

function toPath(location: string): string {
  return location.replace(/^file:\/\//, '').replace(/\\/g, '/');
}

/**
 * The folder holding the app's node_modules/, from frame locations: the most frequent prefix before the first
 * "/node_modules/" (ending in "/"), or undefined when no frame is a dependency.
 */
export function findProjectRoot(locations: Iterable<string>): string | undefined {
  const counts = new Map<string, number>();
  for (const loc of locations) {
    const path = toPath(loc);
    const i = path.indexOf('/node_modules/');
    if (i < 0) continue;
    const root = path.slice(0, i + 1);
    counts.set(root, (counts.get(root) ?? 0) + 1);
  }
  let best: string | undefined;
  let bestN = 0;
  for (const [root, n] of counts) if (n > bestN || (n === bestN && best !== undefined && root.length < best.length)) [best, bestN] = [root, n];
  return best;
}

/**
 * A file path or URL, stable across checkouts: `node:…` as is, dependencies from node_modules/, relative paths as
 * they are, absolute app paths relative to the root (else their last three segments).
 */
export function shortenPath(location: string, root?: string): string {
  let path = toPath(location);
  if (path.startsWith('node:')) return path;
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) return path.slice(nm);
  if (root && path.startsWith(root)) return path.slice(root.length);
  const absolute = /^(?:\/|[A-Za-z]:\/)/.test(path);
  if (!absolute) return path.replace(/^(?:\.\/)+/, ''); // already relative (to the app's folder, as the probes write them)
  path = path.replace(/^[A-Za-z]:/, '');
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  return parts.slice(-3).join('/');
}

/**
 * "querySync (/srv/app/dist/target-app/db/sync.js:12:5)" → "querySync (dist/target-app/db/sync.js)" with root "/srv/app/".
 * Also accepts the space-separated form ("querySync file:///…/sync.js:12:5") and strips flamegraph markers.
 */
export function normaliseFrame(frame: string, root?: string): string {
  const { name, location } = splitFrame(frame);
  return location === undefined ? name : `${name} (${shortenPath(location, root)})`;
}

/** Project root of a set of raw frames (see findProjectRoot). */
export function rootOfFrames(frames: Iterable<string>): string | undefined {
  const locations: string[] = [];
  for (const f of frames) {
    const loc = splitFrame(f).location;
    if (loc !== undefined) locations.push(loc);
  }
  return findProjectRoot(locations);
}

/**
 * Parses folded text; lines that are not `stack count` are skipped. Frames are normalised (see normaliseFrame)
 * against `root`, detected from the frames themselves when not given.
 */
export function parseFolded(text: string, options: { normalise?: boolean; root?: string } = {}): FoldedProfile {
  const normalise = options.normalise ?? true;
  const counts = readFoldedCounts(text);
  const unique = new Set<string>();
  for (const stack of counts.keys()) for (const f of stack.split(';')) unique.add(f);
  const root = normalise ? (options.root ?? rootOfFrames(unique)) : undefined;
  const names = new Map<string, string>();
  for (const f of unique) names.set(f, normalise ? normaliseFrame(f, root) : f);
  const stacks = new Map<string, number>();
  let total = 0;
  for (const [raw, count] of counts) {
    if (count <= 0) continue;
    const stack = raw
      .split(';')
      .map((f) => names.get(f)!)
      .filter((f) => f !== '')
      .join(';');
    if (stack === '') continue;
    stacks.set(stack, (stacks.get(stack) ?? 0) + count);
    total += count;
  }
  return root === undefined ? { stacks, total } : { stacks, total, root };
}

/**
 * Idle samples of a V8 .cpuprofile (samples whose node is "(idle)"), or undefined when it has no sample list.
 * stacks.folded leaves idle out (it would squash a flamegraph); compare adds it back so shares are of all samples.
 */
export function idleSamples(cpuprofile: unknown): number | undefined {
  const p = cpuprofile as { nodes?: { id: number; callFrame?: { functionName?: string } }[]; samples?: number[] } | null;
  if (!p || !Array.isArray(p.nodes) || !Array.isArray(p.samples)) return undefined;
  const idle = new Set(p.nodes.filter((n) => n.callFrame?.functionName === '(idle)').map((n) => n.id));
  let n = 0;
  for (const id of p.samples) if (idle.has(id)) n++;
  return n;
}

/** Adds idle samples as an "(idle)" stack (replacing any), so the profile's total is every sample. */
export function withIdle(profile: FoldedProfile, idle: number): FoldedProfile {
  const stacks = new Map(profile.stacks);
  const before = stacks.get('(idle)') ?? 0;
  if (idle > 0) stacks.set('(idle)', idle);
  else stacks.delete('(idle)');
  return { ...profile, stacks, total: profile.total - before + idle };
}

export function leafOf(stack: string): string {
  const i = stack.lastIndexOf(';');
  return i < 0 ? stack : stack.slice(i + 1);
}

export interface FunctionTime {
  /** Samples in which the function was the leaf. */
  self: number;
  /** Samples in which the function was anywhere on the stack (recursion counted once). */
  total: number;
}

export function functionTimes(profile: FoldedProfile): Map<string, FunctionTime> {
  const out = new Map<string, FunctionTime>();
  const get = (fn: string): FunctionTime => {
    let t = out.get(fn);
    if (!t) out.set(fn, (t = { self: 0, total: 0 }));
    return t;
  };
  for (const [stack, count] of profile.stacks) {
    const frames = stack.split(';');
    get(frames[frames.length - 1]).self += count;
    for (const fn of new Set(frames)) get(fn).total += count;
  }
  return out;
}

export interface FunctionChange {
  function: string;
  /** Shares of all samples, 0..1. */
  baseSelf: number;
  headSelf: number;
  baseTotal: number;
  headTotal: number;
  /** headSelf − baseSelf (a difference of shares; ×100 for percentage points). */
  deltaSelf: number;
  /** headTotal − baseTotal. */
  deltaTotal: number;
}

export interface FunctionDiff {
  baseSamples: number;
  headSamples: number;
  /** Share of samples that were idle, per side (shown beside the table, not ranked). */
  baseIdle: number;
  headIdle: number;
  /** Self share grew, largest growth first. */
  grew: FunctionChange[];
  /** Self share shrank, largest drop first. */
  shrank: FunctionChange[];
  /**
   * The app's own functions (see isAppFrame) whose total share (with everything they called) moved, largest move
   * first. Self time names the leaf that waits (a bridge's Atomics.wait, a native call); this names the app code
   * that called it, e.g. the query function over its blocking client.
   */
  appTotal: FunctionChange[];
}

/**
 * A frame of the app itself, by its normalised name: it has a file, and the file is not Node's, not a dependency's
 * and not looplens's probes' (the flamegraph's classifier, dashboards/flamegraph/frames.ts, so both agree).
 */
export function isAppFrame(name: string): boolean {
  return frameKind(name) === 'app';
}

const share = (n: number, total: number): number => (total > 0 ? n / total : 0);

/**
 * Sampling noise of a difference of two shares: `z` standard errors of the two-proportion difference. Samples of a
 * CPU profile are not independent (a slow call spans many), so z is set high.
 */
export function samplingNoise(pBase: number, nBase: number, pHead: number, nHead: number, z = 3): number {
  const v = (nBase > 0 ? (pBase * (1 - pBase)) / nBase : 0) + (nHead > 0 ? (pHead * (1 - pHead)) / nHead : 0);
  return z * Math.sqrt(v);
}

/**
 * Self time per function in both profiles, as shares of each run's samples, and what moved.
 * Left out: changes smaller than `minDelta` (a share difference; default 0.001 = 0.1 percentage point) or than the
 * sampling noise of the two shares (`z` standard errors, default 3).
 */
export function diffFunctions(base: FoldedProfile, head: FoldedProfile, options: { minDelta?: number; z?: number } = {}): FunctionDiff {
  const minDelta = options.minDelta ?? 0.001;
  const z = options.z ?? 3;
  const b = functionTimes(base);
  const h = functionTimes(head);
  const changes: FunctionChange[] = [];
  const appTotal: FunctionChange[] = [];
  for (const fn of new Set([...b.keys(), ...h.keys()])) {
    if (IDLE_FRAMES.has(fn)) continue;
    const bt = b.get(fn) ?? { self: 0, total: 0 };
    const ht = h.get(fn) ?? { self: 0, total: 0 };
    const c: FunctionChange = {
      function: fn,
      baseSelf: share(bt.self, base.total),
      headSelf: share(ht.self, head.total),
      baseTotal: share(bt.total, base.total),
      headTotal: share(ht.total, head.total),
      deltaSelf: 0,
      deltaTotal: 0,
    };
    c.deltaSelf = c.headSelf - c.baseSelf;
    c.deltaTotal = c.headTotal - c.baseTotal;
    const noise = samplingNoise(c.baseSelf, base.total, c.headSelf, head.total, z);
    if (Math.abs(c.deltaSelf) >= Math.max(minDelta, noise)) changes.push(c);
    if (isAppFrame(fn) && Math.abs(c.deltaTotal) >= Math.max(minDelta, samplingNoise(c.baseTotal, base.total, c.headTotal, head.total, z))) {
      appTotal.push(c);
    }
  }
  const byName = (x: FunctionChange, y: FunctionChange) => (x.function < y.function ? -1 : x.function > y.function ? 1 : 0);
  return {
    baseSamples: base.total,
    headSamples: head.total,
    baseIdle: share(b.get('(idle)')?.self ?? 0, base.total),
    headIdle: share(h.get('(idle)')?.self ?? 0, head.total),
    grew: changes.filter((c) => c.deltaSelf > 0).sort((x, y) => y.deltaSelf - x.deltaSelf || byName(x, y)),
    shrank: changes.filter((c) => c.deltaSelf < 0).sort((x, y) => x.deltaSelf - y.deltaSelf || byName(x, y)),
    appTotal: appTotal.sort((x, y) => Math.abs(y.deltaTotal) - Math.abs(x.deltaTotal) || byName(x, y)),
  };
}

/** One stack of a differential profile: counts from both runs. */
export interface DiffStack {
  stack: string;
  base: number;
  head: number;
}

export interface StackDiff {
  baseTotal: number;
  headTotal: number;
  /** Milliseconds one sample stands for, per side (from profile.cpuprofile), when known. */
  baseMsPerSample?: number;
  headMsPerSample?: number;
  /** Union of both profiles' stacks, sorted by stack. */
  stacks: DiffStack[];
}

/** difffolded semantics: every stack of either profile with its base and head sample counts. */
export function diffStacks(base: FoldedProfile, head: FoldedProfile): StackDiff {
  const keys = [...new Set([...base.stacks.keys(), ...head.stacks.keys()])].sort();
  return {
    baseTotal: base.total,
    headTotal: head.total,
    stacks: keys.map((stack) => ({ stack, base: base.stacks.get(stack) ?? 0, head: head.stacks.get(stack) ?? 0 })),
  };
}

/**
 * The difffolded.pl text format (`stack base_count head_count`), which flamegraph.pl and other tools read.
 * Base counts are scaled to the head's total (like `difffolded.pl -n`), so the two columns compare directly.
 */
export function formatDiffFolded(diff: StackDiff): string {
  const scale = diff.baseTotal > 0 ? diff.headTotal / diff.baseTotal : 1;
  const lines: string[] = [];
  for (const s of diff.stacks) {
    const base = Math.round(s.base * scale);
    if (base === 0 && s.head === 0) continue;
    lines.push(`${s.stack.replace(/[\r\n]/g, ' ')} ${base} ${s.head}`);
  }
  return lines.join('\n') + (lines.length ? '\n' : '');
}

/**
 * One side of a stack diff as folded text (normalised frame names), e.g. for a flamegraph renderer. Idle samples
 * are left out, as in stacks.folded: a graph of them would squash the rest.
 */
export function sideAsFolded(diff: StackDiff, side: 'base' | 'head'): string {
  return diff.stacks
    .filter((s) => s[side] > 0 && !IDLE_FRAMES.has(leafOf(s.stack)))
    .map((s) => `${s.stack} ${s[side]}\n`)
    .join('');
}

/** Share of base samples in stacks that head never reached (a flamegraph shaped by head cannot draw them). */
export function baseOnlyShare(diff: StackDiff): number {
  const head = new Set<string>();
  for (const s of diff.stacks) {
    if (s.head <= 0) continue;
    const frames = s.stack.split(';');
    for (let i = 1; i <= frames.length; i++) head.add(frames.slice(0, i).join(';'));
  }
  let hidden = 0;
  for (const s of diff.stacks) if (s.base > 0 && !head.has(s.stack)) hidden += s.base;
  return diff.baseTotal > 0 ? hidden / diff.baseTotal : 0;
}

/** Keeps the heaviest stacks until `maxBytes` of folded text (used to trim captured fixtures). */
export function trimFolded(text: string, maxBytes: number): string {
  const rows = [...readFoldedCounts(text)].sort((a, b) => b[1] - a[1]);
  const out: string[] = [];
  let bytes = 0;
  for (const [stack, n] of rows) {
    const line = `${stack} ${n}`;
    const size = Buffer.byteLength(line) + 1;
    if (bytes + size > maxBytes) break;
    out.push(line);
    bytes += size;
  }
  return out.join('\n') + '\n';
}
