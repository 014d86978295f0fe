/**
 * A story lab told in figures (`looplens lab --story <name>`): storyFigures puts side by side what the stages'
 * summary.json (as lab.json holds them: the evidence's figures, per route and per process) and findings.json already
 * hold — the innocent route's latency and its waiting behind other requests' blocks, the blocked time and the function
 * that blocks, the pool's queue, the throughput and memory per worker — and nothing else; renderStoryMd writes them as
 * lab.md's opening section, and the HTML report (dashboards/report/story.ts) shows the same figures.
 */
import type { Finding, LabStage, OffloadPoolSummary, ProcessSummary, RequestStats, Summary } from '../../../profiles/contract/types.js';
import { cell, fmt } from '../../analysis/markdown.js';
import { KIND_LABELS } from '../../diagnose/render.js';
import type { Story } from './types.js';

export interface StoryInput {
  story: Story;
  stages: readonly LabStage[];
  /** findings.json of each stage, by stage name (stages without one left out). */
  findings: ReadonlyMap<string, readonly Finding[]>;
  /** How the lab folder is named in the commands shown (default "<lab>"). */
  labPath?: string;
}

/** One stage's row of the story table. */
export interface StoryRow {
  stage: string;
  run: string;
  workers: number;
  innocent: RequestStats | undefined;
  slow: RequestStats | undefined;
  blockedMsPerRequest: number;
  blocks: number;
  rps: number;
  rpsPerWorker: number;
  /** RSS of every process of the app (their medians added), and per server process; null when not sampled. */
  memory: { totalMb: number; perServerMb: number } | null;
  loopDelayP99Ms: number;
  /** Its findings' kinds (labels), none when diagnose named nothing; null without findings.json. */
  findings: string[] | null;
  servers: ProcessSummary[];
  offloadPool: OffloadPoolSummary | null;
}

/** The blocking call, as diagnose named it in the first stage that blocked. */
export interface StoryBlocking {
  stage: string;
  blocks: number;
  msPerRequest: number;
  slowMsPerRequest: number | undefined;
  /** "httpGetSync (file:line)", its caller, diagnose's title and fix; null when no blocking-call finding. */
  where: string | null;
  caller: string | null;
  title: string | null;
  fix: string | null;
}

export interface StoryFigures {
  rows: StoryRow[];
  /** The before and after of the story's pull request (story.compare), when both ran. */
  base: StoryRow | undefined;
  head: StoryRow | undefined;
  blocking: StoryBlocking | null;
  /** Stages in which nothing blocked. */
  unblocked: StoryRow[];
  /** The first stage whose pool took calls. */
  pooled: StoryRow | undefined;
  /** The base stage, then every stage with several workers. */
  workers: StoryRow[];
  /** `looplens compare` for the story's pull request. */
  compare: string | null;
}

function route(s: Summary, key: string): RequestStats | undefined {
  const r = s.routes[key];
  return r && r.requests > 0 ? r : undefined;
}

/** The processes that served requests. */
export function servers(s: Summary): ProcessSummary[] {
  return (s.processes ?? []).filter((p) => p.role === 'server');
}

/** The stage's RSS in MiB: every process of the app (the medians added), and per server process. */
export function memoryOf(s: Summary): { totalMb: number; perServerMb: number } | null {
  const all = (s.processes ?? []).filter((p) => p.rssMb);
  if (all.length === 0) return null;
  const total = all.reduce((a, p) => a + p.rssMb!.p50, 0);
  const srv = servers(s).filter((p) => p.rssMb);
  return { totalMb: total, perServerMb: srv.length ? srv.reduce((a, p) => a + p.rssMb!.p50, 0) / srv.length : total };
}

const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

export function storyFigures(input: StoryInput): StoryFigures {
  const { story, stages, findings } = input;
  const { innocent, slow } = story.routes;
  const rows: StoryRow[] = stages.map((st) => {
    const s = st.summary;
    const srv = servers(s);
    const workers = Math.max(1, st.workers ?? srv.length);
    const fs = findings.get(st.stage);
    return {
      stage: st.stage,
      run: st.run,
      workers,
      innocent: route(s, innocent),
      slow: route(s, slow),
      blockedMsPerRequest: s.blocking.msPerRequest,
      blocks: s.blocking.count,
      rps: s.overall.rps,
      rpsPerWorker: s.overall.rps / workers,
      memory: memoryOf(s),
      loopDelayP99Ms: s.eventLoop.delayMs.p99,
      findings: fs === undefined ? null : [...new Set(fs.map((f) => KIND_LABELS[f.kind] ?? f.kind))],
      servers: srv,
      offloadPool: s.offloadPool && s.offloadPool.calls > 0 ? s.offloadPool : null,
    };
  });
  const by = new Map(rows.map((r) => [r.stage, r]));
  const base = by.get(story.compare.base);
  const head = by.get(story.compare.head);
  const first = rows.find((r) => r.blocks > 0);
  let blocking: StoryBlocking | null = null;
  if (first) {
    const fs = findings.get(first.stage);
    const f = fs?.find((x) => x.kind === 'blocking-call' && x.route === slow) ?? fs?.find((x) => x.kind === 'blocking-call');
    const e = f?.evidence ?? {};
    const fn = str(e.function);
    blocking = {
      stage: first.stage,
      blocks: first.blocks,
      msPerRequest: first.blockedMsPerRequest,
      slowMsPerRequest: first.slow?.blockedMsPerRequest,
      where: fn ? `${fn}${str(e.file) ? ` (${str(e.file)}${typeof e.line === 'number' ? `:${e.line}` : ''})` : ''}` : null,
      caller: str(e.caller),
      title: f?.title ?? null,
      fix: f?.fix ?? null,
    };
  }
  const lab = input.labPath ?? '<lab>';
  return {
    rows,
    base,
    head,
    blocking,
    unblocked: rows.filter((r) => r.blocks === 0),
    pooled: rows.find((r) => r.offloadPool),
    workers: base ? [base, ...rows.filter((r) => r.workers > 1 || r.servers.length > 1)] : [],
    compare: base && head ? `looplens compare ${lab}/${base.run} ${lab}/${head.run} --fail-on p95:+10%,blocked:+20%` : null,
  };
}

