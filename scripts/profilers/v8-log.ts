/**
 * V8's `--prof` tick log, preprocessed (`node --prof-process --preprocess`, which 0x writes as
 * `isolate-…-v8.log.json`) → a V8 .cpuprofile, so a run under 0x gets profile.cpuprofile, stacks.folded and
 * flamegraph.html from 0x's own samples (the probes' CPU profiler cannot run beside it: see ./zerox.ts).
 *
 * The preprocessed log: `code[]` (every code object: `{ name, type: JS|CPP|SHARED_LIB|CODE, kind }`, a JS name being
 * "<function> <url>:<line>:<column>", 1-based), and `ticks[]` (`{ tm: µs, vm: V8 StateTag, s: [codeIndex, offset, …] }`,
 * innermost frame first, codeIndex -1 when the address resolved to no code object). Like V8's own CPU profiler, the
 * profile keeps JS frames only; a tick without one is `(garbage collector)` (state GC), `(idle)` (state IDLE: Node
 * marks the event loop's wait) or `(program)` (native work).
 */
import type { CpuProfile, CpuProfileNode } from '../analysis/fold.js';

interface V8LogCode {
  name?: string;
  type?: string;
}

export interface V8LogJson {
  code: V8LogCode[];
  ticks: { tm: number; vm: number; s: number[] }[];
}

/** V8's StateTag values (include/v8-unwinder.h): JS, GC, PARSER, BYTECODE_COMPILER, COMPILER, OTHER, EXTERNAL, ATOMICS_WAIT, IDLE. */
const STATE_GC = 1;
const STATE_IDLE = 8;

type CallFrame = CpuProfileNode['callFrame'];

/** "fn file:///a/b.js:12:5" → { functionName: "fn", url: "file:///a/b.js", lineNumber: 11, columnNumber: 4 } (0-based, as in a .cpuprofile). */
export function parseJsCodeName(name: string): CallFrame {
  const space = name.lastIndexOf(' ');
  const fn = space >= 0 ? name.slice(0, space).trim() : '';
  const loc = space >= 0 ? name.slice(space + 1) : name;
  const m = /^(.*):(\d+):(\d+)$/.exec(loc);
  if (!m) return { functionName: name.trim(), url: '', lineNumber: -1, columnNumber: -1 };
  return { functionName: fn, url: m[1], lineNumber: Number(m[2]) - 1, columnNumber: Number(m[3]) - 1 };
}

function isV8LogJson(v: unknown): v is V8LogJson {
  return !!v && typeof v === 'object' && Array.isArray((v as V8LogJson).code) && Array.isArray((v as V8LogJson).ticks);
}

export function v8LogToCpuProfile(log: unknown): CpuProfile {
  if (!isV8LogJson(log)) throw new Error('not a preprocessed V8 log (no code and ticks arrays)');
  const frames = new Map<number, CallFrame | null>();
  const frameOf = (index: number): CallFrame | null => {
    if (index < 0) return null;
    let f = frames.get(index);
    if (f === undefined) {
      const c = log.code[index];
      f = c && c.type === 'JS' && typeof c.name === 'string' ? parseJsCodeName(c.name) : null;
      frames.set(index, f);
    }
    return f;
  };

  const root: CpuProfileNode = { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1, scriptId: '0' }, hitCount: 0, children: [] };
  const nodes: CpuProfileNode[] = [root];
  const childKey = new Map<string, number>(); // `${parentId}\u0000${frame}` → node id
  const byId = new Map<number, CpuProfileNode>([[1, root]]);
  const child = (parent: CpuProfileNode, f: CallFrame): CpuProfileNode => {
    const key = `${parent.id}\u0000${f.functionName}\u0000${f.url}\u0000${f.lineNumber}\u0000${f.columnNumber}`;
    const known = childKey.get(key);
    if (known !== undefined) return byId.get(known)!;
    const node: CpuProfileNode = { id: nodes.length + 1, callFrame: { ...f, scriptId: '0' }, hitCount: 0, children: [] };
    nodes.push(node);
    byId.set(node.id, node);
    childKey.set(key, node.id);
    parent.children!.push(node.id);
    return node;
  };
  const synthetic = (name: string): CallFrame => ({ functionName: name, url: '', lineNumber: -1, columnNumber: -1 });

  const ticks = [...log.ticks].sort((a, b) => a.tm - b.tm);
  const samples: number[] = [];
  const timeDeltas: number[] = [];
  let last = ticks[0]?.tm ?? 0;
  for (const t of ticks) {
    const js: CallFrame[] = [];
    for (let i = 0; i < t.s.length; i += 2) {
      const f = frameOf(t.s[i]);
      if (f) js.push(f);
    }
    let leaf: CpuProfileNode;
    if (t.vm === STATE_IDLE && js.length === 0) leaf = child(root, synthetic('(idle)'));
    else if (t.vm === STATE_GC) leaf = child(root, synthetic('(garbage collector)'));
    else if (js.length === 0) leaf = child(root, synthetic('(program)'));
    else {
      leaf = root;
      for (let i = js.length - 1; i >= 0; i--) leaf = child(leaf, js[i]);
    }
    leaf.hitCount = (leaf.hitCount ?? 0) + 1;
    samples.push(leaf.id);
    timeDeltas.push(Math.max(0, t.tm - last));
    last = t.tm;
  }
  return { nodes, samples, timeDeltas, startTime: ticks[0]?.tm ?? 0, endTime: last };
}
