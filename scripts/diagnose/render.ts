/**
 * Findings as Markdown: the top-N table summary.md, lab.md, the HTML report and compare embed, the full report of
 * `looplens diagnose --format md`, and the stage × finding matrix of a lab.
 */
import type { Finding } from '../../profiles/contract/index.js';
import { RULES } from './rules/index.js';

export const KIND_LABELS: Record<Finding['kind'], string> = {
  'blocking-call': 'Blocking call',
  'n-plus-one': 'N+1 queries',
  'serial-external-calls': 'Serial external calls',
  'unawaited-work-on-critical-path': 'Work the client need not wait for',
  'connection-per-request': 'Connection per request',
  'cacheable-reads': 'Cacheable repeated reads',
  'pool-starvation': 'Pool starvation',
  'serial-independent-queries': 'Serial independent queries',
  'cpu-hotspot': 'CPU hotspot',
  'memory-growth': 'Memory growth',
  'gc-pressure': 'GC pressure',
};

export interface RenderOptions {
  /** Show at most this many findings (the rest are counted). Default 5. */
  max?: number;
  /** Heading line (e.g. "## Findings"); false for none. Default "## Findings". */
  heading?: string | false;
  /** Makes the example trace a link (e.g. to the HTML report's trace view). */
  traceHref?: (traceId: string) => string;
  /** Where the full list lives, mentioned when findings were cut ("findings.json"). */
  moreIn?: string;
}

/**
 * Untrusted text (routes, function names, statements come from the app) as Markdown text: `<`, `>`, `|` and backticks
 * entity-encoded so it cannot open HTML (GitHub renders inline HTML), a table cell or a code span; one line.
 */
function md(s: string): string {
  return s.replace(/[<>|`]/g, (c) => `&#${c.charCodeAt(0)};`).replace(/[\r\n]+/g, ' ');
}

/** Escapes a table cell. */
function cell(s: string): string {
  return md(s);
}

/** A fix: looplens' own text, whose `code` spans stay code (only what would open HTML or a cell is escaped). */
function fixCell(s: string): string {
  return s.replace(/[<>|]/g, (c) => `&#${c.charCodeAt(0)};`).replace(/[\r\n]+/g, ' ');
}

function ms(n: number): string {
  return n >= 100 ? String(Math.round(n)) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** The top findings as one table: finding, route, estimated saving, fix. */
export function renderFindingsMarkdown(findings: readonly Finding[], options: RenderOptions = {}): string {
  const max = options.max ?? 5;
  const lines: string[] = [];
  if (options.heading !== false) lines.push(options.heading ?? '## Findings', '');
  if (findings.length === 0) {
    lines.push(`No findings: none of the ${RULES.length} rules (${RULES.map((r) => KIND_LABELS[r.kind].toLowerCase()).join(', ')}) fired.`);
    return lines.join('\n') + '\n';
  }
  lines.push('| # | finding | route | saves ms/req | fix |', '| --- | --- | --- | --- | --- |');
  findings.slice(0, max).forEach((f, i) => {
    const trace = f.traceId ? (options.traceHref ? ` ([trace](${options.traceHref(f.traceId)}))` : ` (trace \`${f.traceId.slice(0, 16)}\`)`) : '';
    lines.push(`| ${i + 1} | **${KIND_LABELS[f.kind]}**: ${cell(f.title)}${trace} | ${cell(f.route ?? '–')} | ${ms(f.savingMsPerRequest)} | ${fixCell(f.fix)} |`);
  });
  if (findings.length > max) lines.push('', `${findings.length - max} more${options.moreIn ? ` in ${options.moreIn}` : ''}.`);
  return lines.join('\n') + '\n';
}

function evidenceValue(v: unknown): string {
  if (Array.isArray(v)) {
    return v.map((x) => (x !== null && typeof x === 'object' ? Object.values(x as object).join(' · ') : String(x))).join('; ');
  }
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Every finding with its evidence, for `looplens diagnose --format md`. */
export function renderFindingsReport(findings: readonly Finding[], context: { title: string; notes?: string[]; requests?: number }): string {
  const lines = [`# Findings: ${context.title}`, ''];
  if (context.requests !== undefined) lines.push(`${context.requests} traced requests; ${findings.length} finding${findings.length === 1 ? '' : 's'}.`, '');
  lines.push(renderFindingsMarkdown(findings, { max: findings.length, heading: false }).trimEnd());
  findings.forEach((f, i) => {
    lines.push('', `## ${i + 1}. ${KIND_LABELS[f.kind]}${f.route ? ` — ${md(f.route)}` : ''}`, '', md(f.title), '');
    lines.push(`- **estimated saving**: ${ms(f.savingMsPerRequest)} ms per request`);
    lines.push(`- **fix**: ${f.fix}`);
    if (f.traceId) lines.push(`- **example trace**: \`${f.traceId}\``);
    for (const [k, v] of Object.entries(f.evidence)) lines.push(`- ${md(k)}: ${md(evidenceValue(v))}`);
  });
  if (context.notes?.length) lines.push('', '## Notes', '', ...context.notes.map((n) => `- ${md(n)}`));
  return lines.join('\n') + '\n';
}

/** A lab as a matrix: one row per kind of finding, one column per stage, the estimated saving where it fired. */
export function renderLabFindingsMarkdown(stages: readonly { stage: string; findings: readonly Finding[] }[], options: { heading?: string | false; topPerStage?: number } = {}): string {
  const lines: string[] = [];
  if (options.heading !== false) lines.push(options.heading ?? '## Findings by stage', '');
  lines.push('Estimated saving in ms per request of the affected route(s); – where the finding is absent.', '');
  lines.push(`| finding | ${stages.map((s) => cell(s.stage)).join(' | ')} |`, `| --- | ${stages.map(() => '---').join(' | ')} |`);
  for (const rule of RULES) {
    const cells = stages.map((s) => {
      const fs = s.findings.filter((f) => f.kind === rule.kind);
      if (fs.length === 0) return '–';
      return fs.map((f) => `${ms(f.savingMsPerRequest)}${f.route ? ` (${cell(f.route)})` : ''}`).join('<br>');
    });
    lines.push(`| ${KIND_LABELS[rule.kind]} | ${cells.join(' | ')} |`);
  }
  const top = options.topPerStage ?? 0;
  if (top > 0) {
    for (const s of stages) {
      lines.push('', `### ${md(s.stage)}`, '', renderFindingsMarkdown(s.findings, { max: top, heading: false }).trimEnd());
    }
  }
  return lines.join('\n') + '\n';
}

/** Findings of base and head matched by key: fixed (only in base), introduced (only in head), remaining (both). */
export function diffFindings(base: readonly Finding[], head: readonly Finding[]): { fixed: Finding[]; introduced: Finding[]; remaining: { base: Finding; head: Finding }[] } {
  const headByKey = new Map(head.map((f) => [f.key, f]));
  const baseKeys = new Set(base.map((f) => f.key));
  return {
    fixed: base.filter((f) => !headByKey.has(f.key)),
    introduced: head.filter((f) => !baseKeys.has(f.key)),
    remaining: base.filter((f) => headByKey.has(f.key)).map((f) => ({ base: f, head: headByKey.get(f.key)! })),
  };
}