const row = (cells: string[]) => `| ${cells.join(' | ')} |`;

/** "117×" (a / b), – when either is missing. */
export function times(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || b <= 0) return '–';
  const x = a / b;
  return `${x >= 10 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1)}×`;
}

/** The story as lab.md's opening section: what it measures, the table, the figures read out, the background. */
export function renderStoryMd(input: StoryInput): string {
  const { story } = input;
  const { innocent, slow } = story.routes;
  const fig = storyFigures(input);
  const lines: string[] = [`## ${cell(story.title)}`, ''];
  lines.push(
    `The story of ${story.source}, measured: the same ${fmt(story.callMs, 0)} ms upstream call behind \`${cell(slow)}\`, made a different way in each stage, beside an innocent route, \`${cell(innocent)}\`, that never blocks and waits for nothing of its own. Every stage gets the same load. Latency in ms; *waited* is the time a request spent with its process's loop blocked by other requests' work, before and inside its span (the evidence's per-request waiting), *blocked* the loop time the blocks took, per request of the stage.`,
    '',
  );
  if (fig.rows.length === 0) return lines.concat('No stage finished.', '').join('\n');
  lines.push(...storyTableMd(fig, story));
  lines.push('', ...storyPoints(fig, story, MARKDOWN).map((p) => `- **${p.title}** ${p.text}`), '');
  for (const n of story.notes) lines.push(n, '');
  return lines.join('\n');
}

/** The story table: one row per stage (Markdown lines; `links`: each stage links its summary.md). */
export function storyTableMd(fig: StoryFigures, story: Story, links = true): string[] {
  const { innocent, slow } = story.routes;
  const lines = [
    row(['stage', 'workers', `${cell(innocent)} p50`, 'p99', 'waited ms/req', `${cell(slow)} p50`, 'p99', 'blocked ms/req', 'req/s', 'req/s per worker', 'RSS MiB (per worker)', 'loop delay p99 ms', 'findings']),
    row(Array(13).fill('---')),
  ];
  for (const r of fig.rows) {
    lines.push(
      row([
        links ? `[${cell(r.stage)}](${encodeURI(r.run)}/summary.md)` : cell(r.stage),
        fmt(r.workers, 0),
        fmt(r.innocent?.latencyMs.p50),
        fmt(r.innocent?.latencyMs.p99),
        fmt(r.innocent?.waitedMsPerRequest, 1),
        fmt(r.slow?.latencyMs.p50),
        fmt(r.slow?.latencyMs.p99),
        fmt(r.blockedMsPerRequest, 2),
        fmt(r.rps),
        fmt(r.rpsPerWorker),
        r.memory ? (r.workers > 1 ? `${fmt(r.memory.totalMb, 0)} (${fmt(r.memory.perServerMb, 0)})` : fmt(r.memory.totalMb, 0)) : '–',
        fmt(r.loopDelayP99Ms, 1),
        r.findings === null ? '–' : r.findings.length === 0 ? 'none' : r.findings.map((k) => cell(k.toLowerCase())).join(', '),
      ]),
    );
  }
  return lines;
}

/** How the points' text is marked up: Markdown for lab.md, HTML for the report (each escapes the untrusted text). */
export interface Inline {
  /** Plain text from the run (a stage name, a route). */
  text(s: string): string;
  code(s: string): string;
  em(s: string): string;
  /** looplens' own text with `code` spans (a finding's fix): kept as code; plain text() when absent. */
  trusted?(s: string): string;
}

/** A code span: literal inside (no entity would be decoded there), so only what could end it or its table cell goes. */
const codeSpan = (s: string) => `\`${s.replace(/`/g, "'").replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ')}\``;

export const MARKDOWN: Inline = { text: cell, code: codeSpan, em: (s) => `*${cell(s)}*`, trusted: (s) => s.replace(/[<>|]/g, (c) => `&#${c.charCodeAt(0)};`).replace(/[\r\n]+/g, ' ') };

