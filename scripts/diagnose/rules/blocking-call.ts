/**
 * Blocking call — a function that held the event loop (blocking.json), per route and function: ms per request, share
 * of all blocked time, and the kind of blocker (a synchronous call that held it only in stretches under the block
 * threshold is found in the route's span profile instead: syncCallsOnLoop below): a synchronous database driver when the request's query spans ran
 * inside the block, else what the stack shows (`*Sync` fs/zlib/crypto/child_process, JSON, regex, CPU-bound JS).
 *
 * Saving: the loop time given back per request of the route (blocked ms of the group in the measured window ÷ the
 * route's requests there — the evidence's per-route figures, so it is the route's blocked ms per request of
 * summary.json, shared out by function). Not the request's own latency: an async driver still waits for the database,
 * but the loop serves other requests meanwhile; under load, every request queued behind a block gains that time —
 * the evidence's `waitersMs`, reported as `waitedMsCaused`.
 */
import type { Finding, StackFrame } from '../../../profiles/contract/index.js';
import type { RouteCpu } from '../../analysis/cpu.js';
import type { EvidenceBlock } from '../../analysis/evidence.js';
import { isCacheSystem } from '../../analysis/requests.js';
import { MIN_ROUTE_REQUESTS, covered, findingKey, groupBy, interval, median, pct, round, routesOf, sum, type Evidence, type Interval, type Rule } from '../rule.js';

/** A group must block at least this much per request of its route… */
export const MIN_MS_PER_REQUEST = 1;
/** …and at least this many times (one slow first call — JIT, a cold cache — is not a pattern)… */
export const MIN_EVENTS = 3;
/**
 * …with the same innermost frame in at least this share of its blocks. A real blocker stops the loop in the same
 * place every time (zlib's writeSync, the driver's wait, the hot loop); blocks that land on scattered frames under one
 * caller are the process being starved of CPU (an overloaded machine), not something in the code to fix.
 */
export const MIN_SAME_LEAF_SHARE = 0.5;
/** …and in at least this share of the route's requests (a blocker in the handler's path blocks most of them). */
export const MIN_EVENTS_PER_REQUEST = 0.25;
/**
 * Blocks that end in a native write to a non-blocking handle (a socket, a pipe, an async zlib stream) are not
 * blockers: such a write returns at once unless the OS took the CPU away right there (waking the reader on the same
 * machine is a classic point of preemption). On a busy machine these blocks are common and say nothing about the
 * code. A `*Sync` frame in the stack (fs.writeSync → binding.writeBuffer) makes the write a real blocker again.
 */
export const NON_BLOCKING_LEAVES = /^(write|writev|writeBuffer|writeUtf8String|writeLatin1String|writeAsciiString|writeUcs2String)$/;

function isHandleWrite(e: EvidenceBlock): boolean {
  const leaf = e.frames[0];
  return leaf !== undefined && leaf.url === '' && NON_BLOCKING_LEAVES.test(leaf.functionName) && !e.frames.some((f) => /Sync$/.test(f.functionName));
}

export type BlockerKind =
  | 'sync-http'
  | 'sync-db-driver'
  | 'sync-fs'
  | 'sync-zlib'
  | 'sync-crypto'
  | 'sync-child-process'
  | 'json'
  | 'regex'
  | 'cpu-loop';

const FIXES: Record<BlockerKind, string> = {
  'sync-http':
    'Call the service with an asynchronous client (`await fetch(…)`, undici) so the loop serves other requests while the answer is on its way; where only a synchronous client exists, run it on a worker-thread pool (e.g. piscina) — the loop stays free, but calls past the pool\'s threads queue.',
  'sync-db-driver': 'Use the asynchronous driver (e.g. `pg` with `await pool.query`) so the loop serves other requests while the database works.',
  'sync-fs': 'Use the promise API (`fs/promises`) or a stream instead of the `*Sync` call, so file I/O runs in the threadpool.',
  'sync-zlib': 'Use the asynchronous zlib call (`zlib.gzip` promisified, or a compression stream) so compression runs in the threadpool.',
  'sync-crypto': 'Use the asynchronous crypto call (`crypto.pbkdf2`/`scrypt`/`randomBytes` with a callback) so it runs in the threadpool.',
  'sync-child-process': 'Use `execFile`/`spawn` (asynchronous) instead of the `*Sync` child_process call.',
  json: 'Stop parsing or serialising large payloads on the loop: paginate or trim the payload, stream it, or move the work to a worker thread.',
  regex: 'Bound the input or rewrite the pattern (catastrophic backtracking), or run the match in a worker thread.',
  'cpu-loop': 'Move the CPU-bound work off the loop (a worker thread, e.g. piscina), or make it incremental or cached.',
};

