/**
 * The programmatic compare: folders in, files out (compare.md, compare.json, and per run pair diff.folded and
 * diff-flamegraph.html), the result returned. Throws LooplensError; never prints, never exits.
 */
import { mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { writeTextAtomic } from '../../profiles/contract/index.js';
import { renderFlamegraphHtml } from '../../dashboards/flamegraph/render.js';
import { LooplensError } from '../errors.js';
import { compareFolders, scopesOf, type Comparison } from './compare.js';
import { baseOnlyShare, formatDiffFolded, sideAsFolded } from './folded.js';
import { evaluateGate, parseGateSpec, type GateResult } from './gate.js';
import { comparisonToJson } from './json.js';
import { renderMarkdown, type OutputPaths } from './markdown.js';

export interface CompareOptions {
  base: string;
  head: string;
  /** Where to write; default: beside head, `compare-<base>-vs-<head>`. */
  outDir?: string;
  /** `--fail-on` rules, e.g. "p95:+10%,rps:-10%". */
  failOn?: string | readonly string[];
  /** Folder paths are resolved against, and shown relative to. Default process.cwd(). */
  cwd?: string;
}

export interface CompareResult {
  comparison: Comparison;
  gate?: GateResult;
  markdown: string;
  json: string;
  outDir: string;
  files: { markdown: string; json: string } & Required<OutputPaths>;
}

/** File-name-safe stage name for per-stage outputs. */
function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_') || 'stage';
}

export function defaultOutDir(base: string, head: string): string {
  return join(dirname(resolve(head)), `compare-${basename(resolve(base))}-vs-${basename(resolve(head))}`);
}

export function runCompare(options: CompareOptions): CompareResult {
  const cwd = options.cwd ?? process.cwd();
  const base = resolve(cwd, options.base);
  const head = resolve(cwd, options.head);
  // Parse the gate before any work, so a typo fails fast.
  const rules = options.failOn && (typeof options.failOn === 'string' ? options.failOn : options.failOn.join(',')).trim() !== '' ? parseGateSpec(options.failOn) : undefined;
  const comparison = compareFolders(base, head);
  const outDir = options.outDir ? resolve(cwd, options.outDir) : defaultOutDir(base, head);
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (err) {
    throw new LooplensError('USAGE_BAD_VALUE', `cannot create the output folder ${outDir} (${(err as Error).message})`, 'pass a writable --out folder', { cause: err });
  }

  const outputs: Required<OutputPaths> = { diffFlamegraph: {}, diffFolded: {} };
  for (const { scope, comparison: c } of scopesOf(comparison)) {
    if (!c.stacks) continue;
    const prefix = scope ? `${slug(scope)}.` : '';
    const folded = join(outDir, `${prefix}diff.folded`);
    const html = join(outDir, `${prefix}diff-flamegraph.html`);
    writeTextAtomic(folded, formatDiffFolded(c.stacks));
    const hidden = baseOnlyShare(c.stacks);
    writeTextAtomic(
      html,
      renderFlamegraphHtml({
        folded: sideAsFolded(c.stacks, 'head'),
        base: sideAsFolded(c.stacks, 'base'),
        title: `looplens diff: ${c.base.id} → ${c.head.id}${scope ? ` (stage ${scope})` : ''}`,
        subtitle:
          `head ${c.head.id} vs base ${c.base.id}: widths from the shape chosen, colour the change of share of samples` +
          (hidden >= 0.0005 ? `; ${(hidden * 100).toFixed(1)}% of base samples are in stacks head never ran (the base shape draws them)` : ''),
        msPerSample: c.stacks.headMsPerSample,
        baseMsPerSample: c.stacks.baseMsPerSample,
      }),
    );
    outputs.diffFolded[scope] = folded;
    outputs.diffFlamegraph[scope] = html;
  }

  const gate = rules
    ? evaluateGate(rules, scopesOf(comparison).map((s) => ({ scope: s.scope, diff: s.comparison.summary, unmeasured: s.comparison.unmeasured })))
    : undefined;
  const markdown = renderMarkdown(comparison, { gate, outputs, cwd });
  const json = comparisonToJson(comparison, gate, outputs);
  const files = { markdown: join(outDir, 'compare.md'), json: join(outDir, 'compare.json'), ...outputs };
  writeTextAtomic(files.markdown, markdown);
  writeTextAtomic(files.json, json);
  return { comparison, gate, markdown, json, outDir, files };
}
