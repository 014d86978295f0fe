/**
 * Pure functions over the Jaeger JSON-file format (traces.jaeger.json): a structure check, and the span waterfall
 * of the slowest request per route with blocked stretches of the event loop marked on it.
 */
import type { BlockingEvent, JaegerFile, JaegerSpan, JaegerTag, JaegerTrace } from '../../profiles/contract/index.js';

/** The span-log (span event) name the probes give a blocked stretch of the loop. */
export const BLOCKED_EVENT_NAME = 'looplens.eventloop.blocked';

/** Epoch microseconds between 2001 and 2286: a startTime outside this is in ms or ns, not µs. */
const MIN_EPOCH_US = 1e15;
const MAX_EPOCH_US = 1e16;

/**
 * Problems with a Jaeger file's structure, one line each ([] when it is sound): every span has a process of its
 * trace, every CHILD_OF reference resolves inside its trace, times are integers in epoch microseconds.
 */
export function checkJaegerFile(file: JaegerFile): string[] {
  const problems: string[] = [];
  if (!file || !Array.isArray(file.data)) return ['no "data" array'];
  for (const trace of file.data) {
    const where = `trace ${trace?.traceID}`;
    if (!trace || typeof trace.traceID !== 'string' || trace.traceID === '') {
      problems.push('a trace has no traceID');
      continue;
    }
    if (!Array.isArray(trace.spans) || trace.spans.length === 0) {
      problems.push(`${where}: no spans`);
      continue;
    }
    if (!trace.processes || typeof trace.processes !== 'object') {
      problems.push(`${where}: no processes`);
      continue;
    }
    const ids = new Set(trace.spans.map((s) => s.spanID));
    if (ids.size !== trace.spans.length) problems.push(`${where}: duplicate spanIDs`);
    for (const span of trace.spans) {
      const at = `${where} span ${span.spanID}`;
      if (span.traceID !== trace.traceID) problems.push(`${at}: traceID ${span.traceID} differs from its trace`);
      if (!span.processID || !trace.processes[span.processID]) problems.push(`${at}: process ${span.processID} not in processes`);
      else if (!trace.processes[span.processID].serviceName) problems.push(`${at}: process ${span.processID} has no serviceName`);
      if (!Number.isInteger(span.startTime) || span.startTime < MIN_EPOCH_US || span.startTime > MAX_EPOCH_US) {
        problems.push(`${at}: startTime ${span.startTime} is not epoch microseconds`);
      }
      if (!Number.isInteger(span.duration) || span.duration < 0) problems.push(`${at}: duration ${span.duration} is not whole microseconds`);
      if (!Array.isArray(span.tags)) problems.push(`${at}: tags is not an array`);
      if (!Array.isArray(span.logs)) problems.push(`${at}: logs is not an array`);
      for (const ref of span.references ?? []) {
        if (ref.refType !== 'CHILD_OF' && ref.refType !== 'FOLLOWS_FROM') problems.push(`${at}: unknown refType ${ref.refType}`);
        if (ref.refType === 'CHILD_OF' && (ref.traceID !== trace.traceID || !ids.has(ref.spanID))) {
          problems.push(`${at}: CHILD_OF ${ref.traceID}/${ref.spanID} does not resolve inside its trace`);
        }
      }
      for (const log of span.logs ?? []) {
        if (!Number.isInteger(log.timestamp) || log.timestamp < MIN_EPOCH_US || log.timestamp > MAX_EPOCH_US) {
          problems.push(`${at}: log timestamp ${log.timestamp} is not epoch microseconds`);
        }
      }
    }
  }
  return problems;
}

export function tagValue(tags: JaegerTag[] | undefined, key: string): string | number | boolean | undefined {
  return tags?.find((t) => t.key === key)?.value;
}

function tagString(tags: JaegerTag[] | undefined, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const v = tagValue(tags, key);
    if (v !== undefined && v !== '') return String(v);
  }
  return undefined;
}

export interface BlockedLog {
  span: JaegerSpan;
  timestampUs: number;
  durationMs: number | null;
  topFrame: string | null;
}