const LOCATION = /^(.*?)\s*\(([^()]*?)(?::(\d+))?(?::\d+)?\)$/;

/** "name (file:line[:col])" → parts; tolerant of anonymous frames and missing lines. */
export function parseTopFrame(top: string): { fn: string; file: string; line: number | null } {
  const m = LOCATION.exec(top.trim());
  if (!m) return { fn: top.trim() || '(anonymous)', file: '', line: null };
  return { fn: m[1] || '(anonymous)', file: m[2] ?? '', line: m[3] ? Number(m[3]) : null };
}

/**
 * Database queries of the blocked request that ran inside the block, as a share of its duration. A synchronous driver
 * (pg-native's querySync, a worker + Atomics.wait client) runs its queries while the loop is stopped, so their spans
 * sit inside the block — whatever the driver's functions are called. An async driver's queries run between turns.
 */
export const MIN_DB_SHARE_OF_BLOCK = 0.5;

function dbShareOfBlock(e: EvidenceBlock): number {
  const list = e.request?.queries.filter((q) => !isCacheSystem(q.system)).map((q) => interval(q.span));
  if (!list || e.durationMs <= 0) return 0;
  const inside = list.map(([a, b]): Interval => [Math.max(a, e.startMs), Math.min(b, e.endMs)]);
  return covered(inside) / e.durationMs;
}

/** Ordered: the first signature any frame matches wins, so a driver's own `*Sync` beats the fs call inside it. */
const SIGNATURES: [BlockerKind, (fn: string, url: string) => boolean][] = [
  ['sync-child-process', (fn, url) => /^(execSync|execFileSync|spawnSync)$/.test(fn) || (/Sync$/.test(fn) && /child_process/.test(url))],
  // a synchronous HTTP client (sync-request, sync-fetch, a worker + Atomics.wait bridge like target-app's httpGetSync):
  // before the database signature, whose Atomics.wait it shares
  [
    'sync-http',
    (fn, url) =>
      /^(http|https|request|fetch|curl)\w*Sync$/i.test(fn) || /(^|[\\/])(sync[-_]?(http|request|fetch|curl)|(http|request|fetch|curl)[-_]?sync)[^\\/]*([\\/]|$)/i.test(url),
  ],
  [
    'sync-db-driver',
    (fn, url) =>
      /^(querySync|prepareSync|executeSync|connectSync)$/.test(fn) || // pg-native, better-sqlite3-like drivers
      /^(Atomics\.)?wait$/.test(fn) || // a worker-backed synchronous client parks the main thread here
      /(sync|blocking)[-_]?(db|pg|sql|client|driver|query)|(db|pg|sql|query)[-_]?sync/i.test(url),
  ],
  ['sync-zlib', (fn, url) => /Sync$/.test(fn) && /zlib|gzip|deflate|inflate|gunzip|brotli|unzip/i.test(`${fn} ${url}`)],
  ['sync-crypto', (fn, url) => /Sync$/.test(fn) && /crypto|pbkdf2|scrypt|randomBytes|randomFill|generateKey/i.test(`${fn} ${url}`)],
  ['sync-fs', (fn, url) => /Sync$/.test(fn) && (/(^|[:/])fs\b|node:fs/.test(url) || /^(read|write|append|copy|open|stat|lstat|readdir|exists|mkdir|rm|unlink|rename|access)\w*Sync$/.test(fn))],
  ['json', (fn, url) => /^(JSON\.)?(parse|stringify)$/.test(fn) && (url === '' || fn.startsWith('JSON.'))],
  [
    'regex',
    (fn, url) =>
      (url === '' && /^(RegExp\.prototype\.)?(exec|test|\[Symbol\.(replace|match|matchAll|split)\])$/.test(fn)) ||
      /^String\.prototype\.(replace|replaceAll|match|matchAll|split|search)$/.test(fn),
  ],
];

