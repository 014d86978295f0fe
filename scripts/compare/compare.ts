/**
 * Two run folders (or two lab folders, stage by stage) → one Comparison. Reads only through profiles/contract.
 */
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import {
  RUN_FILES,
  hasFile,
  isLabFolder,
  isRunFolder,
  readCpuProfile,
  readFindings,
  readFolded,
  readLab,
  readRunInfo,
  readSummary,
  type LabFile,
  type Summary,
} from '../../profiles/contract/index.js';
import { LooplensError } from '../errors.js';
import { loadEvidence } from '../analysis/evidence.js';
import { diffBlocking, type HotspotDiff } from './blocking-diff.js';
import { diffAllocations, type AllocationDiff } from './allocation-diff.js';
import { diffFindings, type FindingDiff } from './findings-diff.js';
import { diffFunctions, diffStacks, idleSamples, parseFolded, withIdle, type FoldedProfile, type FunctionDiff, type StackDiff } from './folded.js';
import { diffSummaries, type SummaryDiff } from './summary-diff.js';
import { msPerSampleOf } from '../../dashboards/flamegraph/model.js';
import { checkPair, labMismatches, type Unmeasured } from './pair-checks.js';

export interface RunRef {
  /** The folder as given (or as found inside a lab folder). */
  dir: string;
  id: string;
  stage?: string;
  gitSha?: string;
  /** Repetitions the summary aggregates (--runs). */
  runs?: number;
  complete?: boolean;
  /** The run's flamegraph, when it has one. */
  flamegraph?: string;
}

export interface RunComparison {
  base: RunRef;
  head: RunRef;
  summary: SummaryDiff;
  /** null when either run has no stacks.folded. */
  functions: FunctionDiff | null;
  stacks: StackDiff | null;
  /** null when either run has no blocking.json. */
  hotspots: HotspotDiff[] | null;
  /** By allocation site (./allocation-diff.ts); absent when either run has no heap.heapprofile. */
  allocations?: AllocationDiff[];
  /** null when either run has no findings.json (written by `looplens profile` and `looplens diagnose --write`). */
  findings: FindingDiff[] | null;
  /** Things a reader should know (incomplete runs, missing files), as plain text (they may quote folder names). */
  notes: string[];
  /** How the two runs differ besides the code (app command, routes, load, Node, machine): ./pair-checks.ts. */
  warnings: string[];
  /** A side whose load measured nothing (RUN_EMPTY, RUN_ERRORS): the gate fails on it. */
  unmeasured: Unmeasured[];
}

export interface LabRef {
  dir: string;
  id: string;
  complete: boolean;
  runs?: number;
}

export interface StageComparison {
  stage: string;
  comparison: RunComparison;
}

export type Comparison =
  | ({ kind: 'runs' } & RunComparison)
  | {
      kind: 'labs';
      base: LabRef;
      head: LabRef;
      stages: StageComparison[];
      /** Stages only one lab ran. */
      onlyBase: string[];
      onlyHead: string[];
      notes: string[];
      /** Lab settings that differ (scale, profiler, load); each stage's own differences are in its comparison. */
      warnings: string[];
    };

function runRef(dir: string): RunRef {
  const ref: RunRef = { dir, id: basename(resolve(dir)) };
  if (!isRunFolder(dir)) return ref;
  const info = readRunInfo(dir);
  ref.id = info.id;
  if (info.stage) ref.stage = info.stage;
  if (info.gitSha) ref.gitSha = info.gitSha;
  if (info.load.runs) ref.runs = info.load.runs;
  ref.complete = info.complete;
  if (hasFile(dir, 'flamegraph')) ref.flamegraph = join(dir, RUN_FILES.flamegraph);
  else {
    const own = info.profilerOutputs?.find((p) => p.endsWith('flamegraph.html') && existsSync(join(dir, p)));
    if (own) ref.flamegraph = join(dir, own);
  }
  return ref;
}

