/**
 * The comparison as GitHub-flavoured markdown that fits a PR comment (GitHub's limit is 65,536 characters; we stay
 * under 60,000 by capping tables and saying how many rows were cut).
 *
 * Every number cell reads "base → head ▲/▼ change mark": the arrow is the direction of the value, the mark says what
 * that means — 🟢 better, 🔴 worse, ≈ within the runs' spread (noise). Names that come from the profiled code (frames,
 * routes) are untrusted: they are shown as entity-encoded code, so they can neither break a table nor mention anyone.
 */
import { isAbsolute, relative as relativePath } from 'node:path';
import { formatRelative, relativeInterval, type Change } from './change.js';
import type { Comparison, RunComparison, RunRef, StageComparison } from './compare.js';
import type { FunctionChange } from './folded.js';
import { describeRule, overallChange, type GateCheck, type GateResult } from './gate.js';
import { INFO_METRICS, REQUEST_METRICS, runMetric, type Unit } from './metrics.js';
import type { HotspotDiff } from './blocking-diff.js';
import type { AllocationDiff } from './allocation-diff.js';
import type { FindingDiff } from './findings-diff.js';
import type { RouteDiff } from './summary-diff.js';

export const MARKDOWN_LIMIT = 60_000;

/** Paths of what compare wrote next to the markdown, per scope ("" for a pair of runs, else the stage name). */
export interface OutputPaths {
  diffFlamegraph?: Record<string, string>;
  diffFolded?: Record<string, string>;
}

export interface MarkdownOptions {
  gate?: GateResult;
  outputs?: OutputPaths;
  /** Paths are shown relative to this folder (default: the current directory). */
  cwd?: string;
  /** Default MARKDOWN_LIMIT. */
  limit?: number;
}

interface Caps {
  routes: number;
  functions: number;
  hotspots: number;
  findings: number;
}

const FULL: Caps = { routes: 25, functions: 10, hotspots: 12, findings: 10 };

// ── formatting ──────────────────────────────────────────────────────────────────────────────────────────────────

