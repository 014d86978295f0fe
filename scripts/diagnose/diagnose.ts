/**
 * Diagnose a run folder (or every stage of a lab folder): read its files through profiles/contract, build the span
 * model, run every rule, rank the findings. `writeFindings(runDir)` is what `profile` calls at its end.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  RUN_FILES,
  hasFile,
  isLabFolder,
  isRunFolder,
  readBlocking,
  readJaeger,
  readLab,
  readOtlpTraces,
  readSummary,
  writeRunJson,
  type BlockingFile,
  type Finding,
  type FindingsFile,
  type Summary,
} from '../../profiles/contract/index.js';
import { LooplensError } from '../errors.js';
import { byRoute, type DiagnoseInput, type Rule } from './rule.js';
import { RULES } from './rules/index.js';
import { buildRequests, spansFromJaeger, spansFromOtlp, type Span } from './spans.js';

/** Runs the rules over one run's evidence; findings ranked by total time a fix would save (saving × requests). */
export function diagnose(input: DiagnoseInput, rules: readonly Rule[] = RULES, notes: string[] = []): Finding[] {
  // One rule failing on odd data must not cost the others (profile writes findings.json at its end).
  const findings = rules.flatMap((rule) => {
    try {
      return rule.detect(input);
    } catch (err) {
      notes.push(`rule ${rule.kind} failed: ${(err as Error).message}`);
      return [];
    }
  });
  const traced = byRoute(input.requests);
  const weight = (f: Finding): number => {
    const n = (f.route && (input.summary?.routes[f.route]?.requests ?? traced.get(f.route)?.length)) || 1;
    return f.savingMsPerRequest * n;
  };
  return findings.sort((a, b) => weight(b) - weight(a) || a.key.localeCompare(b.key));
}

export interface RunEvidence {
  input: DiagnoseInput;
  /** The trace file the spans came from, or null. */
  source: string | null;
  notes: string[];
}

/**
 * Reads what the rules need from a run folder. Traces come from traces.otlp.json (the probes' primary output),
 * else traces.jaeger.json (same spans, other format); a missing file limits the diagnosis and says so in `notes`.
 */
export function loadRunEvidence(dir: string): RunEvidence {
  if (!existsSync(dir)) throw new LooplensError('NOT_A_RUN_FOLDER', `${dir} does not exist`, 'pass a run folder (looplens profile) or a lab folder (looplens lab)');
  // A folder the probes wrote without the CLI (preload + LOOPLENS_OUT) has no run.json but is diagnosable all the same.
  const probeFiles = hasFile(dir, 'tracesOtlp') || hasFile(dir, 'tracesJaeger') || hasFile(dir, 'blocking');
  if (!isRunFolder(dir) && !probeFiles) {
    throw new LooplensError(
      'NOT_A_RUN_FOLDER',
      `${dir} is not a run folder (no ${RUN_FILES.run}, ${RUN_FILES.tracesOtlp} or ${RUN_FILES.blocking})`,
      'pass a folder written by `looplens profile`, `looplens lab` or the probes (LOOPLENS_OUT)',
    );
  }
  const notes: string[] = [];
  let spans: Span[] = [];
  let source: string | null = null;
  if (hasFile(dir, 'tracesOtlp')) {
    spans = spansFromOtlp(readOtlpTraces(dir));
    source = RUN_FILES.tracesOtlp;
  }
  if (spans.length === 0 && hasFile(dir, 'tracesJaeger')) {
    spans = spansFromJaeger(readJaeger(dir));
    source = RUN_FILES.tracesJaeger;
  }
  if (spans.length === 0) {
    source = null;
    notes.push(`no spans (${RUN_FILES.tracesOtlp} and ${RUN_FILES.tracesJaeger} missing or empty): only blocking calls can be diagnosed`);
  }
  let blocking: BlockingFile | null = null;
  if (hasFile(dir, 'blocking')) blocking = readBlocking(dir);
  else notes.push(`${RUN_FILES.blocking} missing: blocking calls cannot be diagnosed`);
  let summary: Summary | null = null;
  if (hasFile(dir, 'summary')) summary = readSummary(dir);
  else notes.push(`${RUN_FILES.summary} missing: per-request figures use traced requests only`);
  return { input: { spans, requests: buildRequests(spans), blocking, summary }, source, notes };
}

export function diagnoseRun(dir: string): FindingsFile {
  const { input, source, notes } = loadRunEvidence(dir);
  return {
    findings: diagnose(input, RULES, notes),
    generatedAt: new Date().toISOString(),
    source,
    requests: input.requests.length,
    notes,
  };
}

/** Diagnoses a run folder and writes findings.json into it; returns what it wrote. For `profile`'s finish step. */
export function writeFindings(runDir: string): FindingsFile {
  const file = diagnoseRun(runDir);
  writeRunJson(runDir, 'findings', file);
  return file;
}

export interface StageFindings {
  stage: string;
  /** The run folder, absolute. */
  dir: string;
  file: FindingsFile;
}

export interface LabFindings {
  dir: string;
  stages: StageFindings[];
}

/** Diagnoses every stage of a lab folder (stages in lab order). */
export function diagnoseLab(dir: string): LabFindings {
  const lab = readLab(dir);
  return {
    dir: resolve(dir),
    stages: lab.stages.map((s) => {
      const runDir = resolve(dir, s.run);
      return { stage: s.stage, dir: runDir, file: diagnoseRun(runDir) };
    }),
  };
}

/** A run folder or a lab folder → its findings; anything else is a user mistake with one actionable line. */
export function diagnoseFolder(dir: string): { kind: 'run'; dir: string; file: FindingsFile } | { kind: 'lab'; lab: LabFindings } {
  const abs = resolve(dir);
  if (isLabFolder(abs)) return { kind: 'lab', lab: diagnoseLab(abs) };
  return { kind: 'run', dir: abs, file: diagnoseRun(abs) };
}