/** What kind of blocker a stack shows (frames innermost first; Node internals and dependencies included). */
export function classifyBlocker(frames: Pick<StackFrame, 'functionName' | 'url'>[], topFrame: string): BlockerKind {
  const top = parseTopFrame(topFrame);
  const all = [...frames.map((f) => ({ fn: f.functionName, url: f.url })), { fn: top.fn, url: top.file }];
  for (const [kind, matches] of SIGNATURES) {
    if (all.some(({ fn, url }) => matches(fn.replace(/^(?!JSON\.|Atomics\.|RegExp\.|String\.)[\w$]+\./, ''), url))) return kind;
  }
  return 'cpu-loop';
}

/**
 * The group a block belongs to: its route and the function (name and file) it blocked in — one blocking-call finding
 * per group. diagnose uses it to rank a blocking call before the findings whose requests waited behind its blocks.
 */
export function blockGroup(e: Pick<EvidenceBlock, 'route' | 'topFrame'>): string {
  const { fn, file } = parseTopFrame(e.topFrame);
  return `${e.route ?? '-'} ${fn}${file ? ` (${file})` : ''}`;
}

export const blockingCall: Rule = {
  kind: 'blocking-call',
  describe: 'a function that blocked the event loop (blocking.json, or synchronous calls in the span profile): route, function, ms per request',
  detect(context): Finding[] {
    const fromBlocks = blockingCallsOf(context.measured);
    const routes = new Set(fromBlocks.map((f) => f.route));
    return [...fromBlocks, ...syncCallsOnLoop(context.cpu?.routes ?? null, routesOf(context.measured).keys(), routes)];
  },
};

