/**
 * The report's in-memory model: for each run, its evidence (scripts/analysis/evidence.ts — the one model summary.json
 * and findings.json were computed from), its summary and findings, and its flamegraphs, read through
 * profiles/contract only. Required files (run.json, summary.json; lab.json for a lab) must be there and valid:
 * otherwise a RunFolderError names the file. Optional files (eventloop.jsonl, blocking.json, the traces,
 * findings.json, flamegraphs) may be missing; a missing or unreadable optional file becomes a note shown on the page.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import {
  RUN_FILES,
  RunFolderError,
  hasFile,
  isLabFolder,
  isRunFolder,
  listRunFolders,
  readFindings,
  readLab,
  readRouteFlamegraphs,
  readRunInfo,
  readSummary,
  type FindingsFile,
  type LabFile,
  type RunFileKey,
  type RunInfo,
  type Summary,
} from '../../profiles/contract/index.js';
import { loadEvidence, type Evidence } from '../../scripts/analysis/evidence.js';

export interface FlamegraphLink {
  /** What it is, e.g. "flamegraph.html" or "0x/flamegraph.html". */
  label: string;
  /** Absolute path of the HTML file. */
  path: string;
}

export interface RunModel {
  kind: 'run';
  /** Absolute path of the run folder. */
  dir: string;
  id: string;
  info: RunInfo;
  summary: Summary;
  /** The run's evidence: blocks, requests and per-route figures of the measured window, and its event loop. */
  evidence: Evidence;
  findings: FindingsFile | null;
  flamegraphs: FlamegraphLink[];
  /** Problems with optional files, worth one line on the page each. */
  notes: string[];
}

export interface LabStageModel {
  stage: string;
  /** Absolute path of the stage's run folder. */
  runDir: string;
  /** From lab.json: present even when the run folder is gone. */
  summary: Summary;
  run: RunModel | null;
  /** Why `run` is null. */
  problem?: string;
}

export interface LabModel {
  kind: 'lab';
  dir: string;
  id: string;
  lab: LabFile;
  stages: LabStageModel[];
  notes: string[];
}

/** One line of the runs index; only run.json / lab.json are read for it. */
export type IndexEntry =
  | { kind: 'run'; dir: string; id: string; info: RunInfo; summary: Summary | null; error?: string }
  | { kind: 'lab'; dir: string; id: string; lab: LabFile; error?: string }
  | { kind: 'broken'; dir: string; id: string; error: string };

function optional<T>(dir: string, key: RunFileKey, read: (dir: string) => T, notes: string[]): T | null {
  if (!hasFile(dir, key)) {
    notes.push(`${RUN_FILES[key]} is missing`);
    return null;
  }
  try {
    return read(dir);
  } catch (err) {
    notes.push(err instanceof Error ? err.message.replace(dir + '/', '') : String(err));
    return null;
  }
}

/** A profiler-owned output path must stay inside the run folder (run.json is data, not trusted). */
function insideRun(dir: string, rel: string): string | null {
  if (isAbsolute(rel)) return null;
  const abs = resolve(dir, rel);
  const back = relative(dir, abs);
  if (back === '' || back.startsWith('..') || isAbsolute(back)) return null;
  return abs;
}

function findFlamegraphs(dir: string, info: RunInfo, notes: string[]): FlamegraphLink[] {
  const links: FlamegraphLink[] = [];
  const seen = new Set<string>();
  const add = (label: string, path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    links.push({ label, path });
  };
  if (hasFile(dir, 'flamegraph')) add(RUN_FILES.flamegraph, join(dir, RUN_FILES.flamegraph));
  // the span profile's flamegraph of each route (the CPU its requests ran)
  try {
    for (const r of readRouteFlamegraphs(dir)) if (existsSync(r.path)) add(`${r.route} · ${r.cpuMsPerRequest} ms CPU per request`, r.path);
  } catch (err) {
    notes.push(`the route flamegraphs are not listed: ${(err as Error).message}`);
  }
  // the allocation flamegraphs (heap.heapprofile: allocated, and what stayed live)
  if (hasFile(dir, 'heapFlamegraph')) add(`${RUN_FILES.heapFlamegraph} · allocations`, join(dir, RUN_FILES.heapFlamegraph));
  if (hasFile(dir, 'heapLiveFlamegraph')) add(`${RUN_FILES.heapLiveFlamegraph} · still live`, join(dir, RUN_FILES.heapLiveFlamegraph));
  for (const out of info.profilerOutputs ?? []) {
    if (!/\.html?$/i.test(out)) continue;
    const abs = insideRun(dir, out);
    if (!abs) {
      notes.push(`run.json lists a profiler output outside the run folder; ignored: ${out}`);
      continue;
    }
    if (existsSync(abs) && statSync(abs).isFile()) add(out, abs);
  }
  return links;
}

