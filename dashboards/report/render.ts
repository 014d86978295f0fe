/**
 * Pure renderers: model in, HTML string out. Pages are self-contained (inline CSS and SVG, no script at all), carry a
 * Content-Security-Policy that forbids every remote load, and put run data into the page only through esc().
 */
import { join } from 'node:path';
import { RUN_FILES, type Finding, type LatencyMs, type RequestStats, type StackFrame, type Summary } from '../../profiles/contract/index.js';
import type { EvidenceBlock, NoRequest } from '../../scripts/analysis/evidence.js';
import { barChart, clip, legend, lineChart, niceScale, type BarSeries } from './charts.js';
import { esc, html, jsonForScript, raw, type Raw } from './escape.js';
import { buildWaterfalls, type Waterfall } from './waterfall.js';
import { processesSection } from './processes.js';
import { threadsSection } from './threads.js';
import { memorySection } from './memory.js';
import { storySection } from './story.js';
import { KIND_LABELS } from '../../scripts/diagnose/render.js';
import type { FlamegraphLink, IndexEntry, LabModel, RunModel } from './model.js';
import { BLOCK_COLOR, CATEGORY_COLORS, CSS, ERROR_COLOR, PERCENTILE_SHADES, WAIT_COLOR, stageColor } from './style.js';

/** Frames may embed local files only; no script runs in the report itself. */
export const CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self' file:; base-uri 'none'; form-action 'none'";

export interface RenderLinks {
  /** href (relative) from the page to a local file, given its absolute path. */
  hrefTo: (absPath: string) => string;
  /** href from the page to the runs index, when there is one. */
  index?: string;
  /** href from the page to a run's own page (for a lab's stages), when written. */
  runPage?: (runDir: string) => string | undefined;
  /** Offer "show below" (a frame on the page that loads a flamegraph on demand) besides the links. Default true. */
  embedFlamegraphs?: boolean;
  /** ISO time shown in the footer; fixed in tests. */
  generatedAt?: string;
}

// ---------------------------------------------------------------- formatting

export function fmtMs(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (v === 0) return '0';
  if (Math.abs(v) < 1) return v.toFixed(2);
  if (Math.abs(v) < 10) return v.toFixed(1);
  return Math.round(v).toLocaleString('en-US');
}

export function fmtNum(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function fmtPct(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(0)} %`;
}

function fmtUs(us: number): string {
  return `${fmtMs(us / 1000)} ms`;
}

function fmtTime(iso: string | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

function seconds(startIso?: string, endIso?: string): string {
  if (!startIso || !endIso) return '–';
  const s = (Date.parse(endIso) - Date.parse(startIso)) / 1000;
  return Number.isFinite(s) ? `${s < 100 ? s.toFixed(1) : Math.round(s)} s` : '–';
}

/** "0.31×" beside a number, green when better than the reference, red when worse. */
function ratio(value: number | undefined, ref: number | undefined, lowerIsBetter: boolean): Raw {
  if (value === undefined || ref === undefined || !(ref > 0) || !(value > 0) || !Number.isFinite(value)) return raw('');
  const r = value / ref;
  if (Math.abs(r - 1) < 0.005) return raw('');
  const better = lowerIsBetter ? r < 1 : r > 1;
  const text = r >= 10 ? `${r.toFixed(0)}×` : r < 0.01 ? '<0.01×' : `${r.toFixed(2)}×`;
  return html`<span class="ratio ${better ? 'better' : 'worse'}" title="relative to the first stage">${text}</span>`;
}

/**
 * A route as code that wraps only between its words and after a "/" (never inside a segment): "GET /users/:id/…".
 */
export function routeCode(route: string): Raw {
  return raw(`<code class="rt">${route.split('/').map(esc).join('/<wbr>')}</code>`);
}

/** Text with markdown `code` spans (a finding's title and fix are written for markdown too) as HTML. */
export function inlineCode(text: string): Raw {
  return raw(text.split(/`([^`]+)`/).map((part, i) => (i % 2 ? `<code>${esc(part)}</code>` : esc(part))).join(''));
}

// ---------------------------------------------------------------- views

/** One column of comparison: a lab stage, or the single run of a run page. */
export interface StageView {
  name: string;
  color: string;
  summary: Summary;
  run: RunModel | null;
  /** Link to the stage's own page, if any. */
  href?: string;
  problem?: string;
}

function routesOf(stages: StageView[]): string[] {
  const set = new Set<string>();
  for (const s of stages) for (const r of Object.keys(s.summary.routes)) set.add(r);
  return [...set].sort((a, b) => a.localeCompare(b));
}

function stageChip(s: StageView): Raw {
  const name = s.href ? html`<a href="${s.href}">${s.name}</a>` : html`${s.name}`;
  return html`<span class="chip"><span class="sw" style="background:${s.color}"></span>${name}</span>`;
}

function shell(opts: { title: string; crumbs: Raw; heading: Raw; meta: Raw; toc: [string, string][]; body: Raw; data: unknown; generatedAt?: string }): string {
  const toc = opts.toc.length ? html`<nav class="toc">${opts.toc.map(([id, label]) => html`<a href="#${id}">${label}</a>`)}</nav>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${esc(CSP)}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="looplens report">
<title>${esc(opts.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header class="top"><div class="crumbs">${opts.crumbs}</div><h1>${opts.heading}</h1><div class="meta">${opts.meta}</div></header>
${toc}
<main>
${opts.body}
<footer>Generated by <code>looplens report</code>${opts.generatedAt ? ` at ${esc(fmtTime(opts.generatedAt))}` : ''}. Self-contained: no network access; flamegraphs open from the run folders beside this file.</footer>
</main>
<script type="application/json" id="looplens-data">${jsonForScript(opts.data)}</script>
</body>
</html>
`;
}

function notesList(notes: string[]): Raw {
  if (notes.length === 0) return raw('');
  return html`<ul class="notes">${notes.map((n) => html`<li>${n}</li>`)}</ul>`;
}

function statusBadge(complete: boolean, reason?: string): Raw {
  return complete ? html`<span class="badge ok">complete</span>` : html`<span class="badge bad" title="${reason ?? ''}">incomplete${reason ? ': ' + clip(reason, 60) : ''}</span>`;
}

// ---------------------------------------------------------------- sections

function overviewSection(stages: StageView[]): Raw {
  const ref = stages[0]?.summary;
  const multi = stages.length > 1;
  const rows = stages.map((s) => {
    const o = s.summary.overall;
    return html`<tr>
<td>${stageChip(s)}${s.problem ? html` <span class="badge warn" title="${s.problem}">run folder unreadable</span>` : ''}</td>
<td class="n">${fmtNum(o.requests)}</td>
<td class="n">${fmtNum(o.rps, o.rps < 100 ? 1 : 0)}${multi ? ratio(o.rps, ref?.overall.rps, false) : ''}</td>
<td class="n">${fmtMs(o.latencyMs.p50)}</td>
<td class="n">${fmtMs(o.latencyMs.p95)}</td>
<td class="n">${fmtMs(o.latencyMs.p99)}${multi ? ratio(o.latencyMs.p99, ref?.overall.latencyMs.p99, true) : ''}</td>
<td class="n">${fmtMs(s.summary.eventLoop.delayMs.p99)}</td>
<td class="n">${fmtPct(s.summary.eventLoop.utilization)}</td>
<td class="n">${fmtMs(s.summary.blocking.msPerRequest)}${multi ? ratio(s.summary.blocking.msPerRequest, ref?.blocking.msPerRequest, true) : ''}</td>
<td class="n">${s.summary.db ? fmtNum(s.summary.db.queriesPerRequest, 1) : '–'}</td>
<td class="n">${fmtNum(o.errors + o.non2xx)}</td>
</tr>`;
  });
  return html`<section id="overview"><h2>Overview</h2>
<p class="lead">Whole-run numbers${multi ? ' per stage, with the ratio to the first stage' : ''}. Latency in ms; event-loop delay is the p99 of per-second samples; blocked ms per request is the loop time charged to requests by the blocking probe.</p>
<table><thead><tr><th>${multi ? 'Stage' : 'Run'}</th><th class="n">Requests</th><th class="n">req/s</th><th class="n">p50</th><th class="n">p95</th><th class="n">p99</th><th class="n">Loop delay p99</th><th class="n">Loop util.</th><th class="n">Blocked ms/req</th><th class="n">Queries/req</th><th class="n">Errors + non-2xx</th></tr></thead>
<tbody>${rows}</tbody></table></section>`;
}

