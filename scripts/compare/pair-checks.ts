/**
 * Two checks on a pair of runs before anyone reads their diff:
 * - unlike runs: the two differ in what was run or how (app command, routes, scenario, load settings, profiler,
 *   Node version, machine) — their difference is then not (only) the change under review, so compare warns;
 * - unmeasured runs: a run that served no successful request, or mostly failures (RUN_EMPTY / RUN_ERRORS, marked in
 *   run.json by `looplens profile`, or seen in an older run's summary) — its numbers mean nothing, and the gate fails.
 */
import { posix } from 'node:path';
import { isRunFolder, readRunInfo, type LabFile, type RunInfo, type Summary } from '../../profiles/contract/index.js';
import { loadProblem } from '../load/check.js';
import { shortenPath } from './folded.js';

export interface Unmeasured {
  side: 'base' | 'head';
  code: string;
  message: string;
}

export interface PairChecks {
  /** One line per difference, e.g. "Node version: v20.20.2 → v24.1.0". */
  warnings: string[];
  unmeasured: Unmeasured[];
}

const UNMEASURED_CODES = new Set(['RUN_EMPTY', 'RUN_ERRORS']);

const NODE = /(^|[\\/])node(js)?(\d+)?(\.exe)?$/;
const ABSOLUTE = /^(?:\/|[A-Za-z]:[\\/]|file:\/\/)/;

/** The app command as shown: node as "node", absolute paths by their last segments. */
export function commandKey(command: readonly string[]): string {
  return command.map((arg, i) => (i === 0 && NODE.test(arg) ? 'node' : ABSOLUTE.test(arg) ? shortenPath(arg) : arg)).join(' ');
}

const baseName = (p: string) => posix.basename(p.replace(/\\/g, '/'));

/**
 * The same app command in two checkouts: argument by argument equal, except that node may live anywhere and an
 * absolute path may sit in another folder (base/ and head/ checkouts) as long as it names the same file.
 */
export function sameCommand(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i];
    if (x === y) return true;
    if (i === 0 && NODE.test(x) && NODE.test(y)) return true;
    return ABSOLUTE.test(x) && ABSOLUTE.test(y) && baseName(x) === baseName(y);
  });
}

function differs(label: string, base: unknown, head: unknown, show: (v: unknown) => string = String): string | null {
  const b = base === undefined ? '–' : show(base);
  const h = head === undefined ? '–' : show(head);
  return b === h ? null : `${label}: ${b} → ${h}`;
}

function loadLines(base: RunInfo['load'], head: RunInfo['load']): string[] {
  const parts = [
    differs('duration s', base.durationS, head.durationS),
    differs('warmup s', base.warmupS, head.warmupS),
    differs('connections', base.connections, head.connections),
    differs('fixed rate req/s', base.rate, head.rate),
    differs('runs', base.runs ?? 1, head.runs ?? 1),
  ].filter((x): x is string => x !== null);
  const lines = parts.length ? [`load settings: ${parts.join(', ')}`] : [];
  const scenario = (l: RunInfo['load']) => (l.paths ? `--path ${l.paths.join(' ')}` : `scenario ${l.scenario ?? '–'}`);
  const s = differs('load', scenario(base), scenario(head));
  if (s) lines.push(s);
  return lines;
}

/** What differs between the two runs' run.json (and their routes), one line per kind of difference. */
export function runMismatches(base: RunInfo, head: RunInfo, baseSummary: Summary, headSummary: Summary): string[] {
  const lines: (string | null)[] = [
    sameCommand(base.command, head.command) ? null : `app command: \`${commandKey(base.command)}\` → \`${commandKey(head.command)}\``,
    differs('profiler', base.profiler, head.profiler),
    differs('workers', base.workers ?? 1, head.workers ?? 1),
    ...loadLines(base.load, head.load),
    differs('Node version', base.node, head.node),
    differs('machine', machineKey(base), machineKey(head)),
  ];
  const routes = routeDifference(baseSummary, headSummary);
  if (routes) lines.push(routes);
  return lines.filter((x): x is string => x !== null);
}

function machineKey(i: RunInfo): string {
  return `${i.platform}, ${i.cpu.cores} × ${i.cpu.model}${i.memoryGiB !== undefined ? `, ${Math.round(i.memoryGiB)} GiB` : ''}`;
}

/** The routes the load sent, when they differ: "routes: only base GET /a; only head GET /b". */
function routeDifference(base: Summary, head: Summary): string | null {
  const b = new Set(Object.keys(base.routes));
  const h = new Set(Object.keys(head.routes));
  const onlyBase = [...b].filter((r) => !h.has(r)).sort();
  const onlyHead = [...h].filter((r) => !b.has(r)).sort();
  if (!onlyBase.length && !onlyHead.length) return null;
  const list = (xs: string[]) => (xs.length > 5 ? `${xs.slice(0, 5).join(', ')} and ${xs.length - 5} more` : xs.join(', '));
  return `routes: ${[onlyBase.length ? `only base ${list(onlyBase)}` : '', onlyHead.length ? `only head ${list(onlyHead)}` : ''].filter(Boolean).join('; ')}`;
}

/** Lab-level settings that differ (the scale of the seeded data, the stages' shared load, the profiler). */
export function labMismatches(base: LabFile, head: LabFile): string[] {
  return [
    differs('seeded users (--scale)', base.settings.scale, head.settings.scale),
    differs('profiler', base.settings.profiler, head.settings.profiler),
    ...loadLines(base.settings.load, head.settings.load),
  ].filter((x): x is string => x !== null);
}

/** RUN_EMPTY / RUN_ERRORS from run.json, else from the summary (runs written before looplens checked). */
export function unmeasured(side: 'base' | 'head', info: RunInfo | undefined, summary: Summary): Unmeasured | null {
  if (info?.reasonCode && UNMEASURED_CODES.has(info.reasonCode)) return { side, code: info.reasonCode, message: info.reason ?? info.reasonCode };
  const p = loadProblem(summary.overall);
  return p ? { side, code: p.code, message: p.message } : null;
}

/** Both checks for two run folders (whose summaries the caller read). */
export function checkPair(baseDir: string, headDir: string, baseSummary: Summary, headSummary: Summary): PairChecks {
  const info = (dir: string) => (isRunFolder(dir) ? readRunInfo(dir) : undefined);
  const b = info(baseDir);
  const h = info(headDir);
  const warnings = b && h ? runMismatches(b, h, baseSummary, headSummary) : [];
  const found = [unmeasured('base', b, baseSummary), unmeasured('head', h, headSummary)].filter((x): x is Unmeasured => x !== null);
  return { warnings, unmeasured: found };
}
