/**
 * Diagnose a run folder (or every stage of a lab folder): build the run's evidence (scripts/analysis/evidence.ts),
 * run every rule over it, rank the findings. `writeFindings(runDir, evidence)` is what `profile` calls at its end,
 * with the evidence it built the summary from.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  RUN_FILES,
  hasFile,
  isLabFolder,
  isRunFolder,
  readLab,
  writeRunJson,
  type Finding,
  type FindingsFile,
} from '../../profiles/contract/index.js';
import { loadEvidence, type Evidence } from '../analysis/evidence.js';
import { LooplensError } from '../errors.js';
import { isMostlyWaiting, type Rule } from './rule.js';
import { RULES } from './rules/index.js';

/**
 * The total time a finding's fix gives back over the window: saving × the route's requests; for a blocking call, its
 * blocked ms plus what the requests queued behind its blocks waited (the loop time and the queueing it removes).
 */
function weight(f: Finding, evidence: Evidence): number {
  if (f.kind === 'blocking-call') return Number(f.evidence.blockedMs ?? 0) + Number(f.evidence.waitedMsCaused ?? 0);
  const route = f.route ? evidence.measured.routes.find((r) => r.route === f.route) : undefined;
  return f.savingMsPerRequest * Math.max(1, route?.requests ?? 1);
}

/**
 * Runs the rules over one run's evidence. Ranked so that a cause comes before its victims: findings whose evidence
 * was mostly waiting behind other requests' blocks come after the others; within each, the most total time first.
 */
export function diagnose(evidence: Evidence, rules: readonly Rule[] = RULES, notes: string[] = []): Finding[] {
  // One rule failing on odd data must not cost the others (profile writes findings.json at its end).
  const findings = rules.flatMap((rule) => {
    try {
      return rule.detect(evidence);
    } catch (err) {
      notes.push(`rule ${rule.kind} failed: ${(err as Error).message}`);
      return [];
    }
  });
  return findings.sort(
    (a, b) => Number(isMostlyWaiting(a)) - Number(isMostlyWaiting(b)) || weight(b, evidence) - weight(a, evidence) || a.key.localeCompare(b.key),
  );
}

/** A run folder's evidence, for diagnose; anything else is a user mistake with one actionable line. */
export function evidenceOf(dir: string): Evidence {
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
  return loadEvidence(dir);
}

/** The findings of one run's evidence, as findings.json holds them. */
export function findingsOf(evidence: Evidence): FindingsFile {
  const notes = [...evidence.notes];
  return {
    findings: diagnose(evidence, RULES, notes),
    generatedAt: new Date().toISOString(),
    source: evidence.traces.source,
    requests: evidence.measured.requests.length,
    notes,
  };
}

export function diagnoseRun(dir: string): FindingsFile {
  return findingsOf(evidenceOf(dir));
}

/**
 * Diagnoses a run folder and writes findings.json into it; returns what it wrote. For `profile`'s finish step, which
 * passes the evidence its summary came from (so both are one build of one model).
 */
export function writeFindings(runDir: string, evidence: Evidence = evidenceOf(runDir)): FindingsFile {
  const file = findingsOf(evidence);
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
