/**
 * The data a flamegraph page draws, built from folded stacks (`a;b;c 12` per line): one tree per filter, each node
 * holding its inclusive samples on the head side (`v`) and, for a differential graph, on the base side (`b`) — the
 * union of both profiles' stacks, so the page can draw either shape (head's widths, or base's: Brendan Gregg's
 * differential and negated flamegraphs) from the same tree.
 *
 * Filters fold frames away rather than cutting stacks: a hidden frame's samples stay with the nearest kept frame
 * above it, so "app frames only" shows each app function with everything it called underneath it. A stack with
 * no kept frame is shown as one synthetic frame, so totals never change.
 */
import { parseFolded } from '../../scripts/analysis/fold.js';
import { frameKind, type FrameKind } from './frames.js';

export interface FlameNode {
  /** Index into `names`. */
  n: number;
  /** Samples (inclusive) on the head side — the only side of a single-run graph. */
  v: number;
  /** Inclusive samples of the same stack in the base (differential mode). */
  b?: number;
  c?: FlameNode[];
}

export type FilterName = 'all' | 'lib' | 'app';

/** What each filter keeps, and the frame that stands for a stack with nothing kept. */
export const FILTERS: Record<FilterName, { keeps: (kind: FrameKind) => boolean; empty: string; label: string }> = {
  all: { keeps: () => true, empty: '', label: 'all frames' },
  lib: { keeps: (k) => k === 'app' || k === 'special', empty: '(node internals and dependencies only)', label: 'hide node_modules / node: internals' },
  app: { keeps: (k) => k === 'app', empty: '(no app frame)', label: 'app frames only' },
};

/** One function's share of all the samples of each side (inclusive: anywhere on the stack, once per stack). */
export interface FunctionShare {
  /** Index into `names`. */
  n: number;
  head: number;
  base: number;
  /** Samples, per side. */
  headSamples: number;
  baseSamples: number;
  status: 'new' | 'vanished' | 'grew' | 'shrank';
}

export interface FlameData {
  names: string[];
  /** Per name: a app, d dependency, n Node, s V8 pseudo-frame, h a filter's synthetic frame. */
  kinds: string;
  /** The tree with every frame (the page's default view). */
  root: FlameNode;
  /** The same samples with the filters applied. */
  views: { lib: FlameNode; app: FlameNode };
  total: number;
  baseTotal?: number;
  /** Milliseconds one sample stands for, per side (a profile's duration / its samples), when known. */
  msPerSample?: number;
  baseMsPerSample?: number;
  /** Differential mode: the functions whose share moved most, largest move first — per filter, of the frames it keeps. */
  changes?: Record<FilterName, { grew: FunctionShare[]; shrank: FunctionShare[] }>;
}

export interface BuildOptions {
  msPerSample?: number;
  baseMsPerSample?: number;
  /** Functions listed per direction (default 12); moves under `minShare` (default 0.001 = 0.1 point) are left out. */
  maxChanges?: number;
  minShare?: number;
}

interface MutableNode {
  name: string;
  v: number;
  b: number;
  children: Map<string, MutableNode>;
}

/** Folded text → [frames, count] (the one folded parser, ../../scripts/analysis/fold.ts; empty counts dropped). */
export function parseFoldedLines(text: string): [string[], number][] {
  return [...parseFolded(text)].filter(([, n]) => n > 0).map(([stack, n]) => [stack.split(';'), n]);
}

/** A stack with a filter applied: hidden frames removed; the filter's placeholder when nothing is left. */
export function filterStack(frames: readonly string[], filter: FilterName): string[] {
  if (filter === 'all') return [...frames];
  const f = FILTERS[filter];
  const kept = frames.filter((x) => f.keeps(frameKind(x)));
  return kept.length ? kept : [f.empty];
}

function add(root: MutableNode, frames: readonly string[], count: number, side: 'v' | 'b'): void {
  let node = root;
  node[side] += count;
  for (const f of frames) {
    let child = node.children.get(f);
    if (!child) {
      child = { name: f, v: 0, b: 0, children: new Map() };
      node.children.set(f, child);
    }
    child[side] += count;
    node = child;
  }
}

