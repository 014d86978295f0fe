/**
 * V8 .cpuprofile → Brendan Gregg folded stacks (`root;caller;callee count`), the input of flamegraph.html and of
 * later diffs. Frame = `name (file:line)`, file relative to the project root when inside it; `(idle)` is dropped
 * (an I/O-bound server is mostly idle, which would squash everything else).
 */
import { isAbsolute, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { CpuProfile, CpuProfileNode, SourcePosition } from '../../profiles/contract/types.js';

export type { CpuProfile, CpuProfileNode } from '../../profiles/contract/types.js';

export interface FoldOptions {
  /** Paths under this folder are shown relative to it. */
  root?: string;
  /** Frames to drop entirely (with their subtree), by function name. Default: (idle). */
  drop?: readonly string[];
  /**
   * The original source position of a frame (1-based line and column), e.g. SourceMapper.original of
   * ./sourcemaps.ts: a frame that has one is named by it ("priceBasket (src/pricing.ts:14)").
   */
  original?: (url: string, lineNumber: number, columnNumber: number) => SourcePosition | null;
  /** Count only the samples taken in [fromUs, toUs] (the profile's clock); needs `samples` and `timeDeltas`. */
  window?: { fromUs: number; toUs: number };
}

export function frameFile(url: string, root?: string): string {
  if (!url) return '';
  let path = url;
  if (url.startsWith('file://')) {
    try {
      path = fileURLToPath(url);
    } catch {
      path = url;
    }
  }
  if (root && isAbsolute(path)) {
    const rel = relative(root, path);
    if (rel && !rel.startsWith('..') && !isAbsolute(rel)) return rel;
  }
  return path;
}

/**
 * One frame's display name, at its original source position when `original` gives one; `;` and line breaks are
 * replaced since they delimit folded stacks.
 */
export function frameName(cf: CpuProfileNode['callFrame'], root?: string, original?: FoldOptions['original']): string {
  const name = (cf.functionName || '(anonymous)').replace(/[;\r\n]/g, ' ');
  const source = original?.(cf.url, cf.lineNumber + 1, (cf.columnNumber ?? -1) + 1);
  const file = frameFile(source?.url ?? cf.url, root).replace(/[;\r\n]/g, ' ');
  if (!file) return name;
  return `${name} (${file}:${source ? source.lineNumber : cf.lineNumber + 1})`;
}

/** Sample counts per node id: from `samples` when present (those in `window` only), else each node's hitCount. */
function selfCounts(profile: CpuProfile, window?: FoldOptions['window']): Map<number, number> {
  const counts = new Map<number, number>();
  if (profile.samples && profile.samples.length > 0) {
    let t = profile.startTime ?? 0;
    const deltas = profile.timeDeltas ?? [];
    profile.samples.forEach((id, i) => {
      t += deltas[i] ?? 0;
      if (!window || (t >= window.fromUs && t <= window.toUs)) counts.set(id, (counts.get(id) ?? 0) + 1);
    });
  } else {
    for (const n of profile.nodes) if (n.hitCount) counts.set(n.id, n.hitCount);
  }
  return counts;
}

/** Each node's folded stack ("root;…;frame"), for the nodes not dropped (with their subtree). */
function nodeStacks(profile: CpuProfile, options: FoldOptions): Map<number, string> {
  const drop = new Set(options.drop ?? ['(idle)']);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const childIds = new Set(profile.nodes.flatMap((n) => n.children ?? []));
  const roots = profile.nodes.filter((n) => !childIds.has(n.id));
  const paths = new Map<number, string>();
  const stack: [CpuProfileNode, string][] = [];
  const pushNode = (id: number, prefix: string): void => {
    const n = byId.get(id);
    if (!n || drop.has(n.callFrame.functionName)) return;
    const name = frameName(n.callFrame, options.root, options.original);
    stack.push([n, prefix ? `${prefix};${name}` : name]);
  };
  for (const r of roots) {
    // V8's synthetic "(root)" node is not a frame
    if (r.callFrame.functionName === '(root)') for (const c of r.children ?? []) pushNode(c, '');
    else pushNode(r.id, '');
  }
  while (stack.length > 0) {
    const [n, path] = stack.pop()!;
    paths.set(n.id, path);
    for (const c of n.children ?? []) pushNode(c, path);
  }
  return paths;
}

function toFoldedText(folded: Map<string, number>): string {
  return [...folded.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([path, count]) => `${path} ${count}`)
    .join('\n')
    .concat(folded.size > 0 ? '\n' : '');
}

export function foldCpuProfile(profile: CpuProfile, options: FoldOptions = {}): string {
  const paths = nodeStacks(profile, options);
  const folded = new Map<string, number>();
  for (const [id, self] of selfCounts(profile, options.window)) {
    const path = paths.get(id);
    if (path !== undefined && self > 0) folded.set(path, (folded.get(path) ?? 0) + self);
  }
  return toFoldedText(folded);
}

/**
 * The samples (those in `options.window`, dropped frames left out) folded per group: `groupOf(i)` names the group of
 * sample i (e.g. the request that ran it); each adds `weightOf(i)` (default 1) to its stack. Needs `samples` and
 * `timeDeltas`.
 */
export function foldSamplesBy<K>(
  profile: CpuProfile,
  groupOf: (sample: number) => K,
  options: FoldOptions = {},
  weightOf: (sample: number) => number = () => 1,
): Map<K, Map<string, number>> {
  const paths = nodeStacks(profile, options);
  const groups = new Map<K, Map<string, number>>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const window = options.window;
  let t = profile.startTime ?? 0;
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0;
    if (window && (t < window.fromUs || t > window.toUs)) continue;
    const path = paths.get(samples[i]!);
    if (path === undefined) continue;
    const key = groupOf(i);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = new Map()));
    g.set(path, (g.get(path) ?? 0) + weightOf(i));
  }
  return groups;
}