/** Span logs (span events) that mark a blocked loop: a log whose `event` field is looplens.eventloop.blocked. */
export function blockedLogs(trace: JaegerTrace): BlockedLog[] {
  const out: BlockedLog[] = [];
  for (const span of trace.spans) {
    for (const log of span.logs ?? []) {
      if (tagValue(log.fields, 'event') !== BLOCKED_EVENT_NAME) continue;
      const d = Number(tagValue(log.fields, 'duration_ms'));
      const top = tagValue(log.fields, 'top_frame');
      out.push({ span, timestampUs: log.timestamp, durationMs: Number.isFinite(d) ? d : null, topFrame: top === undefined ? null : String(top) });
    }
  }
  return out;
}

export type SpanCategory = 'server' | 'db' | 'cache' | 'client' | 'internal';

export interface WaterfallRow {
  spanId: string;
  name: string;
  service: string;
  category: SpanCategory;
  depth: number;
  /** Relative to the root span's start. */
  startUs: number;
  durationUs: number;
  error: boolean;
  /** A few attributes worth a tooltip (statement, url, route…), as [key, value]. */
  detail: [string, string][];
  /** A run of same-named leaf siblings drawn as one row (N+1 queries): each span's own extent. */
  repeat?: { startUs: number; durationUs: number }[];
}

export interface WaterfallMark {
  /** Relative to the root span's start. */
  startUs: number;
  durationUs: number;
  spanId: string | null;
  topFrame: string;
  source: 'blocking.json' | 'span log';
}

export interface Waterfall {
  route: string;
  traceId: string;
  durationUs: number;
  /** Rows in tree order (parent before children, siblings by start); at most maxRows. */
  rows: WaterfallRow[];
  /** Spans left out past maxRows. */
  hiddenRows: number;
  /** Spans of the request (its entry span and every descendant). */
  spanCount: number;
  marks: WaterfallMark[];
  /** How many requests of this route the traces hold. */
  requests: number;
  /** Loop time this request spent waiting while other requests blocked the loop (looplens.eventloop.waited_ms). */
  waitedMs: number | null;
}

/** The root-span attribute the probes set: ms a request waited while others blocked the loop. */
export const WAITED_ATTRIBUTE = 'looplens.eventloop.waited_ms';

function category(span: JaegerSpan): SpanCategory {
  const kind = tagString(span.tags, 'span.kind');
  if (tagString(span.tags, 'db.system', 'db.system.name')) {
    const sys = tagString(span.tags, 'db.system', 'db.system.name') ?? '';
    return /redis|memcache/i.test(sys) ? 'cache' : 'db';
  }
  if (kind === 'server') return 'server';
  if (kind === 'client' || kind === 'producer') return 'client';
  return 'internal';
}

const DETAIL_KEYS = [
  'http.route',
  'http.request.method',
  'http.method',
  'url.full',
  'http.url',
  'url.path',
  'http.target',
  'http.response.status_code',
  'http.status_code',
  'db.system',
  'db.system.name',
  'db.statement',
  'db.query.text',
  'db.operation.name',
  'error.type',
  'otel.status_code',
  'looplens.eventloop.waited_ms',
];

function detail(span: JaegerSpan): [string, string][] {
  const out: [string, string][] = [];
  for (const key of DETAIL_KEYS) {
    const v = tagValue(span.tags, key);
    if (v !== undefined) out.push([key, String(v).slice(0, 300)]);
  }
  return out;
}

function isError(span: JaegerSpan): boolean {
  const e = tagValue(span.tags, 'error');
  if (e === true || e === 'true') return true;
  return tagValue(span.tags, 'otel.status_code') === 'ERROR';
}

function parentOf(span: JaegerSpan, ids: Set<string>): string | null {
  const ref = (span.references ?? []).find((r) => r.refType === 'CHILD_OF' && ids.has(r.spanID));
  return ref ? ref.spanID : null;
}

interface Tree {
  byId: Map<string, JaegerSpan>;
  parent: Map<string, string | null>;
  children: Map<string, JaegerSpan[]>;
}