function functionShares(head: [string[], number][], base: [string[], number][]): Map<string, { head: number; base: number }> {
  const out = new Map<string, { head: number; base: number }>();
  const count = (stacks: [string[], number][], side: 'head' | 'base') => {
    for (const [frames, n] of stacks) {
      for (const f of new Set(frames)) {
        let e = out.get(f);
        if (!e) out.set(f, (e = { head: 0, base: 0 }));
        e[side] += n;
      }
    }
  };
  count(head, 'head');
  count(base, 'base');
  return out;
}

/** Builds the trees the page draws (pass `base` for a differential graph). */
export function buildFlameData(folded: string, base?: string, options: BuildOptions = {}): FlameData {
  const head = parseFoldedLines(folded);
  const baseStacks = base !== undefined ? parseFoldedLines(base) : [];
  const names: string[] = [];
  const kinds: string[] = [];
  const index = new Map<string, number>();
  const nameIndex = (name: string, synthetic = false): number => {
    let i = index.get(name);
    if (i === undefined) {
      i = names.length;
      names.push(name);
      kinds.push(synthetic ? 'h' : ({ app: 'a', dep: 'd', node: 'n', special: 's' } as const)[frameKind(name)]);
      index.set(name, i);
    }
    return i;
  };
  nameIndex('all', true);
  const synthetic = new Set(Object.values(FILTERS).map((f) => f.empty));
  const tree = (filter: FilterName): FlameNode => {
    const root: MutableNode = { name: 'all', v: 0, b: 0, children: new Map() };
    for (const [frames, n] of head) add(root, filterStack(frames, filter), n, 'v');
    for (const [frames, n] of baseStacks) add(root, filterStack(frames, filter), n, 'b');
    const convert = (m: MutableNode): FlameNode => {
      const node: FlameNode = { n: nameIndex(m.name, synthetic.has(m.name)), v: m.v };
      if (base !== undefined) node.b = m.b;
      const kids = [...m.children.values()].sort((x, y) => y.v - x.v || y.b - x.b || (x.name < y.name ? -1 : 1)).map(convert);
      if (kids.length) node.c = kids;
      return node;
    };
    return convert(root);
  };
  const root = tree('all');
  const data: FlameData = { names, kinds: '', root, views: { lib: tree('lib'), app: tree('app') }, total: root.v };
  if (base !== undefined) data.baseTotal = root.b ?? 0;
  if (options.msPerSample !== undefined) data.msPerSample = options.msPerSample;
  if (options.baseMsPerSample !== undefined) data.baseMsPerSample = options.baseMsPerSample;
  if (base !== undefined) {
    const all = functionChanges(head, baseStacks, data.total, data.baseTotal!, nameIndex, options);
    const top = (filter: FilterName) => {
      const keeps = (c: FunctionShare) => FILTERS[filter].keeps(frameKind(names[c.n]));
      const max = options.maxChanges ?? 12;
      return { grew: all.grew.filter(keeps).slice(0, max), shrank: all.shrank.filter(keeps).slice(0, max) };
    };
    data.changes = { all: top('all'), lib: top('lib'), app: top('app') };
  }
  data.kinds = kinds.join('');
  return data;
}

/** Every function whose share moved by `minShare` or more, per direction, largest move first. */
function functionChanges(
  head: [string[], number][],
  base: [string[], number][],
  headTotal: number,
  baseTotal: number,
  nameIndex: (name: string) => number,
  options: BuildOptions,
): { grew: FunctionShare[]; shrank: FunctionShare[] } {
  const min = options.minShare ?? 0.001;
  const all: FunctionShare[] = [];
  for (const [name, s] of functionShares(head, base)) {
    const h = headTotal > 0 ? s.head / headTotal : 0;
    const b = baseTotal > 0 ? s.base / baseTotal : 0;
    if (Math.abs(h - b) < min) continue;
    const status = s.base === 0 ? 'new' : s.head === 0 ? 'vanished' : h > b ? 'grew' : 'shrank';
    all.push({ n: nameIndex(name), head: h, base: b, headSamples: s.head, baseSamples: s.base, status });
  }
  const by = (x: FunctionShare, y: FunctionShare) => Math.abs(y.head - y.base) - Math.abs(x.head - x.base) || x.n - y.n;
  return { grew: all.filter((x) => x.head > x.base).sort(by), shrank: all.filter((x) => x.head < x.base).sort(by) };
}

export { msPerSampleOf } from '../../scripts/analysis/fold.js';