/** Parses folded text back into stack → count (sums duplicates; ignores malformed lines). */
export function parseFolded(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([\s\S]*) (\d+)$/.exec(line.trimEnd());
    if (!m || !m[1]) continue;
    out.set(m[1], (out.get(m[1]) ?? 0) + Number(m[2]));
  }
  return out;
}

/** Sums several folded texts (e.g. one per cluster worker). */
export function sumFolded(texts: readonly string[]): string {
  const total = new Map<string, number>();
  for (const t of texts) for (const [k, v] of parseFolded(t)) total.set(k, (total.get(k) ?? 0) + v);
  return [...total.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([k, v]) => `${k} ${v}`)
    .join('\n')
    .concat(total.size ? '\n' : '');
}

/** Milliseconds per sample of a V8 CPU profile: its duration (endTime − startTime, µs) over its samples. */
export function msPerSampleOf(profile: unknown): number | undefined {
  const p = profile as { startTime?: unknown; endTime?: unknown; samples?: unknown } | null;
  if (!p || typeof p.startTime !== 'number' || typeof p.endTime !== 'number' || !Array.isArray(p.samples) || p.samples.length === 0) return undefined;
  const ms = (p.endTime - p.startTime) / 1000 / p.samples.length;
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/**
 * What each sample stands for, in ms: the time to the next sample (as DevTools counts self time), capped at twice the
 * profile's median interval — under load the sampler's ticks come late, and a gap in which the thread was off the CPU
 * (or the sampler was) is not time the sampled code spent. The last sample gets the median. With the span profile
 * on Linux, the time the thread waited in the OS run queue in each interval (profile.looplens.runQueueUs) is taken
 * off first.
 */
export function sampleWeightsMs(profile: CpuProfile): Float64Array {
  const deltas = profile.timeDeltas ?? [];
  const n = profile.samples?.length ?? 0;
  const weights = new Float64Array(n);
  if (n === 0) return weights;
  const sorted = deltas.slice(1, n).sort((a, b) => a - b);
  const median = sorted.length ? sorted[Math.floor(sorted.length / 2)]! : 0;
  const cap = 2 * median;
  // the time the thread waited in the OS run queue is not the app's (the probes' span profile measures it)
  const waited = profile.looplens?.runQueueUs;
  for (let i = 0; i < n; i++) {
    const next = i + 1 < n ? (deltas[i + 1] ?? median) : median;
    weights[i] = Math.max(0, Math.min(next - (waited?.[i] ?? 0), cap)) / 1000;
  }
  return weights;
}
