/** summary.md and lab.md: the numbers of summary.json as tables people read. */
import type { CacheCounts, Finding, LabStage, OffloadPoolSummary, ProcessSummary, RequestStats, RunInfo, Summary } from '../../profiles/contract/types.js';
import { LOST_CONTEXT_FIX } from './evidence.js';

export function fmt(n: number | undefined, digits = 1): string {
  if (n === undefined || Number.isNaN(n)) return '–';
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(digits).replace(/\.0+$/, '');
}

/** Escapes a cell (route names come from user scenarios). */
export function cell(s: string): string {
  // routes come from the app: `<`, `>`, `|` and backticks entity-encoded so they cannot open HTML, a cell or a code span
  return s.replace(/[<>|`]/g, (c) => `&#${c.charCodeAt(0)};`).replace(/[\r\n]+/g, ' ');
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** A cache's hit ratio (0..1) as "26 %", or – when there is no cache or it had no lookup. */
export function pct(c: CacheCounts | undefined): string {
  return c === undefined || c.hits + c.misses === 0 ? '–' : `${fmt(c.hitRatio * 100, 0)} %`;
}

function statsRow(name: string, s: RequestStats, extra: string[] = []): string {
  return row([
    cell(name),
    fmt(s.requests, 0),
    fmt(s.rps),
    fmt(s.latencyMs.p50),
    fmt(s.latencyMs.p95),
    fmt(s.latencyMs.p99),
    fmt(s.latencyMs.max),
    fmt(s.non2xx + s.errors, 0),
    fmt(s.blockedMsPerRequest, 2),
    fmt(s.waitedMsPerRequest, 1),
    fmt(s.queriesPerRequest, 2),
    ...extra,
  ]);
}

export function renderSummaryMd(summary: Summary, run: Pick<RunInfo, 'id' | 'command' | 'stage' | 'profiler' | 'load' | 'complete' | 'notes'>): string {
  const l = run.load;
  const cache = summary.cache;
  const lines = [
    `# ${run.id}`,
    '',
    `- command: \`${run.command.join(' ').replace(/`/g, "'")}\`${run.stage ? ` (stage ${run.stage})` : ''}`,
    `- profiler: ${run.profiler}; load: ${l.durationS} s after ${l.warmupS} s warmup, ${l.connections} connections${
      l.rate ? `, ${l.rate} req/s fixed` : ''
    }${l.scenario ? `, scenario ${l.scenario}` : ''}${l.paths ? `, paths ${l.paths.map(cell).join(' ')}` : ''}`,
    '',
    '## Requests (latency in ms)',
    '',
    row(['route', 'requests', 'req/s', 'p50', 'p95', 'p99', 'max', 'errors', 'blocked ms/req', 'waited ms/req', 'queries/req', ...(cache ? ['cache hit ratio'] : [])]),
    row(Array(cache ? 12 : 11).fill('---')),
    ...Object.entries(summary.routes).map(([k, s]) => statsRow(k, s, cache ? [pct(cache.byRoute?.[k])] : [])),
    statsRow('**overall**', { ...summary.overall, blockedMsPerRequest: summary.blocking.msPerRequest, queriesPerRequest: summary.db?.queriesPerRequest }, cache ? [pct(cache)] : []),
    '',
    '## Event loop',
    '',
    `- delay p50 ${fmt(summary.eventLoop.delayMs.p50, 2)} ms, p99 ${fmt(summary.eventLoop.delayMs.p99, 2)} ms, max ${fmt(summary.eventLoop.delayMs.max, 2)} ms; utilization ${fmt(summary.eventLoop.utilization * 100)} %`,
    `- blocking: ${summary.blocking.count} event${summary.blocking.count === 1 ? '' : 's'}, ${fmt(summary.blocking.totalMs)} ms in total, ${fmt(summary.blocking.msPerRequest, 2)} ms per request`,
  ];
  if (summary.db) lines.push(`- database: ${fmt(summary.db.queriesPerRequest, 2)} queries per request`);
  if (summary.lostContext) {
    const lc = summary.lostContext;
    lines.push(
      `- **warning: the queries lost their request's context** — ${fmt(lc.share * 100, 0)} % of ${fmt(lc.queries, 0)} queries in no request (${fmt(lc.orphanQueries, 0)}) or outside the request they were charged to (${fmt(lc.outsideRequestQueries, 0)}): queries per request are not to be trusted and no finding is drawn from queries. ${LOST_CONTEXT_FIX}`,
    );
  }
  if (summary.upstream) lines.push(`- external calls: ${summary.upstream.calls}, failed ${summary.upstream.failures}`);
  if (summary.memory) {
    const m = summary.memory;
    lines.push(
      `- memory: heap used ${m.heapUsedMb ? `${fmt(m.heapUsedMb.start)} → ${fmt(m.heapUsedMb.end)} MiB` : '–'} over the window; kept ${m.growthMbPer1kRequests === null ? '– (no live heap profile)' : `${fmt(m.growthMbPer1kRequests, 2)} MiB per 1,000 requests`}; allocated ${m.allocatedKbPerRequest === null ? '–' : `${fmt(m.allocatedKbPerRequest)} KiB per request`}; GC ${fmt(m.gc.ms, 0)} ms (${fmt(m.gc.share * 100, 1)} % of the window, ${fmt(m.gc.pauses, 0)} pauses, longest ${fmt(m.gc.longestPauseMs, 1)} ms${m.gc.longestPauseKind ? ` ${m.gc.longestPauseKind}` : ''})`,
    );
  }
  if (cache) {
    lines.push(
      `- cache: hit ratio ${pct(cache)} — ${fmt(cache.hits, 0)} hits, ${fmt(cache.misses, 0)} misses (${fmt(cache.stale, 0)} of them stale: entries retired by a write)${
        cache.errors ? `, ${fmt(cache.errors, 0)} lookups the cache's store did not answer` : ''
      }; the app's counters over the measured window`,
    );
  }
  if (summary.offloadPool) lines.push(`- ${offloadPoolLine(summary.offloadPool)}`);
  const procs = summary.processes ?? [];
  const single = procs.filter((p) => p.role === 'server').length <= 1;
  if (single && procs.some((p) => p.rssMb)) {
    lines.push(`- memory (RSS over the window, MiB): ${procs.filter((p) => p.rssMb).map((p) => `${p.role === 'server' ? 'the app' : `${p.role} ${p.pid}`} ${fmt(p.rssMb!.p50, 0)} (max ${fmt(p.rssMb!.max, 0)})`).join(', ')}`);
  }
  if (!single) lines.push('', '## Per process', '', ...processTable(procs));
  if (summary.threads?.length) {
    lines.push('', '## Worker threads', '', "Each worker thread's own loop (threads/<pid>-<threadId>/): its blocks stop that thread only, so they are not in the blocked ms above.", '');
    lines.push('| thread | blocks | blocked ms | work items | blocked most in | loop delay p99 ms | loop utilization % |', '| --- | --- | --- | --- | --- | --- | --- |');
    for (const t of summary.threads) {
      const top = t.functions[0];
      lines.push(`| ${t.pid}-${t.threadId} | ${fmt(t.blocks, 0)} | ${fmt(t.blockedMs, 1)} | ${fmt(t.workItems, 0)} | ${top ? `\`${top.topFrame}\` (${fmt(top.blockedMs, 1)} ms)` : '–'} | ${t.eventLoop ? fmt(t.eventLoop.delayMs.p99, 2) : '–'} | ${t.eventLoop ? fmt(t.eventLoop.utilization * 100) : '–'} |`);
    }
  }
  if (run.notes?.length) lines.push('', '## Notes', '', ...run.notes.map((n) => `- ${n}`));
  if (!run.complete) lines.push('', '> This run is incomplete: see run.json `reason`.');
  return lines.join('\n') + '\n';
}

/** The offload pool's window in one line (summary.md, lab.md). */
export function offloadPoolLine(p: OffloadPoolSummary): string {
  return `offload pool: ${fmt(p.size, 0)} threads, ${fmt(p.calls, 0)} calls, ${fmt(p.queuedShare * 100, 0)} % of them found every thread busy and waited ${fmt(p.waitMsPerQueuedCall)} ms each on average (${fmt(p.meanWaiting)} calls waiting at any moment)`;
}

/** One row per process of the app: a cluster's workers, its primary, any other process of its group (`stage`: a first column). */
export function processTable(procs: readonly ProcessSummary[], stage?: string): string[] {
  const head = [...(stage !== undefined ? ['stage'] : []), 'process', 'role', 'requests', 'req/s', 'blocks', 'blocked ms/req', 'waited ms/req', 'loop delay p99 ms', 'loop utilization %', 'RSS MiB (max)'];
  return [
    row(head),
    row(Array(head.length).fill('---')),
    ...procs.map((p) =>
      row([
        ...(stage !== undefined ? [cell(stage)] : []),
        String(p.pid),
        p.role,
        fmt(p.requests, 0),
        fmt(p.rps),
        fmt(p.blocks, 0),
        fmt(p.blockedMsPerRequest, 2),
        fmt(p.waitedMsPerRequest, 1),
        p.eventLoop ? fmt(p.eventLoop.delayMs.p99, 2) : '–',
        p.eventLoop ? fmt(p.eventLoop.utilization * 100) : '–',
        p.rssMb ? `${fmt(p.rssMb.p50, 0)} (${fmt(p.rssMb.max, 0)})` : '–',
      ]),
    ),
  ];
}

/** Relative change in percent, as "−68 %" / "+217 %" (– when there is no base). */
export function change(base: number | undefined, head: number | undefined): string {
  if (base === undefined || head === undefined || base === 0) return '–';
  const pct = ((head - base) / base) * 100;
  const r = Math.round(pct);
  return `${r > 0 ? '+' : r < 0 ? '−' : '±'}${Math.abs(r)} %`;
}

interface Metric {
  label: string;
  get: (s: Summary, route: string | null) => number | undefined;
  digits?: number;
}

/** A route's stats, or undefined when the route got no responses in that run (its zeros would read as results). */
function routeOf(s: Summary, r: string | null): RequestStats | undefined {
  if (!r) return s.overall;
  const x = s.routes[r];
  return x && x.requests > 0 ? x : undefined;
}

const ROUTE_METRICS: Metric[] = [
  { label: 'p50 ms', get: (s, r) => routeOf(s, r)?.latencyMs.p50 },
  { label: 'p95 ms', get: (s, r) => routeOf(s, r)?.latencyMs.p95 },
  { label: 'p99 ms', get: (s, r) => routeOf(s, r)?.latencyMs.p99 },
  { label: 'req/s', get: (s, r) => (r ? s.routes[r]?.rps : s.overall.rps) },
  {
    label: 'errors',
    get: (s, r) => {
      const x = r ? s.routes[r] : s.overall;
      return x ? x.non2xx + x.errors : undefined;
    },
    digits: 0,
  },
  { label: 'blocked ms/req', get: (s, r) => (r ? routeOf(s, r)?.blockedMsPerRequest : s.blocking.msPerRequest), digits: 2 },
  // ms a request waited behind other requests' blocks, before and inside its span (routes only)
  { label: 'waited ms/req', get: (s, r) => (r ? routeOf(s, r)?.waitedMsPerRequest : undefined), digits: 1 },
  { label: 'queries/req', get: (s, r) => (r ? routeOf(s, r)?.queriesPerRequest : s.db?.queriesPerRequest), digits: 2 },
];

/** What lab.md is rendered from (lab.json's stages, plus what the lab knows about the reference app). */
export interface LabMdInput {
  id: string;
  stages: LabStage[];
  settingsLine: string;
  notes?: string[];
  /** lab.json's status: an interrupted or incomplete lab says so at the top; `stagesPlanned` counts what is left. */
  status?: { complete: boolean; reason?: string; endedAt?: string; stagesPlanned?: number };
  /** One line per stage on what it changes (target-app's Stage.summary), and a link to where that is explained. */
  stageChanges?: { summaries: Readonly<Record<string, string>>; href: string; label?: string };
  /** ms POST /posts waits for its image upload in every stage (the stand-in's images latency), when it uploads one. */
  imageUploadMs?: number;
  /**
   * Markdown that opens the lab's figures, before the generic tables (a story lab's section: scripts/lab/stories); its
   * first "## " section is the headline the CLI prints.
   */
  lead?: string;
}

/** Below this many requests a route's tail percentiles are a handful of requests. */
export const SMALL_SAMPLE_REQUESTS = 50;

/**
 * A route whose percentiles cannot tell much: fewer than SMALL_SAMPLE_REQUESTS requests, or p95 = p99 = max (its
 * slowest request is every tail percentile at once).
 */
export function smallSample(s: RequestStats | undefined): boolean {
  if (!s || s.requests === 0) return false;
  const l = s.latencyMs;
  return s.requests < SMALL_SAMPLE_REQUESTS || (l.p95 === l.p99 && l.p99 === l.max);
}

/** The lines lab.md opens with when the lab did not finish (or is still running), else none. */
function labStatusLines(status: LabMdInput['status'], done: number): string[] {
  if (!status || status.complete) return [];
  const planned = status.stagesPlanned ? ` of ${status.stagesPlanned}` : '';
  const noun = `stage${(status.stagesPlanned ?? done) === 1 ? '' : 's'}`;
  if (!status.endedAt) {
    return [`> **Not finished:** ${done}${planned} ${noun} done so far — this file is rewritten after every stage; if the lab is no longer running, it was stopped without a chance to say why.`, ''];
  }
  return [`> **Interrupted or incomplete:** ${status.reason ?? 'see lab.json'}. ${done}${planned} ${noun} finished; the tables below hold only those, and a stage marked incomplete in its run.json is not a measurement to compare.`, ''];
}

/** "What each stage changes", one line per stage, and POST /posts' designed wait. */
function labStageLines(lab: LabMdInput, routes: readonly string[]): string[] {
  const lines: string[] = [];
  const c = lab.stageChanges;
  if (c && lab.stages.some((s) => c.summaries[s.stage])) {
    lines.push(`## What each stage changes ([${cell(c.label ?? 'target-app/README.md')}](${encodeURI(c.href)}))`, '');
    for (const s of lab.stages) lines.push(`- **${cell(s.stage)}**: ${c.summaries[s.stage] ? cell(c.summaries[s.stage]) : '(not a target-app stage)'}`);
    lines.push('');
  }
  if (lab.imageUploadMs && routes.includes('POST /posts')) {
    lines.push(
      `POST /posts waits ~${fmt(lab.imageUploadMs, 0)} ms for its image upload in every stage, by design (the external-services stand-in's images latency; the post keeps its image URL): its latency cannot fall below that, so read what each stage takes off the rest.`,
      '',
    );
  }
  return lines;
}

const SMALL_MARK = '*';
const smallNote = `${SMALL_MARK} few requests (fewer than ${SMALL_SAMPLE_REQUESTS}, or p95 = p99 = max): the percentiles are a handful of requests — read the trend, not the digits.`;

/**
 * lab.md: a status line when the lab did not finish, the headline table, what each stage changes, then one table
 * per route (and one overall) with a row per stage: the metrics, then the change of p95 and req/s against the previous stage and
 * against the first (baseline). A route with too few requests for its percentiles is marked (smallSample).
 */
export function renderLabMd(lab: LabMdInput): string {
  const stages = lab.stages;
  const lines = [`# Lab ${lab.id}`, '', ...labStatusLines(lab.status, stages.length), lab.settingsLine, ''];
  if (stages.length === 0) return lines.concat('No stage finished.', '').join('\n');
  const base = stages[0];
  if (lab.lead) lines.push(lab.lead.trimEnd(), '');

  const routes = [...new Set(stages.flatMap((s) => Object.keys(s.summary.routes)))];
  const mark = (s: Summary, r: string) => (smallSample(routeOf(s, r)) ? SMALL_MARK : '');
  const anySmall = stages.some((s) => routes.some((r) => mark(s.summary, r)));

  // The headline: the seed article's table, measured (a lead — a story's table — takes its place).
  if (!lab.lead) {
    lines.push(`## ${base.stage} → ${stages[stages.length - 1].stage}`, '');
    lines.push(row(['', ...stages.map((s) => s.stage), `change ${base.stage} → ${stages[stages.length - 1].stage}`]));
    lines.push(row(Array(stages.length + 2).fill('---')));
    const last = stages[stages.length - 1];
    for (const r of routes) {
      const p50 = (s: Summary) => routeOf(s, r)?.latencyMs.p50;
      lines.push(row([`${cell(r)} p50 ms`, ...stages.map((s) => fmt(p50(s.summary)) + mark(s.summary, r)), change(p50(base.summary), p50(last.summary))]));
    }
    lines.push(row(['overall p95 ms', ...stages.map((s) => fmt(s.summary.overall.latencyMs.p95)), change(base.summary.overall.latencyMs.p95, last.summary.overall.latencyMs.p95)]));
    lines.push(row(['throughput req/s', ...stages.map((s) => fmt(s.summary.overall.rps)), change(base.summary.overall.rps, last.summary.overall.rps)]));
    lines.push(
      row(['event-loop delay p99 ms', ...stages.map((s) => fmt(s.summary.eventLoop.delayMs.p99, 2)), change(base.summary.eventLoop.delayMs.p99, last.summary.eventLoop.delayMs.p99)]),
    );
    lines.push(
      row(['blocked ms/request', ...stages.map((s) => fmt(s.summary.blocking.msPerRequest, 2)), change(base.summary.blocking.msPerRequest, last.summary.blocking.msPerRequest)]),
    );
    lines.push(
      row(['queries/request', ...stages.map((s) => fmt(s.summary.db?.queriesPerRequest, 2)), change(base.summary.db?.queriesPerRequest, last.summary.db?.queriesPerRequest)]),
    );
    if (stages.some((s) => s.summary.cache)) {
      // the cache's evidence beside the latencies: – for stages without a cache
      lines.push(row(['cache hit ratio', ...stages.map((s) => pct(s.summary.cache)), change(base.summary.cache?.hitRatio, last.summary.cache?.hitRatio)]));
    }
    if (stages.some((s) => s.summary.memory)) {
      // memory: what the heap kept per 1,000 requests (heap.heapprofile's live half), GC's share of the window
      const kept = (s: Summary) => s.memory?.growthMbPer1kRequests ?? undefined;
      const gc = (s: Summary) => (s.memory ? s.memory.gc.share * 100 : undefined);
      lines.push(row(['heap kept MiB/1,000 requests', ...stages.map((s) => fmt(kept(s.summary), 2)), change(kept(base.summary), kept(last.summary))]));
      lines.push(row(['GC % of the window', ...stages.map((s) => fmt(gc(s.summary), 1)), change(gc(base.summary), gc(last.summary))]));
      lines.push(row(['KiB allocated/request', ...stages.map((s) => fmt(s.summary.memory?.allocatedKbPerRequest ?? undefined)), change(base.summary.memory?.allocatedKbPerRequest ?? undefined, last.summary.memory?.allocatedKbPerRequest ?? undefined)]));
    }
    lines.push('');
  }
  if (anySmall) lines.push(smallNote, '');
  // after the headline (the CLI prints the first section), before the per-route tables
  lines.push(...labStageLines(lab, routes));

  for (const r of [...routes, null]) {
    lines.push(`## ${r ? cell(r) : 'overall'}`, '');
    lines.push(row(['stage', ...ROUTE_METRICS.map((m) => m.label), 'p95 vs prev', 'p95 vs base', 'req/s vs prev', 'req/s vs base']));
    lines.push(row(Array(ROUTE_METRICS.length + 5).fill('---')));
    stages.forEach((s, i) => {
      const prev = stages[Math.max(0, i - 1)].summary;
      const p95 = ROUTE_METRICS[1].get;
      const rps = ROUTE_METRICS[3].get;
      lines.push(
        row([
          `[${cell(s.stage)}](${encodeURI(s.run)}/summary.md)${r ? mark(s.summary, r) : ''}`,
          ...ROUTE_METRICS.map((m) => fmt(m.get(s.summary, r), m.digits ?? 1)),
          i === 0 ? '–' : change(p95(prev, r), p95(s.summary, r)),
          i === 0 ? '–' : change(p95(base.summary, r), p95(s.summary, r)),
          i === 0 ? '–' : change(rps(prev, r), rps(s.summary, r)),
          i === 0 ? '–' : change(rps(base.summary, r), rps(s.summary, r)),
        ]),
      );
    });
    lines.push('');
    if (r && stages.some((s) => mark(s.summary, r))) lines.push(smallNote, '');
  }
  lines.push(
    '## Per stage',
    '',
    row(['stage', 'event-loop delay p50 ms', 'delay p99 ms', 'delay max ms', 'loop utilization %', 'blocking events', 'blocked ms total', 'upstream calls / failed', 'run folder']),
    row(Array(9).fill('---')),
    ...stages.map((s) =>
      row([
        cell(s.stage),
        fmt(s.summary.eventLoop.delayMs.p50, 2),
        fmt(s.summary.eventLoop.delayMs.p99, 2),
        fmt(s.summary.eventLoop.delayMs.max, 2),
        fmt(s.summary.eventLoop.utilization * 100),
        fmt(s.summary.blocking.count, 0),
        fmt(s.summary.blocking.totalMs),
        s.summary.upstream ? `${s.summary.upstream.calls} / ${s.summary.upstream.failures}` : '–',
        `[${cell(s.run)}](${encodeURI(s.run)}/)`,
      ]),
    ),
    '',
  );
  lines.push(...labProcessLines(stages));
  if (lab.notes?.length) lines.push('## Notes', '', ...lab.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}

/**
 * "Per worker": for the stages that ran several processes (--workers), every process's requests, blocked and waited
 * ms, loop and memory (summary.json `processes`, the evidence's per-process breakdown). Empty when none did.
 */
function labProcessLines(stages: readonly LabStage[]): string[] {
  const multi = stages.filter((s) => (s.summary.processes ?? []).filter((p) => p.role === 'server').length > 1);
  if (multi.length === 0) return [];
  const lines = ['## Per worker', '', 'Each worker process of the stages that ran several (node:cluster): its own requests, blocks and loop — a block stops only its own worker, and its requests wait only behind it.', ''];
  multi.forEach((s, i) => lines.push(...processTable(s.summary.processes ?? [], s.stage).slice(i === 0 ? 0 : 2)));
  lines.push('');
  return lines;
}

/**
 * lab.md's companion to the findings table: which query each N+1 finding repeats, per stage and route (the
 * statement of the median affected request, as the rule recorded it). Empty when no stage has one.
 */
export function renderLabNPlusOne(stages: readonly { stage: string; findings: readonly Finding[] }[]): string {
  const rows: string[] = [];
  for (const s of stages) {
    for (const f of s.findings) {
      if (f.kind !== 'n-plus-one') continue;
      const e = f.evidence as { statement?: unknown; queriesPerRequest?: unknown };
      const statement = typeof e.statement === 'string' ? e.statement : '?';
      const times = typeof e.queriesPerRequest === 'number' ? `${fmt(e.queriesPerRequest, 0)} ×` : '';
      rows.push(row([cell(s.stage), f.route ? cell(f.route) : '–', times, `<code>${cell(statement.length > 160 ? `${statement.slice(0, 157)}…` : statement)}</code>`]));
    }
  }
  if (rows.length === 0) return '';
  return ['## The N+1 queries', '', 'The statement each N+1 row repeats, times per request of the route (median of the requests that loop):', '', row(['stage', 'route', 'per request', 'statement']), row(Array(4).fill('---')), ...rows, ''].join('\n');
}