/**
 * The load generator's names for a route, when they differ from the app's template it met on (a scenario's own
 * label, a --path with an id): shown under the route so a reader finds the row of what they asked for.
 */
function loadNames(s: StageView, route: string): Raw {
  const names = s.run?.evidence.measured.routes.find((f) => f.route === route)?.loadRoutes.filter((n) => n !== route) ?? [];
  return names.length ? html`<br><span class="empty" title="the load generator's name${names.length > 1 ? 's' : ''} for this route">as sent: ${names.map((n) => routeCode(n))}</span>` : raw('');
}

function latencySection(stages: StageView[]): Raw {
  const routes = routesOf(stages);
  if (routes.length === 0) return html`<section id="latency"><h2>Latency and throughput per route</h2><p class="empty">No per-route numbers in summary.json.</p></section>`;
  const get = (s: StageView, r: string) => s.summary.routes[r] as RequestStats | undefined;
  /** Latency of a route that got no responses is no data, not 0 ms. */
  const answered = (s: StageView, r: string) => ((get(s, r)?.requests ?? 0) > 0 ? get(s, r) : undefined);
  const lat = (k: keyof LatencyMs) => (s: StageView, r: string) => answered(s, r)?.latencyMs[k] ?? null;
  const charts: string[] = [];
  if (stages.length === 1) {
    const s = stages[0];
    const keys: (keyof LatencyMs)[] = ['p50', 'p95', 'p99'];
    const series: BarSeries[] = keys.map((k, i) => ({ name: k, color: PERCENTILE_SHADES[i], values: routes.map((r) => lat(k)(s, r)) }));
    charts.push(legend(series) + barChart({ title: 'Latency per route', unit: 'ms', categories: routes, series, format: fmtMs, better: 'lower' }));
    charts.push(
      barChart({ title: 'Throughput per route', unit: 'req/s', categories: routes, series: [{ name: s.name, color: s.color, values: routes.map((r) => get(s, r)?.rps ?? null) }], format: (v) => fmtNum(v, v < 100 ? 1 : 0), better: 'higher' }),
    );
  } else {
    for (const k of ['p50', 'p95', 'p99'] as const) {
      const series = stages.map((s) => ({ name: s.name, color: s.color, values: routes.map((r) => lat(k)(s, r)) }));
      charts.push(barChart({ title: `Latency ${k} per route`, unit: 'ms', categories: routes, series, format: fmtMs, better: 'lower' }));
    }
    const series = stages.map((s) => ({ name: s.name, color: s.color, values: routes.map((r) => get(s, r)?.rps ?? null) }));
    charts.push(barChart({ title: 'Throughput per route', unit: 'req/s', categories: routes, series, format: (v) => fmtNum(v, v < 100 ? 1 : 0), better: 'higher' }));
  }
  const ref = stages[0];
  const multi = stages.length > 1;
  const hasBlocked = stages.some((s) => Object.values(s.summary.routes).some((r) => r.blockedMsPerRequest !== undefined));
  const hasQueries = stages.some((s) => Object.values(s.summary.routes).some((r) => r.queriesPerRequest !== undefined));
  const extraHead = html`${hasBlocked ? html`<th class="n">Blocked ms/req</th>` : ''}${hasQueries ? html`<th class="n">Queries/req</th>` : ''}`;
  const extraCells = (st: RequestStats) =>
    html`${hasBlocked ? html`<td class="n">${fmtMs(st.blockedMsPerRequest)}</td>` : ''}${hasQueries ? html`<td class="n">${fmtNum(st.queriesPerRequest, 1)}</td>` : ''}`;
  const cols = 9 + (hasBlocked ? 1 : 0) + (hasQueries ? 1 : 0);
  if (!multi) {
    const rows = routes.map((r) => {
      const st = get(ref, r)!;
      if (st.requests === 0) return html`<tr><td class="route">${routeCode(r)}${loadNames(ref, r)}</td><td class="n">0</td><td colspan="${cols - 2}" class="empty">no responses</td></tr>`;
      return html`<tr><td class="route">${routeCode(r)}${loadNames(ref, r)}</td><td class="n">${fmtNum(st.requests)}</td><td class="n">${fmtNum(st.rps, st.rps < 100 ? 1 : 0)}</td>
<td class="n">${fmtMs(st.latencyMs.p50)}</td><td class="n">${fmtMs(st.latencyMs.p90)}</td><td class="n">${fmtMs(st.latencyMs.p95)}</td><td class="n">${fmtMs(st.latencyMs.p99)}</td><td class="n">${fmtMs(st.latencyMs.max)}</td><td class="n">${fmtNum(st.errors + st.non2xx)}</td>${extraCells(st)}</tr>`;
    });
    return html`<section id="latency"><h2>Latency and throughput per route</h2>
<div class="charts">${charts.map((c) => html`<div class="card">${raw(c)}</div>`)}</div>
<h3>Per route</h3>
<table><thead><tr><th>Route</th><th class="n">Requests</th><th class="n">req/s</th><th class="n">p50</th><th class="n">p90</th><th class="n">p95</th><th class="n">p99</th><th class="n">max</th><th class="n">Errors + non-2xx</th>${extraHead}</tr></thead>
<tbody>${rows}</tbody></table></section>`;
  }
  const body = routes.map((r) => {
    const rows = stages.map((s) => {
      const st = get(s, r);
      if (!st) return html`<tr><td>${stageChip(s)}</td><td colspan="${cols - 1}" class="empty">route not requested in this stage</td></tr>`;
      if (st.requests === 0) return html`<tr><td>${stageChip(s)}</td><td class="n">0</td><td colspan="${cols - 2}" class="empty">no responses</td></tr>`;
      const rs = get(ref, r);
      return html`<tr><td>${stageChip(s)}</td><td class="n">${fmtNum(st.requests)}</td><td class="n">${fmtNum(st.rps, st.rps < 100 ? 1 : 0)}${multi && s !== ref ? ratio(st.rps, rs?.rps, false) : ''}</td>
<td class="n">${fmtMs(st.latencyMs.p50)}</td><td class="n">${fmtMs(st.latencyMs.p90)}</td><td class="n">${fmtMs(st.latencyMs.p95)}</td><td class="n">${fmtMs(st.latencyMs.p99)}${multi && s !== ref ? ratio(st.latencyMs.p99, rs?.latencyMs.p99, true) : ''}</td><td class="n">${fmtMs(st.latencyMs.max)}</td><td class="n">${fmtNum(st.errors + st.non2xx)}</td>${extraCells(st)}</tr>`;
    });
    return html`<tr class="group"><td colspan="${cols}" class="route">${routeCode(r)}${stages.map((st) => loadNames(st, r))[0] ?? ''}</td></tr>${rows}`;
  });
  return html`<section id="latency"><h2>Latency and throughput per route</h2>
${multi ? raw(legend(stages)) : ''}
<div class="charts">${charts.map((c) => html`<div class="card">${raw(c)}</div>`)}</div>
<h3>Per route</h3>
<table><thead><tr><th>Stage</th><th class="n">Requests</th><th class="n">req/s</th><th class="n">p50</th><th class="n">p90</th><th class="n">p95</th><th class="n">p99</th><th class="n">max</th><th class="n">Errors + non-2xx</th>${extraHead}</tr></thead>
<tbody>${body}</tbody></table></section>`;
}

/**
 * Where a stage's event-loop chart puts 0: the start of its load (the warm-up's, else the measured window's, when
 * run.json records them), else a second before its first sample.
 */