/** The figures read out, one point of the story each (only the points this lab's stages measured). */
export function storyPoints(fig: StoryFigures, story: Story, m: Inline = MARKDOWN): { title: string; text: string }[] {
  const { innocent, slow } = story.routes;
  const { base, head } = fig;
  const out: { title: string; text: string }[] = [];
  const p99 = (r: StoryRow | undefined) => r?.innocent?.latencyMs.p99;
  const t = m.text;
  if (base && head) {
    out.push({
      title: 'The innocent route pays.',
      text: `${m.code(innocent)} never blocks, yet its p99 is ${fmt(p99(base))} ms in ${t(base.stage)} against ${fmt(p99(head))} ms in ${t(head.stage)} (${times(p99(base), p99(head))}): each of its requests waited ${fmt(base.innocent?.waitedMsPerRequest, 1)} ms on average behind other requests' blocks (${fmt(head.innocent?.waitedMsPerRequest ?? 0, 1)} ms in ${t(head.stage)}).`,
    });
  }
  const b = fig.blocking;
  if (b) {
    const perSlow = b.slowMsPerRequest !== undefined ? ` (${fmt(b.slowMsPerRequest, 1)} ms per ${m.code(slow)} request)` : '';
    out.push({
      title: 'The blocking call.',
      text:
        `In ${t(b.stage)} the loop stopped ${fmt(b.blocks, 0)} times, ${fmt(b.msPerRequest, 2)} ms per request of the stage${perSlow}` +
        (b.where ? `: in ${m.code(b.where)}${b.caller ? `, called from ${m.code(b.caller)}` : ''}. diagnose names it: ${m.em(b.title ?? '')} — ${(m.trusted ?? m.text)(b.fix ?? '')}` : '; diagnose named no blocking call (see its findings.json).'),
    });
  }
  if (b && fig.unblocked.length) {
    const named = (r: StoryRow) => (r.findings === null ? `${t(r.stage)}: no findings.json` : r.findings.length === 0 ? `nothing in ${t(r.stage)}` : `${r.findings.map(t).join(', ')} in ${t(r.stage)}`);
    out.push({ title: 'Nothing blocks', text: `in ${fig.unblocked.map((r) => t(r.stage)).join(' and ')}: 0 ms blocked per request; diagnose names ${fig.unblocked.map(named).join(', ')}.` });
  }
  const pooled = fig.pooled;
  if (pooled?.offloadPool) {
    const p = pooled.offloadPool;
    const own = pooled.slow?.latencyMs.p50;
    const free = head?.slow?.latencyMs.p50;
    out.push({
      title: 'The pool queues past its threads.',
      text:
        `In ${t(pooled.stage)} the loop is free (${fmt(pooled.blockedMsPerRequest, 2)} ms blocked per request, ${m.code(innocent)} p99 ${fmt(p99(pooled))} ms), but the pool has ${fmt(p.size, 0)} threads for a load that keeps more calls in flight: ${fmt(p.queuedShare * 100, 0)} % of its ${fmt(p.calls, 0)} calls found every thread busy and waited ${fmt(p.waitMsPerQueuedCall)} ms each for one (${fmt(p.meanWaiting)} calls waiting at any moment).` +
        (own !== undefined && free !== undefined && head ? ` ${m.code(slow)} p50 ${fmt(own)} ms against ${fmt(free)} ms in ${t(head.stage)}, the same call with no pool to wait for.` : ''),
    });
  }
  if (fig.workers.length > 1) {
    const seq = fig.workers;
    const list = (get: (r: StoryRow) => string) => seq.map(get).join(' → ');
    const mem = (r: StoryRow | undefined) => (r?.memory ? fmt(r.memory.totalMb, 0) : '–');
    const each = seq
      .slice(1)
      .map((r) => `${t(r.stage)}: ${r.servers.length ? r.servers.map((p) => fmt(p.blockedMsPerRequest, 1)).join(' / ') : '–'} ms per request`)
      .join('; ');
    out.push({
      title: 'More workers spread the blocking, they do not remove it.',
      text: `${list((r) => `${t(r.stage)} (${r.workers} worker${r.workers === 1 ? '' : 's'})`)}: throughput ${list((r) => fmt(r.rps))} req/s, yet blocked ms per request ${list((r) => fmt(r.blockedMsPerRequest, 1))} — each worker still blocks (${each}) — and ${m.code(innocent)} p99 ${list((r) => fmt(p99(r)))} ms${head ? ` (${fmt(p99(head))} in ${t(head.stage)})` : ''}. Memory, the RSS of every process in MiB: ${list(mem)}${head ? `; ${t(head.stage)} serves ${fmt(head.rps)} req/s on one process in ${mem(head)} MiB` : ''}.`,
    });
  }
  if (fig.compare && base && head) {
    out.push({
      title: 'The pull request.',
      text: `${t(base.stage)} → ${t(head.stage)} is one route and one load; only the call changed: ${m.code(fig.compare)} writes the PR comment (compare.md) and the diff flamegraph.`,
    });
  }
  return out;
}