/** Compares two run folders. Summaries may be passed in (a lab's lab.json carries them). */
export function compareRuns(baseDir: string, headDir: string, summaries: { base?: Summary; head?: Summary } = {}): RunComparison {
  const base = runRef(baseDir);
  const head = runRef(headDir);
  const notes: string[] = [];
  for (const [side, ref] of [['base', base], ['head', head]] as const) {
    if (ref.complete === false) notes.push(`The ${side} run ${ref.id} is incomplete: its numbers may be partial.`);
  }
  const baseSummary = summaries.base ?? readSummary(baseDir);
  const headSummary = summaries.head ?? readSummary(headDir);
  for (const [side, s] of [['base', baseSummary], ['head', headSummary]] as const) {
    if (s.overall.requests === 0) {
      notes.push(`The ${side} run completed no request while measured: it has no latency or throughput (load too heavy or too short for it?).`);
    }
  }

  let functions: FunctionDiff | null = null;
  let stacks: StackDiff | null = null;
  const roots: { base?: string; head?: string } = {};
  if (hasFile(baseDir, 'folded') && hasFile(headDir, 'folded')) {
    const b = foldedWithIdle(baseDir);
    const h = foldedWithIdle(headDir);
    if ((b.idle === undefined) !== (h.idle === undefined)) {
      notes.push('Only one run has profile.cpuprofile: function shares are of CPU samples (idle left out) in both.');
    }
    roots.base = b.profile.root;
    roots.head = h.profile.root;
    const both = b.idle !== undefined && h.idle !== undefined;
    const [bp, hp] = both ? [withIdle(b.profile, b.idle!), withIdle(h.profile, h.idle!)] : [b.profile, h.profile];
    functions = diffFunctions(bp, hp);
    stacks = diffStacks(bp, hp);
    if (b.msPerSample !== undefined) stacks.baseMsPerSample = b.msPerSample;
    if (h.msPerSample !== undefined) stacks.headMsPerSample = h.msPerSample;
    if (b.profile.total === 0 || h.profile.total === 0) notes.push('One of the runs has no CPU samples in stacks.folded: the function table is empty.');
  } else {
    notes.push('No function or flamegraph diff: stacks.folded is missing from ' + missingIn(baseDir, headDir, 'folded') + '.');
  }

  let hotspots: HotspotDiff[] | null = null;
  // the runs' evidence (read once): the blocks, per-route figures and memory summary.json and findings.json were computed from
  const evidence = new Map<string, ReturnType<typeof loadEvidence>>();
  const evidenceOf = (dir: string) => evidence.get(dir) ?? evidence.set(dir, loadEvidence(dir)).get(dir)!;
  if (hasFile(baseDir, 'blocking') && hasFile(headDir, 'blocking')) {
    hotspots = diffBlocking(evidenceOf(baseDir), evidenceOf(headDir), roots);
  } else {
    notes.push('No blocking-hotspot diff: blocking.json is missing from ' + missingIn(baseDir, headDir, 'blocking') + '.');
  }
  const findings = hasFile(baseDir, 'findings') && hasFile(headDir, 'findings') ? diffFindings(readFindings(baseDir), readFindings(headDir)) : null;
  if (!findings) notes.push('No findings diff: findings.json is missing from ' + missingIn(baseDir, headDir, 'findings') + ' (looplens diagnose --write adds it).');
  const allocations = hasFile(baseDir, 'heapProfile') && hasFile(headDir, 'heapProfile') ? diffAllocations(evidenceOf(baseDir), evidenceOf(headDir)) : null;
  const pair = checkPair(baseDir, headDir, baseSummary, headSummary);
  return { base, head, summary: diffSummaries(baseSummary, headSummary), functions, stacks, hotspots, ...(allocations ? { allocations } : {}), findings, notes, ...pair };
}

/**
 * stacks.folded, the idle samples it leaves out and the milliseconds one sample stands for (both from
 * profile.cpuprofile, when the run has a readable one).
 */