function loopOrigin(s: StageView): { t0: number; fromLoad: boolean } {
  const e = s.run?.evidence;
  const fromLoad = e?.warmup?.startMs ?? (e?.window.source === 'run.json' ? e.window.startMs : undefined);
  if (fromLoad !== undefined) return { t0: fromLoad, fromLoad: true };
  const first = e?.eventLoop[0];
  return { t0: first ? first.t - 1000 : 0, fromLoad: false };
}

/**
 * A second the loop never turned in: no timer fired, so the delay histogram is empty (min = max = 0) while the loop
 * was busy all along. Its delay is unknown (at least the whole interval), not 0: the chart shows no reading there.
 */
export function noDelayReading(x: { delayMs: { min: number; max: number }; utilization: number }): boolean {
  return x.delayMs.max === 0 && x.delayMs.min === 0 && x.utilization >= 0.99;
}

function eventLoopSection(stages: StageView[]): Raw {
  const origins = stages.map(loopOrigin);
  const fromLoad = origins.every((o) => o.fromLoad);
  const xLabel = fromLoad ? 's since the load began' : 's since start';
  const series = (pick: (s: { delayMs: { min: number; max: number; p99: number }; utilization: number }) => number | null) =>
    stages.map((s, i) => {
      const samples = s.run?.evidence.eventLoop ?? [];
      const t0 = origins[i]!.t0;
      return { name: s.name, color: s.color, points: samples.map((x) => [Math.round((x.t - t0) / 100) / 10, pick(x)] as [number, number | null]) };
    });
  // the warm-up of each stage: one band where they last about as long (every stage of a lab warms up as long)
  const bands: { from: number; to: number; label: string }[] = [];
  stages.forEach((s, i) => {
    const e = s.run?.evidence;
    if (!e?.warmup || !fromLoad) return;
    const from = Math.round((e.warmup.startMs - origins[i]!.t0) / 100) / 10;
    const to = Math.round((e.warmup.endMs - origins[i]!.t0) / 100) / 10;
    if (!(to > from)) return;
    const same = bands.find((b) => Math.abs(b.from - from) < 0.5 && Math.abs(b.to - to) < 0.5);
    if (same) same.to = Math.max(same.to, to);
    else bands.push({ from, to, label: 'warm-up' });
  });
  const multi = stages.length > 1;
  const anySamples = stages.some((s) => (s.run?.evidence.eventLoop.length ?? 0) > 0);
  const noReadings = stages.reduce((n, s) => n + (s.run?.evidence.eventLoop.filter(noDelayReading).length ?? 0), 0);
  const charts: string[] = [];
  const common = { xLabel, bands };
  // every GC pause of the window (memory.jsonl), marked along the bottom of the delay chart
  const marks = stages.flatMap((s, i) =>
    (s.run?.evidence.memory?.pauses ?? []).map((p) => ({
      x: (p.startMs - origins[i]!.t0) / 1000,
      w: p.durationMs / 1000,
      label: `${multi ? `${s.name} · ` : ''}GC ${p.kind} ${fmtMs(p.durationMs)} ms`,
      color: s.color,
    })),
  );
  charts.push(
    lineChart({
      title: 'Event-loop delay p99 per second',
      unit: 'ms',
      ...common,
      ...(marks.length ? { marks } : {}),
      series: series((x) => (noDelayReading(x) ? null : x.delayMs.p99)),
      format: fmtMs,
      noReading: 'the loop never turned in this interval (utilization 100 %), so no delay was measured; it was at least the interval',
    }),
  );
  charts.push(lineChart({ title: 'Event-loop utilization per second', ...common, series: series((x) => x.utilization), format: (v) => fmtPct(v), yMax: 1 }));
  const one = (title: string, unit: string, values: (number | null)[], format: (v: number) => string) =>
    barChart({
      title,
      unit,
      categories: stages.map((s) => s.name),
      series: [{ name: title, color: '#57606a', colors: stages.map((s) => s.color), values }],
      format,
      better: 'lower',
      width: 420,
    });
  const blocked = one('Blocked ms per request', 'ms', stages.map((s) => s.summary.blocking.msPerRequest), fmtMs);
  // Per route, when the summary carries it (RequestStats.blockedMsPerRequest / queriesPerRequest).
  const routes = routesOf(stages);
  const perRoute = (key: 'blockedMsPerRequest' | 'queriesPerRequest', title: string, unit: string, format: (v: number) => string) => {
    const any = stages.some((s) => Object.values(s.summary.routes).some((r) => r[key] !== undefined));
    if (!any || routes.length === 0) return '';
    const value = (s: StageView, r: string) => {
      const st = s.summary.routes[r];
      return st && st.requests > 0 && st[key] !== undefined ? st[key]! : null;
    };
    return barChart({ title, unit, categories: routes, series: stages.map((s) => ({ name: s.name, color: s.color, values: routes.map((r) => value(s, r)) })), format, better: 'lower' });
  };
  const blockedByRoute = perRoute('blockedMsPerRequest', 'Blocked ms per request, by route', 'ms', fmtMs);
  const queriesByRoute = perRoute('queriesPerRequest', 'Queries per request, by route', 'queries', (v) => fmtNum(v, 1));
  const anyQueries = stages.some((s) => s.summary.db !== undefined);
  const queries = anyQueries
    ? one('Queries per request', 'queries', stages.map((s) => s.summary.db?.queriesPerRequest ?? null), (v) => fmtNum(v, 1))
    : '';
  return html`<section id="eventloop"><h2>Event loop</h2>
<p class="lead">Per-second samples from eventloop.jsonl (delay with the timer resolution subtracted). A blocked loop shows as a delay spike and utilization near 100 %. Marks along the bottom of the delay chart are GC pauses (memory.jsonl; hover for kind and ms). The shaded band is the warm-up (not in the measured figures); a line breaks where samples are missing (the sampler was held up) rather than drawing values nobody measured${noReadings ? html`, and a red mark at the top is a second the loop never turned in (${fmtNum(noReadings)} in all): no delay reading, not a delay of 0` : ''}.</p>
${multi ? raw(legend(stages)) : ''}
${anySamples ? '' : html`<p class="empty">No eventloop.jsonl in ${multi ? 'any stage' : 'this run'}.</p>`}
<div class="charts">${charts.map((c) => html`<div class="card">${raw(c)}</div>`)}<div class="card">${raw(blocked)}</div>${queries ? html`<div class="card">${raw(queries)}</div>` : ''}${[blockedByRoute, queriesByRoute].filter(Boolean).map((c) => html`<div class="card">${raw(c)}</div>`)}</div>
${anyQueries ? '' : html`<p class="empty">Queries per request: not reported by this app (summary.json has no db section).</p>`}</section>`;
}

/** A frame of the app itself: not a Node internal, not a dependency, not native. */
function isAppFrame(f: { url: string }): boolean {
  return f.url !== '' && !f.url.startsWith('node:') && !f.url.includes('/node_modules/');
}