function tree(trace: JaegerTrace): Tree {
  const ids = new Set(trace.spans.map((s) => s.spanID));
  const byId = new Map(trace.spans.map((s) => [s.spanID, s] as const));
  const parent = new Map<string, string | null>();
  const children = new Map<string, JaegerSpan[]>();
  for (const s of trace.spans) {
    const p = parentOf(s, ids);
    parent.set(s.spanID, p);
    if (p) {
      const list = children.get(p) ?? [];
      list.push(s);
      children.set(p, list);
    }
  }
  for (const list of children.values()) list.sort((a, b) => a.startTime - b.startTime);
  return { byId, parent, children };
}

/**
 * The outermost server spans of a trace. Only when a file marks no span kind at all are root spans taken instead:
 * otherwise a trace without a server span is background work (startup queries, timers), not a request.
 */
function entrySpans(trace: JaegerTrace, t: Tree, fallbackToRoots: boolean): JaegerSpan[] {
  const servers = trace.spans.filter((s) => tagString(s.tags, 'span.kind') === 'server');
  const hasServerAncestor = (s: JaegerSpan) => {
    for (let p = t.parent.get(s.spanID); p; p = t.parent.get(p) ?? null) {
      const ps = t.byId.get(p);
      if (ps && tagString(ps.tags, 'span.kind') === 'server') return true;
    }
    return false;
  };
  const entries = servers.filter((s) => !hasServerAncestor(s));
  if (entries.length > 0 || !fallbackToRoots) return entries;
  return trace.spans.filter((s) => t.parent.get(s.spanID) === null);
}

/** "<METHOD> <route>" of a request span: its own http.route, else the first one found below it; else its name. */
export function routeOf(span: JaegerSpan, t?: { children: Map<string, JaegerSpan[]> }): string {
  const method = tagString(span.tags, 'http.request.method', 'http.method');
  let route = tagString(span.tags, 'http.route');
  if (!route && t) {
    const queue = [...(t.children.get(span.spanID) ?? [])];
    while (queue.length > 0 && !route) {
      const s = queue.shift()!;
      route = tagString(s.tags, 'http.route');
      queue.push(...(t.children.get(s.spanID) ?? []));
    }
  }
  if (method && route) return `${method} ${route}`;
  return span.operationName;
}

export interface WaterfallOptions {
  /** Rows drawn per waterfall (N+1 traces can hold hundreds of spans). */
  maxRows?: number;
  /** Same-named leaf siblings in a row from which they collapse into one row. Default 4. */
  minRepeat?: number;
}

/**
 * The slowest request of each route in the traces, as a waterfall of its entry span and descendants, with the
 * blocked stretches of that trace marked: from blocking.json (matched by traceId) and from span logs named
 * looplens.eventloop.blocked, one mark per stretch.
 */