function foldedWithIdle(dir: string): { profile: FoldedProfile; idle?: number; msPerSample?: number } {
  const profile = parseFolded(readFolded(dir));
  if (!hasFile(dir, 'cpuprofile')) return { profile };
  let cpu: unknown;
  try {
    cpu = readCpuProfile(dir);
  } catch {
    return { profile }; // an unreadable profile only costs the idle share and the ms
  }
  const idle = idleSamples(cpu);
  const msPerSample = msPerSampleOf(cpu);
  return { profile, ...(idle !== undefined ? { idle } : {}), ...(msPerSample !== undefined ? { msPerSample } : {}) };
}

function missingIn(baseDir: string, headDir: string, key: 'folded' | 'blocking' | 'findings'): string {
  const b = !hasFile(baseDir, key);
  const h = !hasFile(headDir, key);
  return b && h ? 'both runs' : b ? 'the base run' : 'the head run';
}

function labRef(dir: string, lab: LabFile): LabRef {
  const ref: LabRef = { dir, id: lab.id, complete: lab.complete };
  if (lab.settings.load.runs) ref.runs = lab.settings.load.runs;
  return ref;
}

export function compareLabs(baseDir: string, headDir: string): Comparison {
  const base = readLab(baseDir);
  const head = readLab(headDir);
  const notes: string[] = [];
  if (!base.complete) notes.push(`The base lab ${base.id} is incomplete${base.reason ? ` (${base.reason})` : ''}.`);
  if (!head.complete) notes.push(`The head lab ${head.id} is incomplete${head.reason ? ` (${head.reason})` : ''}.`);
  const headByName = new Map(head.stages.map((s) => [s.stage, s]));
  const baseNames = new Set(base.stages.map((s) => s.stage));
  const stages: StageComparison[] = [];
  for (const b of base.stages) {
    const h = headByName.get(b.stage);
    if (!h) continue;
    const comparison = compareRuns(join(baseDir, b.run), join(headDir, h.run), { base: b.summary, head: h.summary });
    comparison.base.stage ??= b.stage;
    comparison.head.stage ??= h.stage;
    stages.push({ stage: b.stage, comparison });
  }
  return {
    kind: 'labs',
    base: labRef(baseDir, base),
    head: labRef(headDir, head),
    stages,
    onlyBase: base.stages.filter((s) => !headByName.has(s.stage)).map((s) => s.stage),
    onlyHead: head.stages.filter((s) => !baseNames.has(s.stage)).map((s) => s.stage),
    notes,
    warnings: labMismatches(base, head),
  };
}

/** Two run folders or two lab folders; anything else is a usage error that says what was found. */
export function compareFolders(baseDir: string, headDir: string): Comparison {
  const kind = (dir: string, side: string): 'lab' | 'run' => {
    if (isLabFolder(dir)) return 'lab';
    if (isRunFolder(dir)) return 'run';
    throw new LooplensError(
      'NOT_A_RUN_FOLDER',
      `${side} "${dir}" is not a run folder (no run.json) or a lab folder (no lab.json)`,
      'pass folders written by `looplens profile` or `looplens lab` (ls profiles/)',
    );
  };
  const b = kind(baseDir, 'base');
  const h = kind(headDir, 'head');
  if (b !== h) {
    throw new LooplensError(
      'USAGE_BAD_VALUE',
      `base is a ${b} folder but head is a ${h} folder`,
      'compare two runs, or two labs (stage by stage); pass a stage folder inside the lab to compare it with a run',
    );
  }
  if (b === 'lab') {
    const c = compareLabs(baseDir, headDir);
    if (c.kind === 'labs' && c.stages.length === 0) {
      throw new LooplensError(
        'USAGE_BAD_VALUE',
        `the labs have no stage in common (base: ${c.onlyBase.join(', ') || 'none'}; head: ${c.onlyHead.join(', ') || 'none'})`,
        'run both labs with the same --stages',
      );
    }
    return c;
  }
  return { kind: 'runs', ...compareRuns(baseDir, headDir) };
}

/** Every (scope, run comparison) pair: one for runs, one per stage for labs. */
export function scopesOf(c: Comparison): { scope: string; comparison: RunComparison }[] {
  return c.kind === 'runs' ? [{ scope: '', comparison: c }] : c.stages.map((s) => ({ scope: s.stage, comparison: s.comparison }));
}