export function loadRun(dirArg: string): RunModel {
  const dir = resolve(dirArg);
  if (!isRunFolder(dir)) {
    throw new RunFolderError('NOT_A_RUN_FOLDER', join(dir, RUN_FILES.run), `${dir} is not a run folder (no ${RUN_FILES.run})`);
  }
  const info = readRunInfo(dir);
  const summary = readSummary(dir);
  const notes: string[] = [];
  const evidence = loadEvidence(dir, { onUnreadable: (err) => notes.push(err.message.replace(dir + '/', '')) });
  if (!hasFile(dir, 'eventloop')) notes.push(`${RUN_FILES.eventloop} is missing`);
  notes.push(...evidence.notes);
  const findings = hasFile(dir, 'findings') ? optional(dir, 'findings', readFindings, notes) : null;
  const flamegraphs = findFlamegraphs(dir, info, notes);
  if (flamegraphs.length === 0 && info.profiler !== 'none') notes.push(`no flamegraph HTML found (profiler: ${info.profiler})`);
  // The folder's name (what run.json's id records, and what stays true when a folder is copied under another name).
  return { kind: 'run', dir, id: basename(dir), info, summary, evidence, findings, flamegraphs, notes };
}

export function loadLab(dirArg: string): LabModel {
  const dir = resolve(dirArg);
  if (!isLabFolder(dir)) {
    throw new RunFolderError('NOT_A_RUN_FOLDER', join(dir, 'lab.json'), `${dir} is not a lab folder (no lab.json)`);
  }
  const lab = readLab(dir);
  const notes: string[] = [];
  const stages: LabStageModel[] = lab.stages.map((s) => {
    const runDir = insideRun(dir, s.run);
    if (!runDir) {
      const problem = `lab.json names a stage run outside the lab folder; ignored: ${s.run}`;
      notes.push(problem);
      return { stage: s.stage, runDir: dir, summary: s.summary, run: null, problem };
    }
    try {
      return { stage: s.stage, runDir, summary: s.summary, run: loadRun(runDir) };
    } catch (err) {
      const problem = err instanceof Error ? err.message : String(err);
      notes.push(`stage ${s.stage}: ${problem}`);
      return { stage: s.stage, runDir, summary: s.summary, run: null, problem };
    }
  });
  return { kind: 'lab', dir, id: basename(dir), lab, stages, notes };
}

/** A lab when the folder has lab.json, else a run. Throws RunFolderError naming the missing/corrupt file. */
export function loadFolder(dir: string): RunModel | LabModel {
  return isLabFolder(dir) ? loadLab(dir) : loadRun(dir);
}

/** The index line of a folder: never throws, a broken folder becomes a 'broken' entry that says why. */
export function indexEntry(dirArg: string): IndexEntry {
  const dir = resolve(dirArg);
  try {
    if (isLabFolder(dir)) return { kind: 'lab', dir, id: basename(dir), lab: readLab(dir) };
    const info = readRunInfo(dir);
    let summary: Summary | null = null;
    let error: string | undefined;
    try {
      summary = readSummary(dir);
    } catch (err) {
      error = (err as Error).message;
    }
    return { kind: 'run', dir, id: basename(dir), info, summary, error };
  } catch (err) {
    return { kind: 'broken', dir, id: basename(dir), error: (err as Error).message };
  }
}

/** Every run and lab folder directly under `parent` (e.g. profiles/), newest first. */
export function scanFolders(parent: string): string[] {
  return listRunFolders(parent);
}
