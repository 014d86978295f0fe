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
import { blockGroup } from './rules/blocking-call.js';
import { RULES } from './rules/index.js';

/**
 * A finding is a victim of a blocking call when its route's requests waited, on average, at least this long behind
 * that call's blocks: it is ranked after the call.
 */
export const VICTIM_MIN_MS_PER_REQUEST = 1;

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
 * Savings on one route never add up past what its requests take: the latency findings of a route (all but blocking
 * calls, whose saving is loop time given back to every request) overlap — one slow call can be serial and deferrable
 * at once — so when their savings per request add up past the route's median request duration (its traced server
 * spans, what the findings are measured on), each is scaled down by the same factor and says so
 * (`savingCappedFromMs`).
 */
function capSavings(findings: Finding[], evidence: Evidence): void {
  const byRoute = new Map<string, Finding[]>();
  for (const f of findings) {
    if (f.kind === 'blocking-call' || !f.route) continue;
    byRoute.set(f.route, [...(byRoute.get(f.route) ?? []), f]);
  }
  for (const [route, list] of byRoute) {
    const durations = evidence.measured.requests.filter((r) => r.route === route).map((r) => r.durationMs).sort((a, b) => a - b);
    const spends = durations[durations.length >> 1];
    const total = list.reduce((a, f) => a + f.savingMsPerRequest, 0);
    if (!spends || total <= spends) continue;
    const factor = spends / total;
    for (const f of list) {
      f.evidence = { ...f.evidence, savingCappedFromMs: f.savingMsPerRequest, cappedBecause: `the route's findings would save ${Math.round(total)} ms per request, past its median request duration of ${Math.round(spends)} ms: each saving scaled by ${factor.toFixed(2)}` };
      f.savingMsPerRequest = Math.round(f.savingMsPerRequest * factor * 100) / 100;
    }
  }
}

/**
 * For each finding, the blocking-call findings it is a victim of: those whose blocks its route's requests waited
 * behind, VICTIM_MIN_MS_PER_REQUEST or more per request.
 */
function causesOf(findings: readonly Finding[], evidence: Evidence): Map<Finding, Finding[]> {
  const byGroup = new Map(findings.filter((f) => f.kind === 'blocking-call').map((f) => [String(f.evidence.group ?? ''), f]));
  const causes = new Map<Finding, Finding[]>();
  if (byGroup.size === 0) return causes;
  const waited = new Map<string, Map<string, number>>(); // route → group → ms waited behind it
  const requests = new Map<string, number>();
  for (const r of evidence.measured.requests) {
    requests.set(r.route, (requests.get(r.route) ?? 0) + 1);
    for (const b of r.blockedByOthers) {
      const group = blockGroup(b);
      if (!byGroup.has(group)) continue;
      const perGroup = waited.get(r.route) ?? new Map<string, number>();
      perGroup.set(group, (perGroup.get(group) ?? 0) + Math.max(0, Math.min(r.endMs, b.endMs) - Math.max(r.startMs, b.startMs)));
      waited.set(r.route, perGroup);
    }
  }
  for (const f of findings) {
    if (!f.route) continue;
    const list: Finding[] = [];
    for (const [group, ms] of waited.get(f.route) ?? []) {
      const cause = byGroup.get(group)!;
      if (cause !== f && ms / Math.max(1, requests.get(f.route) ?? 1) >= VICTIM_MIN_MS_PER_REQUEST) list.push(cause);
    }
    if (list.length) causes.set(f, list);
  }
  return causes;
}

/**
 * Runs the rules over one run's evidence. Ranked by the total time a fix gives back, with one rule above it: a cause
 * comes before its victims — a blocking call before every finding whose requests waited behind its blocks, and a
 * finding whose evidence was mostly waiting after the others.
 */
export function diagnose(evidence: Evidence, rules: readonly Rule[] = RULES, notes: string[] = []): Finding[] {
  // Queries charged to the wrong request make every query rule wrong: those are not run (the evidence's note says why).
  const lost = evidence.measured.context.lost;
  const skipped = lost ? rules.filter((r) => r.readsQueries).map((r) => r.kind) : [];
  if (skipped.length) notes.push(`not run, the queries having lost their request's context: ${skipped.join(', ')}`);
  // One rule failing on odd data must not cost the others (profile writes findings.json at its end).
  const findings = rules.filter((r) => !(lost && r.readsQueries)).flatMap((rule) => {
    try {
      return rule.detect(evidence);
    } catch (err) {
      notes.push(`rule ${rule.kind} failed: ${(err as Error).message}`);
      return [];
    }
  });
  capSavings(findings, evidence);
  const ranked = findings.sort(
    (a, b) => Number(isMostlyWaiting(a)) - Number(isMostlyWaiting(b)) || weight(b, evidence) - weight(a, evidence) || a.key.localeCompare(b.key),
  );
  // Each finding at the first place where all its causes stand before it (a stable topological order).
  const causes = causesOf(ranked, evidence);
  const placed = new Set<Finding>();
  const out: Finding[] = [];
  while (out.length < ranked.length) {
    const next = ranked.find((f) => !placed.has(f) && (causes.get(f) ?? []).every((c) => placed.has(c))) ?? ranked.find((f) => !placed.has(f))!;
    placed.add(next);
    out.push(next);
  }
  return out;
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