/** One finding per route and function that blocked the loop (blocking.json's blocks in the window). */
function blockingCallsOf(measured: Evidence['measured']): Finding[] {
  if (measured.blocks.length === 0) return [];
  const totalBlocked = sum(measured.blocks.map((e) => e.durationMs));
  const figures = new Map(measured.routes.map((f) => [f.route, f]));
  const groups = groupBy(
    measured.blocks.filter((e) => !isHandleWrite(e)),
    blockGroup,
  );
  const findings: Finding[] = [];
  for (const events of groups.values()) {
    const first = events[0]!;
    const route = first.route;
    // the route's requests in the window, as every view counts them (the evidence's per-route figures)
    const routeRequests = Math.max(1, route === null ? measured.requestCount : (figures.get(route)?.requests ?? events.length));
    if (route !== null && routeRequests < MIN_ROUTE_REQUESTS) continue;
    const blockedMs = sum(events.map((e) => e.durationMs));
    const msPerRequest = blockedMs / routeRequests;
    if (events.length < MIN_EVENTS || msPerRequest < MIN_MS_PER_REQUEST || events.length / routeRequests < MIN_EVENTS_PER_REQUEST) continue;
    const leaves = groupBy(events, (e) => (e.frames[0] ? `${e.frames[0].functionName} ${e.frames[0].url}` : e.topFrame));
    const sameLeafShare = Math.max(...[...leaves.values()].map((l) => l.length)) / events.length;
    if (sameLeafShare < MIN_SAME_LEAF_SHARE) continue;
    const longest = events.reduce((a, b) => (b.durationMs > a.durationMs ? b : a));
    const dbShare = median(events.map(dbShareOfBlock));
    const kind = dbShare >= MIN_DB_SHARE_OF_BLOCK ? 'sync-db-driver' : classifyBlocker(longest.frames, longest.topFrame);
    // Name the function the app called: the innermost app frame, or — for a synchronous API whose innermost frame
    // is plumbing (a driver's bridge to its worker) — the outermost `*Sync` app frame of the chain above it.
    const syncApis = events.map(syncApiOf).filter((x): x is StackFrame => x !== null);
    const api = mostCommon(syncApis.map(frameText));
    const shortPath = relativeTo(longest);
    let { fn, file, line } = parseTopFrame(api ?? longest.topFrame);
    file = shortPath(file);
    // Several entry points of one synchronous API (querySync, connectSync, endSync) are named together.
    const siblings = [...new Set(syncApis.filter((f) => shortPath(shownAt(f).url) === file).map((f) => f.functionName))];
    const where = `${siblings.length > 1 ? siblings.join('/') : fn}${file ? ` (${file}${line && siblings.length <= 1 ? `:${line}` : ''})` : ''}`;
    // The API the app frame called (the frame just inside the innermost app frame), e.g. zlib's syncBufferWrapper.
    const appIndex = longest.frames.findIndex((f) => isAppUrl(f.url));
    const callee = appIndex > 0 ? longest.frames[appIndex - 1]! : null;
    const calls = callee ? `${callee.functionName || '(anonymous)'}${callee.url ? ` (${callee.url.replace(/^.*node_modules\//, '')})` : ''}` : null;
    // The app's function that made the call: the first app frame outside the one named (the handler that called
    // httpGetSync, the route that ran the hot loop)
    const named = api ? syncApis.find((f) => frameText(f) === api) : undefined;
    const from = callerOf(longest, named);
    const caller = from ? `${from.functionName || '(anonymous)'} (${shortPath(shownAt(from).url)}:${shownAt(from).line})` : null;
    const waitedMsCaused = sum(events.map((e) => e.waitersMs));
    // where the named function ran, when a source map moved it (the compiled file kept beside the source)
    const ran = named ?? longest.frames.find((f) => isAppUrl(f.url));
    const compiledAt = ran?.original ? `${ran.functionName || '(anonymous)'} (${shortPath(ran.url)}:${ran.lineNumber})` : null;
    findings.push({
      kind: 'blocking-call',
      // The group's identity (its top frame), not the display name: which *Sync call is most common varies by run.
      key: findingKey('blocking-call', route, `${first.topFrame.replace(/:\d+(:\d+)?\)$/, ')').replace(/\(.*\//, '(')}`),
      route,
      title: `${where}${calls ? ` → ${calls}` : ''} blocks the event loop ${round(msPerRequest)} ms per ${route ?? 'request'} (${kindLabel(kind)})`,
      evidence: {
        function: fn,
        file,
        line,
        group: blockGroup(first),
        blocker: kind,
        calls,
        caller,
        ...(compiledAt ? { compiledAt } : {}),
        ...(syncApis.length ? { syncCalls: [...new Set(syncApis.map((f) => f.functionName))] } : {}),
        events: events.length,
        blockedMs: round(blockedMs),
        requests: routeRequests,
        msPerRequest: round(msPerRequest),
        longestMs: round(longest.durationMs),
        shareOfBlockedTime: pct(blockedMs / totalBlocked),
        sameStackShare: pct(sameLeafShare),
        dbShareOfBlock: pct(dbShare),
        waitedMsCaused: round(waitedMsCaused),
        stack: longest.frames.slice(0, 6).map((f) => `${f.functionName || '(anonymous)'} (${shortPath(shownAt(f).url)}:${shownAt(f).line})`),
        estimate: `loop time given back per request: blocked ms of this function on this route in the measured window (${round(blockedMs)} ms over ${events.length} blocks) ÷ ${routeRequests} requests of the route; other requests in flight waited ${round(waitedMsCaused)} ms behind these blocks in all`,
      },
      savingMsPerRequest: round(msPerRequest),
      fix: FIXES[kind],
      ...(longest.traceId ? { traceId: longest.traceId } : {}),
    });
  }
  return findings;
}

/** Synchronous calls, not CPU work: what a sample inside one of them spent, the loop spent waiting. */
const SYNC_KINDS: ReadonlySet<BlockerKind> = new Set(['sync-http', 'sync-db-driver', 'sync-fs', 'sync-zlib', 'sync-crypto', 'sync-child-process']);
/** Less loop time than this in all, over the window, says too little (20 samples at the default 5 ms interval). */
export const MIN_SYNC_TOTAL_MS = 100;

/** A folded stack ("a (f:1);b (g:2)", outermost first) as frames innermost first. */
type Frame = Pick<StackFrame, 'functionName' | 'url' | 'lineNumber'>;

function foldedFrames(stack: string): Frame[] {
  return stack
    .split(';')
    .reverse()
    .map((f) => {
      const { fn, file, line } = parseTopFrame(f);
      return { functionName: fn === '(anonymous)' ? '' : fn, url: file, lineNumber: line ?? 0 };
    });
}

/**
 * The synchronous call a sample's stack is inside (a `*Sync` fs/zlib/crypto/child_process call, a synchronous
 * database driver or HTTP client), or null for any other work. The cpu-hotspot rule leaves these stacks to this one.
 */
export function syncKindOfStack(stack: string): BlockerKind | null {
  const frames = foldedFrames(stack);
  const kind = classifyBlocker(frames, '');
  return SYNC_KINDS.has(kind) ? kind : null;
}

/**
 * Synchronous calls held the loop on a route in stretches each shorter than the block threshold (a synchronous driver
 * on a fast machine: 12 ms a request in 3 ms pieces): no block was recorded, yet every other request waited. Found in
 * the span profile — the route's own CPU samples (scripts/analysis/cpu.ts), each weighing the time to the next — when
 * the samples inside one synchronous call come to MIN_MS_PER_REQUEST per request and MIN_SYNC_TOTAL_MS in all, on a
 * route with no blocking-call finding of its blocks. Saving: that loop time per request.
 */
export function syncCallsOnLoop(cpuRoutes: ReadonlyMap<string, RouteCpu> | null, routes: Iterable<string>, blockedRoutes: ReadonlySet<string | null>): Finding[] {
  if (!cpuRoutes) return [];
  const findings: Finding[] = [];
  for (const route of routes) {
    const rc = cpuRoutes.get(route);
    if (!rc || rc.requests < MIN_ROUTE_REQUESTS || blockedRoutes.has(route)) continue;
    // one group per synchronous API (its file): a driver's querySync, connectSync and endSync are named together
    const groups = new Map<string, { kind: BlockerKind; file: string; ms: number; fns: Map<string, number>; frames: Frame[]; stackMs: number }>();
    for (const [stack, ms] of rc.stacks) {
      const kind = syncKindOfStack(stack);
      if (!kind) continue;
      const frames = foldedFrames(stack);
      // named by the app's outermost `*Sync` frame (querySync, httpGetSync), else its innermost app frame
      const app = frames.filter((f) => isAppUrl(f.url));
      const api = [...app].reverse().find((f) => /Sync$/.test(f.functionName)) ?? app[0] ?? frames[0]!;
      const id = `${kind} ${api.url}`;
      const g = groups.get(id) ?? { kind, file: api.url, ms: 0, fns: new Map<string, number>(), frames, stackMs: 0 };
      g.ms += ms;
      const fn = api.functionName || '(anonymous)';
      g.fns.set(fn, (g.fns.get(fn) ?? 0) + ms);
      if (ms > g.stackMs) Object.assign(g, { frames, stackMs: ms });
      groups.set(id, g);
    }
    for (const g of groups.values()) {
      const msPerRequest = g.ms / rc.requests;
      if (g.ms < MIN_SYNC_TOTAL_MS || msPerRequest < MIN_MS_PER_REQUEST) continue;
      const fns = [...g.fns].sort((a, b) => b[1] - a[1]).map(([fn]) => fn);
      const name = `${fns.join('/')}${g.file ? ` (${g.file})` : ''}`;
      // the innermost app frame names the group as a block's top frame would (the same key when a later run blocks)
      const app = g.frames.filter((f) => isAppUrl(f.url));
      const inner = app[0] ?? g.frames[0]!;
      // the app's function that made the call: the app frame just outside the outermost synchronous API
      const outer = app.map((f) => f.functionName).lastIndexOf(fns.find((fn) => app.some((f) => f.functionName === fn)) ?? '');
      const from = outer >= 0 ? app[outer + 1] : undefined;
      findings.push({
        kind: 'blocking-call',
        key: findingKey('blocking-call', route, `${inner.functionName || '(anonymous)'} (${inner.url.replace(/^.*\//, '')})`),
        route,
        title: `${name} holds the event loop ${round(msPerRequest)} ms per ${route} (${kindLabel(g.kind)}, in stretches shorter than the block threshold)`,
        evidence: {
          function: fns[0]!,
          file: g.file,
          line: null,
          blocker: g.kind,
          caller: from ? `${from.functionName || '(anonymous)'} (${from.url}:${from.lineNumber})` : null,
          syncCalls: fns,
          source: 'span profile',
          loopMs: round(g.ms),
          requests: rc.requests,
          msPerRequest: round(msPerRequest),
          shareOfRouteCpu: pct(g.ms / Math.max(1e-9, rc.ms)),
          stack: g.frames.slice(0, 6).map((f) => `${f.functionName || '(anonymous)'} (${f.url}:${f.lineNumber})`),
          estimate: `loop time given back per request: the route's CPU samples inside ${name} in the measured window (${round(g.ms)} ms; each sample weighs the time to the next) ÷ ${rc.requests} traced requests of the route; no single stretch passed the block threshold, so no block was recorded`,
        },
        savingMsPerRequest: round(msPerRequest),
        fix: FIXES[g.kind],
      });
    }
  }
  return findings;
}

/**
 * The synchronous API behind a block whose innermost app frame is itself `*Sync` (e.g. a driver's bridge, callSync):
 * the outermost `*Sync` frame among the app frames around it (querySync, connectSync, endSync…) — the call the
 * app's own code made. Searches the contiguous app frames only, up to the first Node internal or native frame.
 */
function syncApiOf(e: EvidenceBlock): StackFrame | null {
  const start = e.frames.findIndex((f) => isAppUrl(f.url));
  if (start < 0 || !/Sync$/.test(e.frames[start]!.functionName)) return null;
  let api = e.frames[start]!;
  for (let i = start + 1; i < e.frames.length && isAppUrl(e.frames[i]!.url); i++) {
    if (/Sync$/.test(e.frames[i]!.functionName)) api = e.frames[i]!;
  }
  return api;
}

/**
 * The app frame that called the blocking function: the first app frame outside `named` (the synchronous API's frame,
 * matched by name and file) or, without one, outside the innermost app frame. Null when the next frames are Node's or
 * a dependency's.
 */
function callerOf(e: EvidenceBlock, named: StackFrame | undefined): StackFrame | null {
  let at = named ? e.frames.findIndex((f) => f.functionName === named.functionName && f.url === named.url) : -1;
  if (at < 0) at = e.frames.findIndex((f) => isAppUrl(f.url));
  if (at < 0) return null;
  const next = e.frames[at + 1];
  return next && isAppUrl(next.url) ? next : null;
}

/**
 * Where a frame is named: its source position when the app's source map gave one (frames[].original: the .ts file a
 * developer edits), else where it ran — so a title never shows a compiled dist/… path beside the source path of the
 * top frame.
 */
function shownAt(f: Pick<StackFrame, 'url' | 'lineNumber' | 'original'>): { url: string; line: number } {
  return f.original ? { url: f.original.url, line: f.original.lineNumber } : { url: f.url, line: f.lineNumber };
}

/** "name (file:line)" of a frame at its shown position (absolute). */
function frameText(f: StackFrame): string {
  const { url, line } = shownAt(f);
  return `${f.functionName} (${url}:${line})`;
}

/**
 * Frames carry absolute URLs, top frames paths relative to the app's folder: the folder is what the shown URL of the
 * app frame the top frame names has in front of the top frame's path. Returns a function shortening URLs the same way.
 */
function relativeTo(e: EvidenceBlock): (url: string) => string {
  const top = parseTopFrame(e.topFrame).file.replace(/^file:\/\//, '');
  const url =
    e.frames
      .filter((f) => isAppUrl(f.url))
      .map((f) => shownAt(f).url.replace(/^file:\/\//, ''))
      .find((u) => top && !top.startsWith('/') && u.endsWith('/' + top)) ?? '';
  const root = url ? url.slice(0, url.length - top.length) : '';
  return (u) => {
    const path = u.replace(/^file:\/\//, '');
    return root && path.startsWith(root) ? path.slice(root.length) : path;
  };
}

function mostCommon(items: string[]): string | null {
  const counts = groupBy(items, (x) => x);
  let best: string | null = null;
  let n = 0;
  for (const [k, v] of counts) if (v.length > n) [best, n] = [k, v.length];
  return best;
}

/** Not Node's, not a dependency's, not a native: the app's own code (the probes' rule for the top frame). */
function isAppUrl(url: string): boolean {
  return url !== '' && !/^(node:|internal\/|evalmachine|wasm:)/.test(url) && !/[\\/]node_modules[\\/]/.test(url);
}

function kindLabel(kind: BlockerKind): string {
  return {
    'sync-http': 'synchronous HTTP client',
    'sync-db-driver': 'synchronous database driver',
    'sync-fs': 'synchronous fs call',
    'sync-zlib': 'synchronous zlib call',
    'sync-crypto': 'synchronous crypto call',
    'sync-child-process': 'synchronous child process',
    json: 'JSON on a large payload',
    regex: 'regular expression',
    'cpu-loop': 'CPU-bound JavaScript',
  }[kind];
}