/** Untrusted text as inline code that cannot break a table, a code span or notify anyone. */
export function code(text: string, max = 90): string {
  const t = text.length > max ? text.slice(0, max - 1) + '…' : text;
  const enc = t.replace(/[&<>"'`|*_\[\]\\~@#:$]/g, (c) => `&#${c.charCodeAt(0)};`).replace(/[\r\n\t]/g, ' ');
  return `<code>${enc}</code>`;
}

/** Untrusted text shown as text (titles): entity-encoded like code(), without the code font. */
export function plain(text: string, max = 160): string {
  return code(text, max).slice('<code>'.length, -'</code>'.length);
}

export function formatNumber(v: number, unit: Unit): string {
  if (unit === 'ratio') return `${(v * 100).toFixed(v !== 0 && Math.abs(v) < 0.001 ? 3 : 1)}%`;
  const a = Math.abs(v);
  let s: string;
  if (a === 0) s = '0';
  else if (a >= 100) s = Math.round(v).toLocaleString('en-US');
  else if (a >= 10) s = v.toFixed(1);
  else if (a >= 1) s = v.toFixed(2);
  else s = String(Number(v.toPrecision(2)));
  return s;
}

const ARROW = { up: '▲', down: '▼', flat: '=' } as const;
const MARK = { better: '🟢', worse: '🔴', noise: '≈', same: '' } as const;

/** "▲ +12% 🔴", "▼ −34% 🟢", "▲ +3% ≈", "= ±0%". */
export function changeBadge(c: Change): string {
  const rel = formatRelative(c);
  return [ARROW[c.direction], rel, MARK[c.verdict]].filter(Boolean).join(' ');
}

/** The test's interval of the change, "[+80…+130%]" (relative to base), or '' without a test. */
export function intervalBadge(c: Change, unit: Unit): string {
  if (!c.test) return '';
  const rel = relativeInterval(c);
  const pct = (x: number) => {
    const v = x * 100;
    const t = Math.abs(v).toFixed(Math.abs(v) >= 10 ? 0 : 1);
    return Number(t) === 0 ? '0' : `${v > 0 ? '+' : '−'}${t}`;
  };
  if (rel) return `[${pct(rel[0])}…${pct(rel[1])}%]`;
  const [lo, hi] = c.test.interval;
  return `[${formatNumber(lo, unit)}…${formatNumber(hi, unit)}${unit === 'ms' ? ' ms' : ''}]`;
}

export function changeCell(c: Change, unit: Unit): string {
  if (c.direction === 'flat') return `${formatNumber(c.head, unit)} =`;
  const interval = c.verdict === 'same' ? '' : intervalBadge(c, unit);
  return `${formatNumber(c.base, unit)} → ${formatNumber(c.head, unit)} ${changeBadge(c)}${interval ? ` ${interval}` : ''}`;
}

function pp(share: number): string {
  return `${(share * 100).toFixed(share !== 0 && Math.abs(share) < 0.001 ? 2 : 1)}%`;
}

function ppDelta(delta: number): string {
  const v = delta * 100;
  return `${v > 0 ? '+' : '−'}${Math.abs(v).toFixed(Math.abs(v) < 0.1 ? 2 : 1)} pp`;
}

function table(header: string[], align: ('l' | 'r')[], rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `| ${align.map((a) => (a === 'r' ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

function cut(shown: number, total: number, what: string): string[] {
  // The blank line ends the table: GFM would read a following non-blank line as one more row.
  return total > shown ? ['', `<sub>${total - shown} more ${what} not shown (see compare.json).</sub>`] : [];
}

function describeRun(ref: RunRef): string {
  const bits = [ref.stage ? `stage ${code(ref.stage)}` : '', ref.gitSha ? `commit ${code(ref.gitSha.slice(0, 10))}` : '', ref.runs && ref.runs > 1 ? `median of ${ref.runs} runs` : '']
    .filter(Boolean)
    .join(', ');
  return `${code(ref.id)}${bits ? ` (${bits})` : ''}`;
}

// ── sections ────────────────────────────────────────────────────────────────────────────────────────────────────

function gateSection(gate: GateResult | undefined): string[] {
  if (!gate) return [];
  const crossed = gate.checks.filter((c) => c.crossed);
  const rules = gate.rules.map((r) => `\`${r.text}\``).join(', ');
  const where = (c: { scope: string }) => (c.scope ? ` in stage ${code(c.scope)}` : '');
  const describe = (c: GateCheck) =>
    `${describeRule(c.rule)}${where(c)}: ${c.change ? changeCell(c.change, c.rule.metric.unit) : 'not measured'}`;
  const routes = (c: GateCheck) =>
    c.routes.length
      ? ` — route${c.routes.length === 1 ? '' : 's'}: ${c.routes
          .slice(0, 5)
          .map((r) => `${code(r.route, 60)} ${changeCell(r.change, c.rule.metric.unit)}`)
          .join('; ')}${c.routes.length > 5 ? `; ${c.routes.length - 5} more` : ''}`
      : '';
  const empty = gate.unmeasured.map((u) => `> - ❌ the ${u.side} run${where(u)} measured nothing: ${plain(u.message, 300)} [${u.code}]`);
  if (crossed.length > 0 || empty.length > 0) {
    return [`> [!CAUTION]`, `> **Gate failed** (${rules}) — ${crossed.length ? 'crossed:' : 'a run is not a measurement:'}`, ...empty, ...crossed.map((c) => `> - ❌ ${describe(c)}${routes(c)}`), ''];
  }
  const noisy = gate.checks.filter((c) => c.exceeded && !c.crossed);
  const tested = gate.checks.filter((c) => c.change?.test && !c.exceeded);
  const unmeasured = gate.checks.filter((c) => !c.change);
  const anyTest = gate.checks.some((c) => c.change?.test);
  return [
    `> [!NOTE]`,
    `> **Gate passed** — ${anyTest ? 'no significant regression past a limit' : 'no rule crossed (single runs: thresholds alone)'} (${rules}).`,
    ...noisy.map((c) => `> - ≈ ${describe(c)} — past the limit but ${c.change?.test ? 'not significant (no significant change)' : "within the runs' spread (noise)"}, so not failing`),
    ...tested.map((c) => {
      const v = c.change!.verdict;
      return `> - ${describe(c)} — ${v === 'noise' ? 'no significant change' : v === 'same' ? 'no change' : `within the limit (significant, ${v})`}`;
    }),
    ...unmeasured.map((c) => `> - ${c.rule.metric.label}${where(c)} was not measured in both runs`),
    '',
  ];
}

/** Every change a comparison shows: overall, per route and run-level, of every stage. */
function allChanges(c: Comparison): Change[] {
  const runs = c.kind === 'runs' ? [c] : c.stages.map((s) => s.comparison);
  return runs.flatMap((r) => [
    ...Object.values(r.summary.overall.metrics),
    ...r.summary.routes.flatMap((x) => Object.values(x.metrics)),
    ...r.summary.run.map((x) => x.change),
  ]);
}

/** What "≈ noise" means in this comparison: the test, the ranges' overlap, or nothing (single runs). */
export function noiseSection(c: Comparison): string[] {
  const changes = allChanges(c);
  const tested = changes.filter((x) => x.test);
  const runs = (r: { runs?: number }) => r.runs ?? 1;
  const sides = `base ${runs(c.base)} run${runs(c.base) === 1 ? '' : 's'}, head ${runs(c.head)}`;
  if (tested.length > 0) {
    const level = Math.round(Math.min(...tested.map((x) => x.test!.level)) * 100);
    const significant = tested.filter((x) => x.verdict === 'better' || x.verdict === 'worse').length;
    return [
      `**Noise** (${sides}): every change is tested on the runs' values with a one-sided Mann–Whitney U test at 95 % confidence in each direction; ≈ marks a change the test does not call significant, and [lo…hi%] is the change's ${level} % interval (Hodges–Lehmann, relative to base). ` +
        (significant === 0
          ? 'No significant change.'
          : `${significant} of ${tested.length} changes tested are significant (by chance alone about 1 in 20 per direction would be).`),
      '',
    ];
  }
  if (changes.some((x) => x.baseSpread || x.headSpread)) {
    return [
      `**Noise** (${sides}): too few runs, or no per-run values, for a statistical test (it needs 3 runs on each side); ≈ marks a change inside the runs' [min, max] ranges — their overlap, not a test.`,
      '',
    ];
  }
  return [
    `**Noise**: single runs — looplens cannot separate a change from run-to-run noise, so changes are judged by their size alone and \`--fail-on\` by its thresholds alone. Run both sides with \`--runs 3\` (or more) for a statistical test.`,
    '',
  ];
}

/** How the two sides differ besides the code, and sides whose load measured nothing (every stage, deduplicated). */
export function pairWarnings(c: Comparison): string[] {
  const runs = c.kind === 'runs' ? [{ scope: '', r: c }] : c.stages.map((s) => ({ scope: s.stage, r: s.comparison }));
  const out: string[] = [...(c.kind === 'labs' ? c.warnings : [])];
  const count = new Map<string, string[]>();
  for (const { scope, r } of runs) for (const w of r.warnings) count.set(w, [...(count.get(w) ?? []), scope]);
  for (const [w, scopes] of count) out.push(scopes.length === runs.length || scopes.every((s) => s === '') ? w : `${w} (stage ${scopes.join(', ')})`);
  for (const { scope, r } of runs) for (const u of r.unmeasured) out.push(`the ${u.side} run${scope ? ` of stage ${scope}` : ''} measured nothing (${u.code}): ${u.message}`);
  return [...new Set(out)];
}

function warningsSection(c: Comparison): string[] {
  const w = pairWarnings(c);
  if (w.length === 0) return [];
  return [`> [!WARNING]`, `> **The two sides differ in more than the code** — what changed is not (only) the change under review:`, ...w.map((x) => `> - ${plain(x, 300)}`), ''];
}

/**
 * The few changes a reviewer should read first, a fixed number per kind so no kind crowds out another: the three
 * largest moves of the overall metrics, the function that moved most by self time and the app function that moved
 * most by total time, up to two blocking hotspots that appeared or vanished, the largest finding resolved and new.
 */
function highlights(c: RunComparison): string[] {
  const lines: string[] = [];
  const overall = [
    ...REQUEST_METRICS.filter((m) => ['p95', 'p99', 'rps', 'errors'].includes(m.name)).map((m) => ({ label: m.label, unit: m.unit, change: c.summary.overall.metrics[m.name] })),
    ...c.summary.run
      .filter((r) => !INFO_METRICS.some((m) => m.name === r.name))
      .map((r) => ({ label: r.label, unit: runMetric(r.name)!.unit, change: r.change })),
  ]
    .filter((x) => x.change && x.change.verdict !== 'same' && x.change.verdict !== 'noise')
    .sort((a, b) => Math.min(10, Math.abs(b.change.relative)) - Math.min(10, Math.abs(a.change.relative)));
  for (const { label, unit, change } of overall.slice(0, 3)) lines.push(`${label}: ${changeCell(change, unit)} — ${change.verdict}`);

  const f = c.functions;
  const self = [f?.shrank[0], f?.grew[0]].filter((x): x is FunctionChange => !!x).sort((a, b) => Math.abs(b.deltaSelf) - Math.abs(a.deltaSelf))[0];
  if (self) lines.push(functionLine(self, self.deltaSelf < 0 ? 'shrank' : 'grew'));
  const app = f?.appTotal.find((x) => x.function !== self?.function);
  if (app) {
    const how = app.deltaTotal < 0 ? 'shrank' : 'grew';
    lines.push(`Total time of ${code(app.function, 70)} (with its callees) ${how}: ${pp(app.baseTotal)} → ${pp(app.headTotal)} of samples (${ppDelta(app.deltaTotal)}) ${how === 'shrank' ? '🟢' : '🔴'}`);
  }

  const hot = (c.hotspots ?? []).filter((h) => h.status === 'new' || h.status === 'gone').slice(0, 2);
  for (const h of hot) {
    const ms = Math.max(h.base.msPerRequest, h.head.msPerRequest);
    const appeared = h.status === 'new';
    lines.push(
      `Blocking hotspot ${code(h.topFrame, 60)} on ${h.route ? code(h.route) : 'no request'} ${appeared ? 'appeared' : 'vanished'} (${formatNumber(ms, 'ms')} ms per request ${appeared ? 'in head' : 'in base'}) ${appeared ? '🔴' : '🟢'}`,
    );
  }
  const findings = c.findings ?? [];
  for (const d of [findings.find((x) => x.status === 'resolved'), findings.find((x) => x.status === 'new')].filter((x) => x !== undefined)) {
    lines.push(`Diagnosis ${d.status === 'new' ? 'found' : 'no longer finds'}: ${plain(d.title, 120)} ${d.status === 'new' ? '🔴' : '🟢'}`);
  }
  return lines.map((l) => `- ${l}`);
}

function functionLine(f: FunctionChange, how: 'grew' | 'shrank'): string {
  return `Self time of ${code(f.function, 70)} ${how}: ${pp(f.baseSelf)} → ${pp(f.headSelf)} of samples (${ppDelta(f.deltaSelf)}) ${how === 'shrank' ? '🟢' : '🔴'}`;
}

function routesSection(c: RunComparison, caps: Caps): string[] {
  const cols = ['p50', 'p95', 'p99', 'rps', 'errors'];
  const unit = (name: string) => REQUEST_METRICS.find((m) => m.name === name)!.unit;
  const row = (r: RouteDiff, label: string): string[] => {
    if (r.presence !== 'both') {
      const n = r.presence === 'new' ? r.headRequests : r.baseRequests;
      const note = `only in ${r.presence === 'new' ? 'head' : 'base'} (${n} request${n === 1 ? '' : 's'})`;
      return [label, note, ...cols.slice(1).map(() => '')];
    }
    return [label, ...cols.map((name) => changeCell(r.metrics[name], unit(name)))];
  };
  const rows = [row(c.summary.overall, '**overall**'), ...c.summary.routes.slice(0, caps.routes).map((r) => row(r, code(r.route, 60)))];
  return [
    '#### Requests',
    '',
    ...table(['route', 'p50 ms', 'p95 ms', 'p99 ms', 'req/s', 'errors'], ['l', 'r', 'r', 'r', 'r', 'r'], rows),
    ...cut(Math.min(caps.routes, c.summary.routes.length), c.summary.routes.length, 'routes'),
    '',
  ];
}

function eventLoopSection(c: RunComparison): string[] {
  if (c.summary.run.length === 0) return [];
  const rows = c.summary.run.map((r) => {
    const unit = runMetric(r.name)!.unit;
    const u = unit === 'ms' ? ' ms' : '';
    return [r.label, formatNumber(r.change.base, unit) + u, formatNumber(r.change.head, unit) + u, changeBadge(r.change)];
  });
  return ['#### Event loop and blocking', '', ...table(['metric', 'base', 'head', 'change'], ['l', 'r', 'r', 'l'], rows), ''];
}

function functionsSection(c: RunComparison, caps: Caps): string[] {
  const f = c.functions;
  if (!f) return [];
  const rows = (list: FunctionChange[], mark: string) =>
    list.slice(0, caps.functions).map((x) => [code(x.function), pp(x.baseSelf), pp(x.headSelf), `${ppDelta(x.deltaSelf)} ${mark}`, `${pp(x.baseTotal)} → ${pp(x.headTotal)}`]);
  const header = ['function', 'base self', 'head self', 'change', 'total (incl. callees)'];
  const align: ('l' | 'r')[] = ['l', 'r', 'r', 'r', 'r'];
  const lines = [
    '#### Functions: self time',
    '',
    `Share of all of each run's samples (base ${f.baseSamples.toLocaleString('en-US')}, head ${f.headSamples.toLocaleString('en-US')}${f.baseIdle + f.headIdle > 0 ? `; idle ${pp(f.baseIdle)} → ${pp(f.headIdle)}` : ''}), so runs of different length compare. Changes under 0.1 pp or within sampling noise (3 standard errors) are left out.`,
    '',
  ];
  if (f.grew.length === 0 && f.shrank.length === 0 && f.appTotal.length === 0) return [...lines, 'No function moved beyond those limits.', ''];
  if (f.grew.length > 0) {
    lines.push('**Grew** (head spends more):', '', ...table(header, align, rows(f.grew, '🔴')), ...cut(Math.min(caps.functions, f.grew.length), f.grew.length, 'functions that grew'), '');
  }
  if (f.shrank.length > 0) {
    lines.push('**Shrank** (head spends less):', '', ...table(header, align, rows(f.shrank, '🟢')), ...cut(Math.min(caps.functions, f.shrank.length), f.shrank.length, 'functions that shrank'), '');
  }
  if (f.appTotal.length > 0) {
    const appRows = f.appTotal
      .slice(0, caps.functions)
      .map((x) => [code(x.function), pp(x.baseTotal), pp(x.headTotal), `${ppDelta(x.deltaTotal)} ${x.deltaTotal > 0 ? '🔴' : '🟢'}`]);
    lines.push(
      '**App code, total time** (the app\'s own functions with everything they called — the caller of a blocking leaf):',
      '',
      ...table(['function', 'base total', 'head total', 'change'], ['l', 'r', 'r', 'r'], appRows),
      ...cut(Math.min(caps.functions, f.appTotal.length), f.appTotal.length, 'app functions'),
      '',
    );
  }
  return lines;
}

const HOTSPOT_WORD = { new: 'appeared 🔴', gone: 'vanished 🟢', grew: 'grew 🔴', shrank: 'shrank 🟢', same: 'same' } as const;

function hotspotsSection(c: RunComparison, caps: Caps): string[] {
  const list = c.hotspots;
  if (!list) return [];
  if (list.length === 0) return ['#### Blocking hotspots', '', 'No blocking events in either run.', ''];
  const side = (s: HotspotDiff['base']) => (s.count === 0 ? '—' : `${formatNumber(s.msPerRequest, 'ms')} (${s.count}×)`);
  const rows = list
    .slice(0, caps.hotspots)
    .map((h) => [h.route ? code(h.route, 50) : '_no request_', code(h.topFrame, 70), side(h.base), side(h.head), HOTSPOT_WORD[h.status]]);
  return [
    '#### Blocking hotspots',
    '',
    'Blocked ms per request of the route (number of blocks), by route and innermost app frame.',
    '',
    ...table(['route', 'top frame', 'base ms/req', 'head ms/req', 'change'], ['l', 'l', 'r', 'r', 'l'], rows),
    ...cut(Math.min(caps.hotspots, list.length), list.length, 'hotspots'),
    '',
  ];
}

const FINDING_WORD = { new: 'new 🔴', resolved: 'resolved 🟢', still: 'still there' } as const;

function findingsSection(c: RunComparison, caps: Caps): string[] {
  const list = c.findings;
  if (!list || list.length === 0) return [];
  const ms = (v: number | undefined) => (v === undefined ? '—' : formatNumber(v, 'ms'));
  const rows = list
    .slice(0, caps.findings)
    .map((d) => [FINDING_WORD[d.status], plain(d.title, 140), d.route ? code(d.route, 50) : '—', ms(d.baseSavingMs), ms(d.headSavingMs)]);
  return [
    '#### Diagnosis',
    '',
    'What `looplens diagnose` recognised in each run (findings.json), matched by finding; saving = estimated ms per request a fix would save.',
    '',
    ...table(['', 'finding', 'route', 'base saving', 'head saving'], ['l', 'l', 'l', 'r', 'r'], rows),
    ...cut(Math.min(caps.findings, list.length), list.length, 'findings'),
    '',
  ];
}

function filesSection(c: RunComparison, scope: string, opts: MarkdownOptions): string[] {
  const rel = (p: string) => {
    const r = relativePath(opts.cwd ?? process.cwd(), p);
    return code(r === '' ? '.' : r.startsWith('..') || isAbsolute(r) ? p : r, 200);
  };
  const lines: string[] = [];
  if (c.base.flamegraph) lines.push(`- base flamegraph: ${rel(c.base.flamegraph)}`);
  if (c.head.flamegraph) lines.push(`- head flamegraph: ${rel(c.head.flamegraph)}`);
  const diff = opts.outputs?.diffFlamegraph?.[scope];
  if (diff) lines.push(`- diff flamegraph: ${rel(diff)} — head-shaped or base-shaped (toggle); red: head spends more, blue: less or none`);
  const folded = opts.outputs?.diffFolded?.[scope];
  if (folded) lines.push(`- folded diff (difffolded format, for flamegraph.pl and other tools): ${rel(folded)}`);
  return lines.length ? ['#### Flamegraphs', '', ...lines, ''] : [];
}

const ALLOCATION_WORD: Record<AllocationDiff['status'], string> = { new: 'new 🔴', gone: 'gone 🟢', grew: 'grew 🔴', shrank: 'shrank 🟢', same: 'same' };

function allocationsSection(c: RunComparison, caps: Caps): string[] {
  const list = c.allocations;
  if (!list) return [];
  if (list.length === 0) return ['#### Allocations', '', 'No allocation sampled in either run.', ''];
  const kb = (s: AllocationDiff['base']) => (s.kbPerRequest === 0 ? '—' : formatNumber(s.kbPerRequest, 'count'));
  const kept = (s: AllocationDiff['base']) => (s.keptMbPer1k === 0 ? '—' : formatNumber(s.keptMbPer1k, 'count'));
  const rows = list
    .slice(0, caps.hotspots)
    .map((d) => [code(d.site, 70), d.route ? code(d.route, 50) : '—', kb(d.base), kb(d.head), kept(d.base), kept(d.head), ALLOCATION_WORD[d.status]]);
  return [
    '#### Allocations',
    '',
    "By allocation site (heap.heapprofile): KiB allocated per request, and MiB still live at the end per 1,000 requests (what the heap kept), looplens' own measuring left out; largest change first.",
    '',
    ...table(['site', 'route', 'base KiB/req', 'head KiB/req', 'base kept MiB/1k', 'head kept MiB/1k', 'change'], ['l', 'l', 'r', 'r', 'r', 'r', 'l'], rows),
    ...cut(Math.min(caps.hotspots, list.length), list.length, 'sites'),
    '',
  ];
}

function runBody(c: RunComparison, scope: string, opts: MarkdownOptions, caps: Caps): string[] {
  const hl = highlights(c);
  return [
    ...(hl.length ? ['#### Highlights', '', ...hl, ''] : ['Nothing moved beyond 1% or the noise.', '']),
    ...routesSection(c, caps),
    ...eventLoopSection(c),
    ...functionsSection(c, caps),
    ...hotspotsSection(c, caps),
    ...allocationsSection(c, caps),
    ...findingsSection(c, caps),
    ...filesSection(c, scope, opts),
    ...c.notes.map((n) => `> ${plain(n, 400)}`),
    ...(c.notes.length ? [''] : []),
  ];
}

function labTable(stages: StageComparison[]): string[] {
  const cols: { name: string; head: string }[] = [
    { name: 'p95', head: 'p95 ms' },
    { name: 'rps', head: 'req/s' },
    { name: 'blocked', head: 'blocked ms/req' },
    { name: 'delay', head: 'loop delay p99 ms' },
    { name: 'errors', head: 'errors' },
  ];
  const unit = (name: string) => (REQUEST_METRICS.find((m) => m.name === name) ?? runMetric(name))!.unit;
  const rows = stages.map((s) => [
    code(s.stage),
    ...cols.map((col) => {
      const ch = overallChange(s.comparison.summary, col.name);
      return ch ? changeCell(ch, unit(col.name)) : '—';
    }),
  ]);
  return table(['stage', ...cols.map((c) => c.head)], ['l', 'r', 'r', 'r', 'r', 'r'], rows);
}

const LEGEND =
  "<sub>▲/▼ direction of the value · 🟢 better · 🔴 worse · ≈ noise: not significant (Mann–Whitney U, 95 %) or, without enough runs, within the runs' ranges · [lo…hi%] the change's interval · pp = percentage points of CPU samples · generated by <code>looplens compare</code></sub>";

function render(c: Comparison, opts: MarkdownOptions, caps: Caps): string {
  const lines: string[] = ['## looplens compare', ''];
  if (c.kind === 'runs') {
    lines.push(`**base** ${describeRun(c.base)} → **head** ${describeRun(c.head)}`, '');
    lines.push(...gateSection(opts.gate), ...warningsSection(c), ...noiseSection(c));
    lines.push(...runBody(c, '', opts, caps));
  } else {
    const runs = (r: { runs?: number }) => (r.runs && r.runs > 1 ? ` (median of ${r.runs} runs)` : '');
    lines.push(`**base** lab ${code(c.base.id)}${runs(c.base)} → **head** lab ${code(c.head.id)}${runs(c.head)}, compared stage by stage`, '');
    lines.push(...gateSection(opts.gate), ...warningsSection(c), ...noiseSection(c));
    lines.push('#### Stages', '', ...labTable(c.stages), '');
    if (c.onlyBase.length) lines.push(`Only in base: ${c.onlyBase.map((s) => code(s)).join(', ')}.`, '');
    if (c.onlyHead.length) lines.push(`Only in head: ${c.onlyHead.map((s) => code(s)).join(', ')}.`, '');
    for (const n of c.notes) lines.push(`> ${plain(n, 400)}`, '');
    for (const s of c.stages) {
      lines.push(`<details><summary>Stage <b>${code(s.stage)}</b>: ${describeRun(s.comparison.base)} → ${describeRun(s.comparison.head)}</summary>`, '');
      lines.push(...runBody(s.comparison, s.stage, opts, caps));
      lines.push('</details>', '');
    }
  }
  lines.push(LEGEND, '');
  return lines.join('\n');
}

/** Renders the comparison, shrinking tables until it fits the limit (and, as a last resort, cutting the text). */
export function renderMarkdown(c: Comparison, opts: MarkdownOptions = {}): string {
  const limit = opts.limit ?? MARKDOWN_LIMIT;
  let caps = { ...FULL };
  for (let i = 0; i < 6; i++) {
    const md = render(c, opts, caps);
    if (md.length <= limit) return md;
    caps = {
      routes: Math.max(3, Math.floor(caps.routes / 2)),
      functions: Math.max(2, Math.floor(caps.functions / 2)),
      hotspots: Math.max(2, Math.floor(caps.hotspots / 2)),
      findings: Math.max(2, Math.floor(caps.findings / 2)),
    };
  }
  const md = render(c, opts, caps);
  const tail = '\n\n_…cut to fit a PR comment; compare.json has everything._\n';
  const head = md.slice(0, limit - tail.length);
  return head.slice(0, Math.max(0, head.lastIndexOf('\n'))) + tail;
}