export function buildWaterfalls(jaeger: JaegerFile | null, blocking: BlockingEvent[] = [], options: WaterfallOptions = {}): Waterfall[] {
  if (!jaeger || !Array.isArray(jaeger.data)) return [];
  const maxRows = options.maxRows ?? 80;
  const minRepeat = options.minRepeat ?? 4;
  const slowest = new Map<string, { trace: JaegerTrace; span: JaegerSpan; tree: Tree; count: number }>();
  const kindsMarked = jaeger.data.some((tr) => tr?.spans?.some((sp) => tagString(sp.tags, 'span.kind') !== undefined));
  for (const trace of jaeger.data) {
    if (!trace || !Array.isArray(trace.spans) || trace.spans.length === 0) continue;
    const t = tree(trace);
    for (const entry of entrySpans(trace, t, !kindsMarked)) {
      const route = routeOf(entry, t);
      const best = slowest.get(route);
      if (!best) slowest.set(route, { trace, span: entry, tree: t, count: 1 });
      else {
        best.count++;
        if (entry.duration > best.span.duration) Object.assign(best, { trace, span: entry, tree: t });
      }
    }
  }

  const out: Waterfall[] = [];
  for (const [route, { trace, span: root, tree: t, count }] of slowest) {
    const rows: WaterfallRow[] = [];
    let hiddenRows = 0;
    /** spanId of a span drawn inside a repeated row → the spanId that row carries. */
    const groupRow = new Map<string, string>();
    const inTree = new Set<string>();
    const rowOf = (span: JaegerSpan, depth: number): WaterfallRow => ({
      spanId: span.spanID,
      name: span.operationName,
      service: trace.processes?.[span.processID]?.serviceName ?? '',
      category: category(span),
      depth,
      startUs: span.startTime - root.startTime,
      durationUs: span.duration,
      error: isError(span),
      detail: detail(span),
    });
    const push = (row: WaterfallRow) => {
      if (rows.length < maxRows) rows.push(row);
      else hiddenRows++;
    };
    const walk = (span: JaegerSpan, depth: number) => {
      inTree.add(span.spanID);
      push(rowOf(span, depth));
      const children = t.children.get(span.spanID) ?? [];
      for (let i = 0; i < children.length; ) {
        // A run of ≥ minRepeat leaf siblings of the same name (N+1 queries) becomes one row with a bar per span.
        let j = i;
        const leaf = (c: JaegerSpan) => (t.children.get(c.spanID) ?? []).length === 0;
        while (j < children.length && leaf(children[j]) && children[j].operationName === children[i].operationName) j++;
        if (j - i >= minRepeat) {
          const group = children.slice(i, j);
          for (const g of group) {
            inTree.add(g.spanID);
            groupRow.set(g.spanID, group[0].spanID);
          }
          const first = rowOf(group[0], depth + 1);
          const end = Math.max(...group.map((g) => g.startTime + g.duration)) - root.startTime;
          push({
            ...first,
            durationUs: end - first.startUs,
            error: group.some(isError),
            repeat: group.map((g) => ({ startUs: g.startTime - root.startTime, durationUs: g.duration })),
          });
          i = j;
        } else {
          walk(children[i], depth + 1);
          i++;
        }
      }
    };
    walk(root, 0);

    const marks: WaterfallMark[] = [];
    const traceId = trace.traceID.toLowerCase();
    for (const ev of blocking) {
      if (!ev.traceId || ev.traceId.toLowerCase() !== traceId) continue;
      const spanId = ev.spanId && inTree.has(ev.spanId) ? groupRow.get(ev.spanId) ?? ev.spanId : null;
      marks.push({
        startUs: Math.round(ev.startMs * 1000) - root.startTime,
        durationUs: Math.round(ev.durationMs * 1000),
        spanId,
        topFrame: ev.topFrame,
        source: 'blocking.json',
      });
    }
    for (const log of blockedLogs(trace)) {
      if (!inTree.has(log.span.spanID)) continue;
      const durationUs = log.durationMs === null ? 0 : Math.round(log.durationMs * 1000);
      // The same stretch from blocking.json: same span and overlapping in time (the log may sit at its start or end).
      const dup = marks.some(
        (m) =>
          m.source === 'blocking.json' &&
          (m.spanId === null || m.spanId === (groupRow.get(log.span.spanID) ?? log.span.spanID)) &&
          log.timestampUs - root.startTime >= m.startUs - 1000 &&
          log.timestampUs - root.startTime <= m.startUs + m.durationUs + 1000,
      );
      if (dup) continue;
      // The probes stamp the log at the start of the blocked stretch (span event time = block start).
      const startUs = log.timestampUs - root.startTime;
      marks.push({ startUs, durationUs, spanId: groupRow.get(log.span.spanID) ?? log.span.spanID, topFrame: log.topFrame ?? '', source: 'span log' });
    }
    marks.sort((a, b) => a.startUs - b.startUs);
    const waited = Number(tagValue(root.tags, WAITED_ATTRIBUTE));
    out.push({ route, traceId: trace.traceID, durationUs: root.duration, rows, hiddenRows, spanCount: inTree.size, marks, requests: count, waitedMs: Number.isFinite(waited) && waited > 0 ? waited : null });
  }
  return out.sort((a, b) => a.route.localeCompare(b.route));
}