/** Where a frame is shown: its source position (the app's source map) when it has one, else where it ran. */
export function shownAt(f: Pick<StackFrame, 'url' | 'lineNumber' | 'original'>): { url: string; line: number } {
  return f.original ? { url: f.original.url.replace(/^file:\/\//, ''), line: f.original.lineNumber } : { url: f.url.replace(/^file:\/\//, ''), line: f.lineNumber };
}

/**
 * The folder a block's top frame is shown relative to (the probes write "fn (target-app/lib/x.ts:57)" relative to the
 * app's folder): what the shown path of the frame it names has in front of it. '' when the top frame is absolute.
 */
export function topFrameRoot(ev: Pick<EvidenceBlock, 'frames' | 'topFrame'>): string {
  const file = /\(([^()]*?)(?::\d+)*\)$/.exec(ev.topFrame)?.[1]?.replace(/^file:\/\//, '');
  if (!file || file.startsWith('/')) return '';
  for (const f of ev.frames) {
    const { url } = shownAt(f);
    if (url.endsWith('/' + file)) return url.slice(0, url.length - file.length);
  }
  return '';
}

/**
 * The app frames that called the innermost one, nearest first: "timeline (server.ts:120) ← route (…)" — each at its
 * source position, relative to the folder the top frame is shown relative to, so a row never mixes a compiled
 * dist/… path with the source path beside it.
 */
export function callers(ev: Pick<EvidenceBlock, 'frames' | 'topFrame'>, max = 2): string {
  const root = topFrameRoot(ev);
  const app = ev.frames.filter(isAppFrame);
  return app
    .slice(1, 1 + max)
    .map((f) => {
      const { url, line } = shownAt(f);
      return `${f.functionName || '(anonymous)'} (${root && url.startsWith(root) ? url.slice(root.length) : url}:${line})`;
    })
    .join(' ← ');
}

/** Blocking events grouped by stage, route and innermost app frame, heaviest first. */
export interface BlockingGroup {
  route: string | null;
  /** Why no request, when route is null. */
  noRequest: NoRequest | null;
  topFrame: string;
  callers: string;
  count: number;
  totalMs: number;
  maxMs: number;
  /** The trace of the longest event. */
  traceId: string | null;
}

export function groupBlocking(events: readonly EvidenceBlock[]): BlockingGroup[] {
  const groups = new Map<string, BlockingGroup>();
  for (const ev of events) {
    const key = `${ev.route ?? ev.noRequest ?? ''}\u0000${ev.topFrame}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { route: ev.route, noRequest: ev.noRequest, topFrame: ev.topFrame, callers: callers(ev), count: 0, totalMs: 0, maxMs: -1, traceId: null }));
    g.count++;
    g.totalMs += ev.durationMs;
    if (ev.durationMs > g.maxMs) {
      g.maxMs = ev.durationMs;
      g.traceId = ev.traceId;
      g.callers = callers(ev);
    }
  }
  return [...groups.values()].sort((a, b) => b.totalMs - a.totalMs || b.maxMs - a.maxMs);
}

/** The longest folder prefix ("/work/app/") shared by every app frame's file, to show paths relative to it. */
export function commonDir(paths: string[]): string {
  const files = paths.filter((p) => p.startsWith('/'));
  if (files.length === 0 || files.length !== paths.length) return '';
  let prefix = files[0].slice(0, files[0].lastIndexOf('/') + 1);
  for (const f of files) while (prefix && !f.startsWith(prefix)) prefix = prefix.slice(0, prefix.slice(0, -1).lastIndexOf('/') + 1);
  return prefix.length > 1 ? prefix : '';
}

const NO_REQUEST: Record<NoRequest, string> = {
  'start-up': 'no request: start-up',
  'garbage collection': 'no request: garbage collection',
  'outside any request': 'no request: timers or background work',
};

const PHASES: Record<string, string> = { startup: 'start-up', warmup: 'warm-up', after: 'after the load' };

function blockingSection(stages: StageView[], drawnTraces: Map<string, string>, perStage = 20): Raw {
  const multi = stages.length > 1;
  // blocks whose top frame is absolute (no folder to be relative to) are shown relative to their common folder
  const appFiles = stages.flatMap((s) => (s.run?.evidence.measured.blocks ?? []).filter((e) => topFrameRoot(e) === '').flatMap((e) => e.frames.filter(isAppFrame).map((f) => shownAt(f).url)));
  const base = commonDir(appFiles);
  const short = (text: string) => (base ? text.split(base).join('') : text);
  const rows: Raw[] = [];
  let hidden = 0;
  let any = false;
  for (const s of stages) {
    const blocks = s.run?.evidence.measured.blocks ?? [];
    if (blocks.length === 0) continue;
    any = true;
    const groups = groupBlocking(blocks);
    hidden += Math.max(0, groups.length - perStage);
    for (const g of groups.slice(0, perStage)) {
      const anchor = g.traceId ? drawnTraces.get(`${s.name}\u0000${g.traceId.toLowerCase()}`) : undefined;
      const trace = g.traceId
        ? anchor
          ? html`<a href="#${anchor}" class="mono" title="the slowest request of this route, drawn below">${g.traceId}</a>`
          : html`<span class="mono">${g.traceId}</span>`
        : html`<span class="empty">none</span>`;
      rows.push(html`<tr>${multi ? html`<td>${stageChip(s)}</td>` : ''}<td class="route">${g.route === null ? html`<span class="empty">${NO_REQUEST[g.noRequest ?? 'outside any request']}</span>` : routeCode(g.route)}</td>
<td class="fn"><code title="${g.topFrame}">${short(g.topFrame)}</code>${g.callers ? html`<br><span class="mono caller" title="${g.callers}">← ${short(g.callers)}</span>` : ''}</td>
<td class="n">${fmtNum(g.count)}</td><td class="n"><b class="bad">${fmtMs(g.totalMs)}</b></td><td class="n">${fmtMs(g.maxMs)}</td><td>${trace}</td></tr>`);
    }
  }
  const thresholds = [...new Set(stages.filter((s) => s.run?.evidence.blocking).map((s) => s.run!.evidence.blocking!.thresholdMs))];
  const totals = stages.map((s) => {
    const m = s.run?.evidence.measured;
    // the blocks outside the window (start-up, warm-up, shutdown) are in the run too, but not in its figures
    const outside = (s.run?.evidence.blocks ?? []).filter((b) => b.phase !== 'measured');
    const byPhase = [...new Set(outside.map((b) => b.phase))].map((p) => {
      const list = outside.filter((b) => b.phase === p);
      return `${fmtNum(list.length)} in ${PHASES[p] ?? p} (${fmtMs(list.reduce((a, b) => a + b.durationMs, 0))} ms)`;
    });
    const uncharged = m ? m.blockedMs * (1 - m.chargedShare) : 0;
    return html`<li>${multi ? html`${stageChip(s)}: ` : ''}<b>${fmtNum(s.summary.blocking.count)}</b> event${s.summary.blocking.count === 1 ? '' : 's'}, <b>${fmtMs(s.summary.blocking.totalMs)} ms</b> blocked in all, <b>${fmtMs(s.summary.blocking.msPerRequest)} ms</b> per request${
      m && m.blockedMs > 0 ? html`; ${fmtPct(m.chargedShare)} of it charged to a request${uncharged >= 0.5 ? html` (${fmtMs(uncharged)} ms to no request)` : ''}` : ''
    }${byPhase.length ? html` <span class="empty">— outside the measured window, not counted: ${byPhase.join(', ')}</span>` : ''}</li>`;
  });
  return html`<section id="blocking"><h2>Blocking events</h2>
<p class="lead">Stretches of the measured window in which the loop did not turn for longer than ${thresholds.length === 1 ? `${thresholds[0]} ms` : 'the threshold'}, charged to the request whose work ran in them, grouped by route and innermost app frame, most total time first; the rows add up to the totals above them. The trace id is that of the longest one.${base ? html` Paths are relative to <code>${base}</code>.` : ''}</p>
<ul class="totals">${totals}</ul>
${any
  ? html`<table><thead><tr>${multi ? html`<th>Stage</th>` : ''}<th>Route</th><th>Function (innermost app frame)</th><th class="n">Events</th><th class="n">Total ms</th><th class="n">Max ms</th><th>Trace id</th></tr></thead><tbody>${rows}</tbody></table>${hidden ? html`<p class="empty">${fmtNum(hidden)} smaller groups not listed.</p>` : ''}`
  : html`<p class="empty">No blocking events in the measured window.</p>`}
</section>`;
}

/** The waterfall of one request as SVG: bars per span, blocked stretches as red bands with a tick on the axis. */
export function waterfallSvg(w: Waterfall, width = 980): string {
  const labelW = 330;
  const rowH = 18;
  const top = 26;
  const plotW = width - labelW - 70;
  const span = Math.max(1, w.durationUs, ...w.rows.map((r) => r.startUs + r.durationUs), ...w.marks.map((m) => m.startUs + m.durationUs));
  const x = (us: number) => labelW + (Math.max(0, us) / span) * plotW;
  const height = top + w.rows.length * rowH + 8;
  const parts: string[] = [];
  const scale = niceScale(span / 1000, 5);
  for (let ms = 0; ms <= span / 1000 + 1e-9; ms += scale.step) {
    const us = ms * 1000;
    const gx = x(us).toFixed(1);
    parts.push(`<line x1="${gx}" x2="${gx}" y1="${top - 4}" y2="${height - 4}" class="grid"/>`);
    parts.push(`<text x="${gx}" y="${top - 8}" text-anchor="middle" class="tick">${esc(fmtMs(us / 1000))} ms</text>`);
  }
  const rowOf = new Map(w.rows.map((r, i) => [r.spanId, i] as const));
  w.rows.forEach((r, i) => {
    const y = top + i * rowH;
    if (i % 2 === 1) parts.push(`<rect x="0" y="${y}" width="${width}" height="${rowH}" class="rowbg"/>`);
    const indent = Math.min(r.depth, 12) * 12;
    const n = r.repeat?.length ?? 0;
    const suffix = n ? ` ×${n}` : '';
    const maxChars = Math.max(8, Math.floor((labelW - 10 - indent) / 6.7)) - suffix.length;
    const busyUs = n ? r.repeat!.reduce((a, b) => a + b.durationUs, 0) : r.durationUs;
    const tip = [
      n ? `${r.name} — ${n} spans in a row` : r.name,
      `${r.service} · ${r.category}${r.error ? ' · status: error' : ''}`,
      n ? `from +${fmtUs(r.startUs)} to +${fmtUs(r.startUs + r.durationUs)}, ${fmtUs(busyUs)} in all` : `start +${fmtUs(r.startUs)}, duration ${fmtUs(r.durationUs)}`,
      ...r.detail.map(([k, v]) => `${k}: ${v}`),
    ].join('\n');
    parts.push(`<text x="${4 + indent}" y="${y + 13}" class="wl"><title>${esc(tip)}</title>${esc(clip(r.name, maxChars))}${n ? `<tspan class="ws"> ×${n}</tspan>` : ''}</text>`);
    const color = r.error ? ERROR_COLOR : CATEGORY_COLORS[r.category];
    const bars = r.repeat ?? [{ startUs: r.startUs, durationUs: r.durationUs }];
    const rects = bars
      .map((b) => {
        const bx = x(b.startUs);
        const bw = Math.max(n ? 1 : 1.5, x(b.startUs + b.durationUs) - bx);
        return `<rect x="${bx.toFixed(1)}" y="${y + 4}" width="${bw.toFixed(1)}" height="${rowH - 8}" rx="${n ? 1 : 2}" fill="${color}"${r.error ? ' class="err"' : ''}/>`;
      })
      .join('');
    if (n) parts.push(`<rect x="${x(r.startUs).toFixed(1)}" y="${y + 8.5}" width="${Math.max(1, x(r.startUs + r.durationUs) - x(r.startUs)).toFixed(1)}" height="1" fill="${color}" opacity="0.5"/>`);
    parts.push(`<g><title>${esc(tip)}</title>${rects}</g>`);
    const endX = x(r.startUs + r.durationUs);
    parts.push(`<text x="${(endX + 4).toFixed(1)}" y="${y + 13}" class="wd">${esc(fmtMs(busyUs / 1000))}${n ? ' in all' : ''}</text>`);
  });
  for (const m of w.marks) {
    // a stretch that began before the request's span (or ran past it) is drawn where it overlaps the request
    const from = Math.max(0, m.startUs);
    const to = Math.min(span, m.startUs + m.durationUs);
    if (to <= from) continue;
    const mx = x(from);
    const mw = Math.max(2, x(to) - mx);
    const row = m.spanId !== null ? rowOf.get(m.spanId) : undefined;
    const y0 = row === undefined ? top : top + row * rowH + 1;
    const h = row === undefined ? w.rows.length * rowH : rowH - 2;
    const own = m.kind === 'own';
    const tip = own
      ? `event loop blocked ${fmtMs(m.durationUs / 1000)} ms${m.topFrame ? ` in ${m.topFrame}` : ''} (this request; block ${m.blockId})`
      : `waited ${fmtMs((to - from) / 1000)} ms behind ${m.route ?? 'work of no request'} blocking the loop${m.topFrame ? ` in ${m.topFrame}` : ''} (block ${m.blockId})`;
    parts.push(
      `<g class="${own ? 'blocked' : 'waited'}"><title>${esc(tip)}</title><rect x="${mx.toFixed(1)}" y="${y0}" width="${mw.toFixed(1)}" height="${h}" class="${own ? 'blk' : 'wtd'}"/>` +
        `<rect x="${mx.toFixed(1)}" y="${top - 4}" width="${Math.max(2, Math.min(mw, 6)).toFixed(1)}" height="8" class="${own ? 'blt' : 'wtt'}"/></g>`,
    );
  }
  parts.push(`<line x1="${labelW}" x2="${labelW}" y1="${top - 4}" y2="${height - 4}" class="axis"/>`);
  return `<svg class="chart waterfall" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="span waterfall" font-family="var(--sans)">${parts.join('')}</svg>`;
}

function waterfallsFor(s: StageView, anchorPrefix: string, drawn: Map<string, string>): { body: Raw; count: number } {
  const run = s.run;
  if (!run) return { body: html`<p class="empty">Run folder unreadable.</p>`, count: 0 };
  if (run.evidence.traces.source === null) return { body: html`<p class="empty">No traces (traces.otlp.json, traces.jaeger.json).</p>`, count: 0 };
  const waterfalls = buildWaterfalls(run.evidence);
  if (waterfalls.length === 0) return { body: html`<p class="empty">The traces hold no request of the measured window.</p>`, count: 0 };
  const parts = waterfalls.map((w, i) => {
    const anchor = `${anchorPrefix}-wf-${i}`;
    drawn.set(`${s.name}\u0000${w.traceId.toLowerCase()}`, anchor);
    const own = w.marks.filter((m) => m.kind === 'own');
    const waited = w.marks.filter((m) => m.kind === 'waited');
    const blockedMs = own.reduce((a, m) => a + m.durationUs / 1000, 0);
    const line = (m: (typeof w.marks)[number]) =>
      m.kind === 'own'
        ? html`<li><span class="ms">${fmtMs(m.durationUs / 1000)} ms</span> blocked the loop at ${m.startUs < 0 ? '−' : '+'}${fmtMs(Math.abs(m.startUs) / 1000)} ms${m.topFrame ? html` in <code>${m.topFrame}</code>` : ''}</li>`
        : html`<li class="waited"><span class="ms">${fmtMs(m.durationUs / 1000)} ms</span> waited at ${m.startUs < 0 ? '−' : '+'}${fmtMs(Math.abs(m.startUs) / 1000)} ms behind ${m.route ? html`<code>${m.route}</code>` : 'work of no request'}${m.topFrame ? html` in <code>${m.topFrame}</code>` : ''}</li>`;
    return html`<div class="wf" id="${anchor}"><h4>${routeCode(w.route)}</h4>
<div class="sub">slowest of ${fmtNum(w.requests)} traced request${w.requests === 1 ? '' : 's'} in the window: ${fmtMs(w.durationUs / 1000)} ms · trace <span class="mono">${w.traceId}</span> · ${w.spanCount} span${w.spanCount === 1 ? '' : 's'}${w.hiddenRows ? ` (first ${w.rows.length} rows drawn)` : ''}${own.length ? html` · <b class="bad">${own.length} blocked stretch${own.length === 1 ? '' : 'es'} of its own, ${fmtMs(blockedMs)} ms</b>` : ''}${w.waitedMs > 0 ? html` · <b class="warn" title="the time other requests (or work of no request) blocked the loop while this one was in flight (looplens.eventloop.waited_ms)">waited ${fmtMs(w.waitedMs)} ms behind other requests' blocks</b>` : ''}</div>
<div class="card">${raw(waterfallSvg(w))}</div>
${w.marks.length ? html`<ul class="blocks">${own.map(line)}${waited.slice(0, 8).map(line)}${waited.length > 8 ? html`<li class="empty">${waited.length - 8} more blocks it waited behind</li>` : ''}</ul>` : ''}
</div>`;
  });
  return { body: html`${parts}`, count: waterfalls.length };
}

function waterfallSection(stages: StageView[], drawn: Map<string, string>): Raw {
  const multi = stages.length > 1;
  const legendItems = [
    ...Object.entries(CATEGORY_COLORS).map(([name, color]) => ({ name: name === 'cache' ? 'cache (redis)' : name === 'client' ? 'outgoing http' : name, color })),
    { name: 'error (span status)', color: ERROR_COLOR },
    { name: 'event loop blocked by this request', color: BLOCK_COLOR },
    { name: 'waiting behind another request\'s block', color: WAIT_COLOR },
  ];
  const blocks = stages.map((s, i) => {
    const { body, count } = waterfallsFor(s, `s${i}`, drawn);
    if (!multi) return body;
    return html`<details${i === 0 ? raw(' open') : ''}><summary>${stageChip({ ...s, href: undefined })} <span class="empty" style="font-weight:400">${count} route${count === 1 ? '' : 's'}</span></summary><div class="inner">${body}</div></details>`;
  });
  return html`<section id="waterfalls"><h2>Slowest request per route</h2>
<p class="lead">The slowest request of each route in the measured window and its child spans, from the run's traces. Red bands: this request blocked the event loop (its blocks in blocking.json); near-black bars: spans that ended in error; amber bands: the loop was blocked by another request (or by work of no request) while this one waited. Hover a bar for its attributes. Open traces.jaeger.json in the Jaeger UI for the full trace (see dashboards/README.md).</p>
${raw(legend(legendItems))}
${blocks}</section>`;
}

/** The name of the one iframe of the flamegraph section: "show here" links load into it (no script needed). */
const FLAME_FRAME = 'looplens-flame';

function flameLinks(s: StageView, links: RenderLinks, multi: boolean): Raw {
  const run = s.run;
  const head = multi ? html`${stageChip(s)}` : raw('');
  if (!run) return html`<div class="flrow">${head}<span class="empty">run folder unreadable${s.problem ? `: ${s.problem}` : ''}</span></div>`;
  if (run.flamegraphs.length === 0) return html`<div class="flrow">${head}<span class="empty">no flamegraph in this run (profiler: ${run.info.profiler})</span></div>`;
  const embed = links.embedFlamegraphs !== false;
  return html`<div class="flrow">${head}${run.flamegraphs.map(
    (f: FlamegraphLink) =>
      html`<span class="fl"><code>${f.label}</code> <a href="${links.hrefTo(f.path)}" target="_blank" rel="noopener noreferrer">open ↗</a>${embed ? html` · <a href="${links.hrefTo(f.path)}" target="${FLAME_FRAME}">show below</a>` : ''}</span>`,
  )}</div>`;
}

function flameSection(stages: StageView[], links: RenderLinks): Raw {
  const multi = stages.length > 1;
  const any = stages.some((s) => (s.run?.flamegraphs.length ?? 0) > 0);
  const placeholder = `<p style="font:13px system-ui,sans-serif;color:#656d76;margin:12px">Choose “show below” above to load a flamegraph here.</p>`;
  return html`<section id="flamegraphs"><h2>Flamegraph${multi ? 's' : ''}</h2>
<p class="lead">CPU flamegraph${multi ? ' of each stage' : ''}, from the run folder${multi ? 's' : ''} (relative links: keep this report beside the profiles folder).</p>
${stages.map((s) => flameLinks(s, links, multi))}
${any && links.embedFlamegraphs !== false ? html`<iframe class="flame" name="${FLAME_FRAME}" sandbox="allow-scripts" referrerpolicy="no-referrer" title="flamegraph" srcdoc="${placeholder}"></iframe>` : ''}</section>`;
}

/** What to type into the flamegraph's search box for a finding: the function that held the loop (blocking calls). */
export function flamegraphSearch(f: Finding): string | null {
  const e = f.evidence;
  if (f.kind !== 'blocking-call') return null;
  const sync = Array.isArray(e.syncCalls) ? (e.syncCalls as unknown[]).filter((x): x is string => typeof x === 'string') : [];
  if (sync.length) return sync[0]!;
  return typeof e.function === 'string' && e.function ? e.function.replace(/\s*\(.*$/, '') : null;
}

/** One line of the finding's evidence: the statement, the calls, or the function and file. */
function evidenceLine(f: Finding): string | null {
  const e = f.evidence;
  if (typeof e.statement === 'string') return e.statement;
  if (Array.isArray(e.calls)) return (e.calls as { call?: unknown }[]).map((c) => (typeof c?.call === 'string' ? c.call : '')).filter(Boolean).join(' → ');
  if (Array.isArray(e.topStatements)) return (e.topStatements as { statement?: unknown }[]).map((t) => String(t?.statement ?? '')).filter(Boolean)[0] ?? null;
  if (typeof e.file === 'string') return `${typeof e.function === 'string' ? e.function : ''} ${e.file}${typeof e.line === 'number' ? `:${e.line}` : ''}`.trim();
  return null;
}

/**
 * The evidence of a finding as links: its example trace (drawn on this page when it is a route's slowest, else the
 * trace id to search in Jaeger and the run's traces.jaeger.json to load there), the run's flamegraph (and what to
 * search in it), and the evidence itself.
 */
function findingEvidence(f: Finding, s: StageView, links: RenderLinks, drawnTraces: Map<string, string>): Raw {
  const run = s.run;
  const parts: Raw[] = [];
  if (f.traceId) {
    const anchor = drawnTraces.get(`${s.name}\u0000${f.traceId.toLowerCase()}`);
    parts.push(
      html`<div>trace ${anchor ? html`<a href="#${anchor}" class="mono" title="drawn on this page">${f.traceId}</a>` : html`<span class="mono" title="an example request: search this trace id in Jaeger">${f.traceId}</span>`}</div>`,
    );
  }
  if (run && run.evidence.traces.source !== null) {
    parts.push(
      html`<div><a href="${links.hrefTo(join(run.dir, RUN_FILES.tracesJaeger))}" download title="open in the Jaeger UI (Search → JSON File), then search the trace id">traces.jaeger.json</a></div>`,
    );
  } else parts.push(html`<div class="empty">no traces.jaeger.json</div>`);
  const flame = run?.flamegraphs[0];
  if (flame) {
    const search = flamegraphSearch(f);
    parts.push(
      html`<div><a href="${links.hrefTo(flame.path)}" target="_blank" rel="noopener noreferrer">${flame.label} ↗</a>${search ? html` <span class="empty">search</span> <code>${search}</code>` : ''}</div>`,
    );
  }
  const { estimate, ...rest } = f.evidence;
  parts.push(
    html`<details class="ev"><summary>evidence</summary><pre class="mono">${JSON.stringify(rest, null, 1)}</pre>${typeof estimate === 'string' ? html`<p class="empty">estimate: ${estimate}</p>` : ''}</details>`,
  );
  return html`${parts}`;
}

function findingsSection(stages: StageView[], links: RenderLinks, drawnTraces: Map<string, string>): Raw {
  const rows = stages.flatMap((s) =>
    (s.run?.findings?.findings ?? []).map((f) => {
      const line = evidenceLine(f);
      return html`<tr class="finding" data-kind="${f.kind}">${stages.length > 1 ? html`<td>${stageChip(s)}</td>` : ''}<td>${inlineCode(f.title)}${line ? html`<br><span class="mono caller" title="${line}">${clip(line, 160)}</span>` : ''}</td><td class="route">${f.route === null ? '' : routeCode(f.route)}</td><td class="n">${fmtMs(f.savingMsPerRequest)}</td><td>${inlineCode(f.fix)}</td><td class="evidence">${findingEvidence(f, s, links, drawnTraces)}</td></tr>`;
    }),
  );
  if (rows.length === 0) return raw('');
  return html`<section id="findings"><h2>Findings</h2><p class="lead">What <code>looplens diagnose</code> recognised (findings.json), with its evidence: an example request's trace id (a link when the trace is drawn above; otherwise load the run's traces.jaeger.json into the Jaeger UI and search the id), the run's flamegraph and what to search in it, and the numbers behind the estimate.</p>
<table><thead><tr>${stages.length > 1 ? html`<th>Stage</th>` : ''}<th>Finding</th><th>Route</th><th class="n">Saves ms/req</th><th>Fix</th><th>Evidence</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

/** How many findings the verdict shows per stage (the Findings section lists them all). */
const VERDICT_FINDINGS = { run: 5, lab: 3 };

/**
 * The verdict, first on the page: the top findings of each stage — what, where, what a fix saves (per request and in
 * all over the window), the fix, and links to the example trace and the flamegraph — before any table.
 */
function verdictSection(stages: StageView[], links: RenderLinks, drawnTraces: Map<string, string>): Raw {
  const multi = stages.length > 1;
  const max = multi ? VERDICT_FINDINGS.lab : VERDICT_FINDINGS.run;
  const parts = stages.map((s) => {
    const run = s.run;
    const findings = run?.findings?.findings ?? [];
    const head = multi ? html`<h3>${stageChip(s)}</h3>` : raw('');
    if (!run) return html`${head}<p class="empty">run folder unreadable</p>`;
    if (!run.findings) return html`${head}<p class="empty">No findings.json in this run (<code>looplens diagnose --write</code> adds it).</p>`;
    if (findings.length === 0) {
      return html`${head}<p class="ok-line">No finding: none of the diagnosis rules fired on the measured window (${fmtMs(s.summary.blocking.msPerRequest)} ms blocked per request, p95 ${fmtMs(s.summary.overall.latencyMs.p95)} ms).</p>`;
    }
    const routes = new Map(run.evidence.measured.routes.map((r) => [r.route, r.requests]));
    const cards = findings.slice(0, max).map((f, i) => {
      const anchor = f.traceId ? drawnTraces.get(`${s.name}\u0000${f.traceId.toLowerCase()}`) : undefined;
      const flame = run.flamegraphs[0];
      const search = flamegraphSearch(f);
      const total = f.route && routes.get(f.route) ? f.savingMsPerRequest * routes.get(f.route)! : null;
      const behind = Array.isArray(f.evidence.waitedBehind) ? (f.evidence.waitedBehind as { block?: unknown }[]).map((b) => String(b.block ?? ''))[0] : undefined;
      return html`<li class="verdict-item" data-kind="${f.kind}"><span class="rank">${i + 1}</span><div><b>${KIND_LABELS[f.kind] ?? f.kind}</b>: ${inlineCode(f.title)}
<div class="sub">${f.route ? html`${routeCode(f.route)} · ` : ''}saves <b>${fmtMs(f.savingMsPerRequest)} ms</b> per request${total !== null ? html` (${fmtMs(total)} ms over the window)` : ''}${
        f.evidence.mostlyWaiting === true ? html` · <b class="warn">mostly waiting${behind ? html` behind <code>${behind}</code>` : ''}</b>` : ''
      }</div>
<div class="sub">fix: ${inlineCode(f.fix)}</div>
<div class="sub">${f.traceId ? (anchor ? html`<a href="#${anchor}">example trace</a>` : html`trace <span class="mono">${f.traceId}</span>`) : ''}${
        flame ? html`${f.traceId ? ' · ' : ''}<a href="${links.hrefTo(flame.path)}" target="_blank" rel="noopener noreferrer">flamegraph ↗</a>${search ? html` (search <code>${search}</code>)` : ''}` : ''
      }</div></div></li>`;
    });
    return html`${head}<ol class="verdict">${cards}</ol>${findings.length > max ? html`<p class="empty">${findings.length - max} more in <a href="#findings">Findings</a>.</p>` : ''}`;
  });
  return html`<section id="verdict"><h2>Verdict</h2>
<p class="lead">What is wrong and where, most time saved first (a cause before the requests that only waited behind it), over the measured window: the same evidence as every table below.</p>
${parts}</section>`;
}

/**
 * The figures the page shows of each stage, from its evidence, embedded in the page's data (what the report renders;
 * tests hold them against summary.json, findings.json and compare.json).
 */
function evidenceData(s: StageView): unknown {
  const e = s.run?.evidence;
  if (!e) return null;
  return {
    window: { startMs: e.window.startMs, endMs: e.window.endMs, source: e.window.source },
    blocking: { count: e.measured.blocks.length, totalMs: e.measured.blockedMs, msPerRequest: e.measured.blockedMsPerRequest, chargedShare: e.measured.chargedShare },
    routes: Object.fromEntries(
      e.measured.routes.map((r) => [r.route, { requests: r.requests, traced: r.traced, blockedMsPerRequest: r.blockedMsPerRequest, blocks: r.blocks, blockedMs: r.blockedMs, queriesPerRequest: r.queriesPerRequest }]),
    ),
  };
}

function body(stages: StageView[], links: RenderLinks): { body: Raw; toc: [string, string][] } {
  const drawn = new Map<string, string>();
  // Waterfalls are built first so the verdict, the blocking table and the findings can link trace ids to them.
  const wf = waterfallSection(stages, drawn);
  const verdict = verdictSection(stages, links, drawn);
  const findings = findingsSection(stages, links, drawn);
  const toc: [string, string][] = [
    ['verdict', 'Verdict'],
    ['overview', 'Overview'],
    ['latency', 'Latency & throughput'],
    ['eventloop', 'Event loop'],
    ['blocking', 'Blocking'],
    ['waterfalls', 'Waterfalls'],
    ['flamegraphs', 'Flamegraphs'],
  ];
  if (findings.html) toc.push(['findings', 'Findings']);
  const procs = processesSection(stages);
  if (procs.present) toc.splice(toc.findIndex(([id]) => id === 'blocking'), 0, ['processes', 'Per worker']);
  const mem = memorySection(stages, (s) => loopOrigin(s as StageView).t0, stages.map(loopOrigin).every((o) => o.fromLoad) ? 's since the load began' : 's since start');
  if (mem.present) toc.splice(toc.findIndex(([id]) => id === 'blocking'), 0, ['memory', 'Memory']);
  const threads = threadsSection(stages);
  if (threads.present) toc.splice(toc.findIndex(([id]) => id === 'blocking') + 1, 0, ['threads', 'Worker threads']);
  return {
    toc,
    body: html`${verdict}${overviewSection(stages)}${latencySection(stages)}${eventLoopSection(stages)}${mem.html}${procs.html}${blockingSection(stages, drawn)}${threads.html}${wf}${flameSection(stages, links)}${findings}`,
  };
}

function loadLine(load: { durationS: number; warmupS: number; connections: number; rate?: number; scenario?: string; paths?: string[]; runs?: number }): Raw {
  return html`<span>load <b>${load.durationS} s</b> (+${load.warmupS} s warmup), <b>${load.connections}</b> connections${load.rate ? `, ${load.rate} req/s fixed` : ''}${load.scenario ? html`, scenario <b>${load.scenario}</b>` : ''}${load.paths?.length ? html`, paths <code>${load.paths.join(' ')}</code>` : ''}${load.runs && load.runs > 1 ? `, medians of ${load.runs} runs` : ''}</span>`;
}

// ---------------------------------------------------------------- pages

export function runStageView(run: RunModel, color?: string): StageView {
  const name = run.info.stage ?? run.id;
  return { name, color: color ?? stageColor(run.info.stage ?? '', 0), summary: run.summary, run };
}

/** A single run's page. */
export function renderRunPage(run: RunModel, links: RenderLinks): string {
  const view = runStageView(run);
  const info = run.info;
  const { body: b, toc } = body([view], links);
  const meta = html`${statusBadge(info.complete, info.reason)}
<span>stage <b>${info.stage ?? '–'}</b></span><span>profiler <b>${info.profiler}</b></span>${loadLine(info.load)}
<span>started ${fmtTime(info.startedAt)}</span><span>took ${seconds(info.startedAt, info.endedAt)}</span>
<span>Node <b>${info.node}</b> · ${info.platform} · ${info.cpu.cores} × ${info.cpu.model}</span>${info.gitSha ? html`<span>git <code>${info.gitSha.slice(0, 10)}</code></span>` : ''}
<span>command <code>${info.command.join(' ')}</code></span>`;
  const notes = [...(info.notes ?? []), ...run.notes];
  return shell({
    title: `looplens run ${run.id}`,
    crumbs: html`${links.index ? html`<a href="${links.index}">runs</a> / ` : ''}run`,
    heading: html`${run.id}`,
    meta: html`${meta}`,
    toc,
    body: html`${notesList(notes)}${b}`,
    data: { kind: 'run', id: run.id, info, summary: run.summary, evidence: evidenceData(view), eventLoop: run.evidence.eventLoop },
    generatedAt: links.generatedAt,
  });
}

/** A lab's page: its stages side by side. */
export function renderLabPage(lab: LabModel, links: RenderLinks): string {
  const stages: StageView[] = lab.stages.map((s, i) => ({
    name: s.stage,
    color: stageColor(s.stage, i),
    summary: s.summary,
    run: s.run,
    href: links.runPage?.(s.runDir),
    problem: s.problem,
  }));
  const l = lab.lab;
  const { body: b, toc } = body(stages, links);
  const meta = html`${statusBadge(l.complete, l.reason)}
<span><b>${stages.length}</b> stage${stages.length === 1 ? '' : 's'}</span><span>profiler <b>${l.settings.profiler}</b></span>${loadLine(l.settings.load)}
${l.settings.workers ? html`<span>workers <b>${l.settings.workers}</b></span>` : ''}${l.settings.scale ? html`<span>seeded users <b>${fmtNum(l.settings.scale)}</b></span>` : ''}
<span>started ${fmtTime(l.startedAt)}</span><span>took ${seconds(l.startedAt, l.endedAt)}</span>`;
  return shell({
    title: `looplens lab ${lab.id}`,
    crumbs: html`${links.index ? html`<a href="${links.index}">runs</a> / ` : ''}lab`,
    heading: html`${lab.id}`,
    meta: html`${meta}<span class="legend" style="margin:0">${stages.map((s) => html`<span class="lg">${stageChip(s)}</span>`)}</span>`,
    toc: l.story ? [['story', 'Story'], ...toc] : toc,
    body: html`${notesList(lab.notes)}${storySection(lab)}${b}`,
    data: {
      kind: 'lab',
      id: lab.id,
      lab: l,
      evidence: Object.fromEntries(stages.map((s) => [s.name, evidenceData(s)])),
      eventLoop: Object.fromEntries(lab.stages.map((s) => [s.stage, s.run?.evidence.eventLoop ?? []])),
    },
    generatedAt: links.generatedAt,
  });
}

export interface IndexItem {
  entry: IndexEntry;
  /** href of the entry's page, when one was written. */
  href?: string;
  /** For a lab: its stages' page hrefs, in order. */
  stages?: { stage: string; href?: string }[];
}

/** The runs index: every lab and run, linking their pages. */
export function renderIndex(items: IndexItem[], links: Pick<RenderLinks, 'generatedAt'> = {}): string {
  const labs = items.filter((i) => i.entry.kind === 'lab');
  const runs = items.filter((i) => i.entry.kind === 'run');
  const broken = items.filter((i) => i.entry.kind === 'broken');
  const name = (i: IndexItem) => (i.href ? html`<a href="${i.href}"><code>${i.entry.id}</code></a>` : html`<code>${i.entry.id}</code>`);
  const labRows = labs.map((i) => {
    const e = i.entry as Extract<IndexEntry, { kind: 'lab' }>;
    const l = e.lab;
    const stageLinks = (i.stages ?? l.stages.map((s) => ({ stage: s.stage, href: undefined as string | undefined }))).map((s, k) =>
      stageChip({ name: s.stage, color: stageColor(s.stage, k), href: s.href } as StageView),
    );
    const best = [...l.stages].sort((a, b) => b.summary.overall.rps - a.summary.overall.rps)[0];
    return html`<tr><td>${name(i)}</td><td class="nw">${fmtTime(l.startedAt)}</td><td><span class="legend" style="margin:0">${stageLinks}</span></td><td>${l.settings.profiler}</td>
<td class="n">${best ? html`${fmtNum(best.summary.overall.rps)} <span class="empty">(${best.stage})</span>` : '–'}</td><td>${statusBadge(l.complete, l.reason)}</td></tr>`;
  });
  const runRows = runs.map((i) => {
    const e = i.entry as Extract<IndexEntry, { kind: 'run' }>;
    const s = e.summary;
    return html`<tr><td>${name(i)}</td><td>${e.info.stage ? stageChip({ name: e.info.stage, color: stageColor(e.info.stage) } as StageView) : html`<span class="empty">app</span>`}</td><td class="nw">${fmtTime(e.info.startedAt)}</td><td>${e.info.profiler}</td>
<td class="n">${s ? fmtNum(s.overall.rps, s.overall.rps < 100 ? 1 : 0) : '–'}</td><td class="n">${s ? fmtMs(s.overall.latencyMs.p99) : '–'}</td><td class="n">${s ? fmtMs(s.eventLoop.delayMs.p99) : '–'}</td><td class="n">${s ? fmtMs(s.blocking.msPerRequest) : '–'}</td>
<td>${e.error && e.info.complete ? html`<span class="badge bad">unreadable</span> <span class="empty">${e.error}</span>` : statusBadge(e.info.complete, e.info.reason)}${e.error && !e.info.complete ? html` <span class="empty">${e.error}</span>` : ''}</td></tr>`;
  });
  const brokenRows = broken.map((i) => html`<tr><td><code>${i.entry.id}</code></td><td class="fn">${(i.entry as { error: string }).error}</td></tr>`);
  const bodyHtml = html`
<section id="labs"><h2>Labs</h2><p class="lead">Every stage of target-app under the same load (<code>looplens lab</code>). Open a lab to compare its stages side by side.</p>
${labRows.length ? html`<table><thead><tr><th>Lab</th><th>Started</th><th>Stages</th><th>Profiler</th><th class="n">Best req/s</th><th>Status</th></tr></thead><tbody>${labRows}</tbody></table>` : html`<p class="empty">No labs yet: run <code>looplens lab</code>.</p>`}</section>
<section id="runs"><h2>Runs</h2><p class="lead">Single runs (<code>looplens profile</code>). Latency in ms.</p>
${runRows.length ? html`<table><thead><tr><th>Run</th><th>Stage</th><th>Started</th><th>Profiler</th><th class="n">req/s</th><th class="n">p99</th><th class="n">Loop delay p99</th><th class="n">Blocked ms/req</th><th>Status</th></tr></thead><tbody>${runRows}</tbody></table>` : html`<p class="empty">No single runs${labs.length ? ' outside labs' : ''}: run <code>looplens profile</code>.</p>`}</section>
${brokenRows.length ? html`<section id="unreadable"><h2>Unreadable folders</h2><table><thead><tr><th>Folder</th><th>Problem</th></tr></thead><tbody>${brokenRows}</tbody></table></section>` : ''}`;
  return shell({
    title: 'looplens runs',
    crumbs: html`looplens`,
    heading: html`Runs`,
    meta: html`<span><b>${labs.length}</b> lab${labs.length === 1 ? '' : 's'}</span><span><b>${runs.length}</b> run${runs.length === 1 ? '' : 's'}</span>`,
    toc: [],
    body: bodyHtml,
    data: { kind: 'index', items: items.map((i) => ({ kind: i.entry.kind, id: i.entry.id, href: i.href ?? null })) },
    generatedAt: links.generatedAt,
  });
}
