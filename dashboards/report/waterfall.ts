/**
 * The span waterfall of the slowest measured request of each route, from the run's evidence: its spans as rows, the
 * blocks charged to it (its own blocked stretches of the loop) and the blocks of other requests it waited behind, each
 * the evidence's block — so a stretch is drawn once, where blocking.json put it. Pure.
 */
import type { Span } from '../../profiles/contract/index.js';
import type { Evidence, EvidenceBlock, EvidenceRequest } from '../../scripts/analysis/evidence.js';

export type SpanCategory = 'server' | 'db' | 'cache' | 'client' | 'internal';

export interface WaterfallRow {
  spanId: string;
  name: string;
  service: string;
  category: SpanCategory;
  depth: number;
  /** Relative to the request's start. */
  startUs: number;
  durationUs: number;
  error: boolean;
  /** A few attributes worth a tooltip (statement, url, route…), as [key, value]. */
  detail: [string, string][];
  /** A run of same-named leaf siblings drawn as one row (N+1 queries): each span's own extent. */
  repeat?: { startUs: number; durationUs: number }[];
}

export interface WaterfallMark {
  /** Relative to the request's start; may be negative (a block that began before the request's span). */
  startUs: number;
  durationUs: number;
  /** The row of the span that ran it (own blocks whose span is drawn), else null: a band over every row. */
  spanId: string | null;
  topFrame: string;
  /** `own`: this request blocked the loop; `waited`: another request's (or no request's) block it waited behind. */
  kind: 'own' | 'waited';
  /** Whose block: the route of the request it is charged to, null for no request. */
  route: string | null;
  blockId: string;
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
  /** Measured requests of this route in the traces. */
  requests: number;
  /** ms it waited behind other requests' blocks (the evidence's, as looplens.eventloop.waited_ms). */
  waitedMs: number;
}

export interface WaterfallOptions {
  /** Rows drawn per waterfall (N+1 traces can hold hundreds of spans). */
  maxRows?: number;
  /** Same-named leaf siblings in a row from which they collapse into one row. Default 4. */
  minRepeat?: number;
}

function attr(span: Span, ...keys: string[]): string | undefined {
  for (const k of keys) {
    const v = span.attributes[k];
    if (v !== undefined && v !== '') return String(v);
  }
  return undefined;
}

function category(span: Span): SpanCategory {
  const sys = attr(span, 'db.system', 'db.system.name');
  if (sys) return /redis|memcache|valkey|keydb/i.test(sys) ? 'cache' : 'db';
  if (span.kind === 'server') return 'server';
  if (span.kind === 'client' || span.kind === 'producer') return 'client';
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
];

function detail(span: Span): [string, string][] {
  const out: [string, string][] = [];
  for (const key of DETAIL_KEYS) {
    const v = attr(span, key);
    if (v !== undefined) out.push([key, v.slice(0, 300)]);
  }
  return out;
}

/** Spans by parent, once per evidence. */
const childrenIndex = new WeakMap<Evidence, Map<string, Span[]>>();
function childrenOf(evidence: Evidence): Map<string, Span[]> {
  let index = childrenIndex.get(evidence);
  if (index) return index;
  index = new Map();
  for (const s of evidence.traces.spans) {
    if (!s.parentId) continue;
    const key = `${s.traceId}/${s.parentId}`;
    const list = index.get(key);
    if (list) list.push(s);
    else index.set(key, [s]);
  }
  for (const list of index.values()) list.sort((a, b) => a.startMs - b.startMs);
  childrenIndex.set(evidence, index);
  return index;
}

const us = (ms: number) => Math.round(ms * 1000);

function markOf(b: EvidenceBlock, origin: number, kind: WaterfallMark['kind'], row: string | null): WaterfallMark {
  return { startUs: us(b.startMs - origin), durationUs: us(b.durationMs), spanId: row, topFrame: b.topFrame, kind, route: b.route, blockId: b.id };
}

function waterfallOf(evidence: Evidence, request: EvidenceRequest, requests: number, options: Required<WaterfallOptions>): Waterfall {
  const children = childrenOf(evidence);
  const root = request.span;
  const origin = root.startMs;
  const rows: WaterfallRow[] = [];
  let hiddenRows = 0;
  /** spanId of a span drawn inside a repeated row → the spanId that row carries. */
  const groupRow = new Map<string, string>();
  const inTree = new Set<string>();
  const kids = (s: Span) => children.get(`${s.traceId}/${s.spanId}`) ?? [];
  const rowOf = (span: Span, depth: number): WaterfallRow => ({
    spanId: span.spanId,
    name: span.name,
    service: span.service,
    category: category(span),
    depth,
    startUs: us(span.startMs - origin),
    durationUs: us(span.endMs - span.startMs),
    error: span.error,
    detail: detail(span),
  });
  const push = (row: WaterfallRow) => {
    if (rows.length < options.maxRows) rows.push(row);
    else hiddenRows++;
  };
  const walk = (span: Span, depth: number) => {
    inTree.add(span.spanId);
    push(rowOf(span, depth));
    const list = kids(span);
    for (let i = 0; i < list.length; ) {
      // A run of ≥ minRepeat leaf siblings of the same name (N+1 queries) becomes one row with a bar per span.
      let j = i;
      while (j < list.length && kids(list[j]!).length === 0 && list[j]!.name === list[i]!.name) j++;
      if (j - i >= options.minRepeat) {
        const group = list.slice(i, j);
        for (const g of group) {
          inTree.add(g.spanId);
          groupRow.set(g.spanId, group[0]!.spanId);
        }
        const first = rowOf(group[0]!, depth + 1);
        const end = us(Math.max(...group.map((g) => g.endMs)) - origin);
        push({
          ...first,
          durationUs: end - first.startUs,
          error: group.some((g) => g.error),
          repeat: group.map((g) => ({ startUs: us(g.startMs - origin), durationUs: us(g.endMs - g.startMs) })),
        });
        i = j;
      } else {
        walk(list[i]!, depth + 1);
        i++;
      }
    }
  };
  walk(root, 0);
  const marks = [
    ...request.blocks.map((b) => markOf(b, origin, 'own', b.spanId && inTree.has(b.spanId) ? (groupRow.get(b.spanId) ?? b.spanId) : null)),
    ...request.blockedByOthers.map((b) => markOf(b, origin, 'waited', null)),
  ].sort((a, b) => a.startUs - b.startUs);
  return {
    route: request.route,
    traceId: request.traceId,
    durationUs: us(request.durationMs),
    rows,
    hiddenRows,
    spanCount: inTree.size,
    marks,
    requests,
    waitedMs: request.waitedMs,
  };
}

/** The slowest measured request of each route, routes in name order. */
export function buildWaterfalls(evidence: Evidence, options: WaterfallOptions = {}): Waterfall[] {
  const opts = { maxRows: options.maxRows ?? 80, minRepeat: options.minRepeat ?? 4 };
  const slowest = new Map<string, { request: EvidenceRequest; count: number }>();
  for (const r of evidence.measured.requests) {
    const best = slowest.get(r.route);
    if (!best) slowest.set(r.route, { request: r, count: 1 });
    else {
      best.count++;
      if (r.durationMs > best.request.durationMs) best.request = r;
    }
  }
  return [...slowest.values()].map(({ request, count }) => waterfallOf(evidence, request, count, opts)).sort((a, b) => a.route.localeCompare(b.route));
}
