/** Readers for the run folder: every failure names the file and says what is wrong with it. */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Profile as PprofProfile } from 'pprof-format';
import { RunFolderError } from './errors.js';
import {
  LAB_FILES,
  ROUTE_FLAMEGRAPHS,
  RUN_FILES,
  type BlockingFile,
  type CpuProfile,
  type EventLoopSample,
  type FindingsFile,
  type HeapProfileFile,
  type HeapProfileNode,
  type JaegerFile,
  type LabFile,
  type ListenFile,
  type LoadFile,
  type MemorySample,
  type RouteFlamegraph,
  type RunFileKey,
  type RunInfo,
  type SourceMapsFile,
  type Summary,
  type ThreadFiles,
} from './types.js';
import { validateBlocking, validateLab, validateListen, validateLoad, validateRunInfo, validateSourceMaps, validateSummary } from './validate.js';

function readText(path: string): string {
  if (!existsSync(path)) throw new RunFolderError('RUN_FILE_MISSING', path, `${path} is missing`);
  return readFileSync(path, 'utf8');
}

function readJson(path: string): unknown {
  const text = readText(path);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RunFolderError('RUN_FILE_CORRUPT', path, `${path} is not valid JSON (${(err as Error).message})`);
  }
}

function checked<T>(path: string, value: unknown, validate: (v: unknown) => string | null): T {
  const problem = validate(value);
  if (problem) throw new RunFolderError('RUN_FILE_INVALID', path, `${path} does not match the run-folder contract: ${problem}`);
  return value as T;
}

export function hasFile(dir: string, key: RunFileKey): boolean {
  return existsSync(join(dir, RUN_FILES[key]));
}

export function isRunFolder(dir: string): boolean {
  return existsSync(join(dir, RUN_FILES.run));
}

export function isLabFolder(dir: string): boolean {
  return existsSync(join(dir, LAB_FILES.lab));
}

export function readRunInfo(dir: string): RunInfo {
  const path = join(dir, RUN_FILES.run);
  return checked<RunInfo>(path, readJson(path), validateRunInfo);
}

export function readSummary(dir: string): Summary {
  const path = join(dir, RUN_FILES.summary);
  return checked<Summary>(path, readJson(path), validateSummary);
}

export function readBlocking(dir: string): BlockingFile {
  const path = join(dir, RUN_FILES.blocking);
  return checked<BlockingFile>(path, readJson(path), validateBlocking);
}

export function readLoad(dir: string): LoadFile {
  const path = join(dir, RUN_FILES.load);
  return checked<LoadFile>(path, readJson(path), validateLoad);
}

/** listen.json of `dir` (the run folder, or a worker's or child process's folder in it). */
export function readListen(dir: string): ListenFile {
  const path = join(dir, RUN_FILES.listen);
  return checked<ListenFile>(path, readJson(path), validateListen);
}

/** sourcemaps.json of `dir` (the run folder, or a worker's or child process's folder in it). */
export function readSourceMaps(dir: string): SourceMapsFile {
  const path = join(dir, RUN_FILES.sourceMaps);
  return checked<SourceMapsFile>(path, readJson(path), validateSourceMaps);
}

export function readLab(dir: string): LabFile {
  const path = join(dir, LAB_FILES.lab);
  return checked<LabFile>(path, readJson(path), validateLab);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A JSON-lines file of the run folder: every non-empty line parsed and checked by `is` (`what` names the shape). */
function readJsonLines<T>(dir: string, key: RunFileKey, is: (v: Record<string, unknown>) => boolean, what: string): T[] {
  const path = join(dir, RUN_FILES[key]);
  const samples: T[] = [];
  readText(path)
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw new RunFolderError('RUN_FILE_CORRUPT', path, `${path} line ${i + 1} is not valid JSON`);
      }
      if (!isObject(value) || !is(value)) throw new RunFolderError('RUN_FILE_INVALID', path, `${path} line ${i + 1} is not ${what}`);
      samples.push(value as unknown as T);
    });
  return samples;
}

export function readEventLoop(dir: string): EventLoopSample[] {
  return readJsonLines<EventLoopSample>(dir, 'eventloop', (v) => typeof v.t === 'number' && isObject(v.delayMs), 'an event-loop sample (expected {t, delayMs, utilization})');
}

/** memory.jsonl: one MemorySample a line. */
export function readMemory(dir: string): MemorySample[] {
  return readJsonLines<MemorySample>(
    dir,
    'memory',
    (v) => typeof v.t === 'number' && typeof v.heapUsedBytes === 'number' && Array.isArray(v.gc),
    'a memory sample (expected {t, heapUsedBytes, heapTotalBytes, externalBytes, rssBytes, gc})',
  );
}

function isHeapNode(v: unknown, depth = 0): v is HeapProfileNode {
  if (!isObject(v) || typeof v.id !== 'number' || typeof v.selfSize !== 'number' || !isObject(v.callFrame) || !Array.isArray(v.children)) return false;
  // deep trees are checked at their top: a profile's stack depth is bounded by V8 (128 frames)
  return depth > 4 || v.children.every((c) => isHeapNode(c, depth + 1));
}

/** heap.heapprofile: a V8 sampling heap profile ({head, samples}) with the probes' `looplens` field. */
export function readHeapProfile(dir: string): HeapProfileFile {
  const path = join(dir, RUN_FILES.heapProfile);
  const value = readJson(path);
  if (!isObject(value) || !isHeapNode(value.head) || !Array.isArray(value.samples)) {
    throw new RunFolderError('RUN_FILE_INVALID', path, `${path} has no "head" node tree and "samples" array (expected a V8 sampling heap profile)`);
  }
  const live = isObject(value.looplens) ? value.looplens.live : undefined;
  if (live !== undefined && live !== null && (!isObject(live) || !isHeapNode(live.head) || !Array.isArray(live.samples))) {
    throw new RunFolderError('RUN_FILE_INVALID', path, `${path} has a "looplens.live" that is not a sampling heap profile ({head, samples, fromMs, atMs})`);
  }
  return value as unknown as HeapProfileFile;
}

export function readJaeger(dir: string): JaegerFile {
  const path = join(dir, RUN_FILES.tracesJaeger);
  const value = readJson(path) as JaegerFile;
  if (!value || !Array.isArray(value.data)) {
    throw new RunFolderError('RUN_FILE_INVALID', path, `${path} has no "data" array (expected the Jaeger JSON-file format)`);
  }
  return value;
}

export function readOtlpTraces(dir: string): unknown {
  const path = join(dir, RUN_FILES.tracesOtlp);
  const value = readJson(path);
  if (!isObject(value) || !Array.isArray(value.resourceSpans)) {
    throw new RunFolderError('RUN_FILE_INVALID', path, `${path} has no "resourceSpans" array (expected OTLP/JSON traces)`);
  }
  return value;
}

/** Folded stacks: every non-empty line is `frame;frame;… <count>` (an empty file is a run without samples). */
export function readFolded(dir: string): string {
  const path = join(dir, RUN_FILES.folded);
  const text = readText(path);
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trimEnd();
    if (line !== '' && !/^\S[\s\S]* \d+$/.test(line)) {
      throw new RunFolderError('RUN_FILE_CORRUPT', path, `${path} line ${i + 1} is not a folded stack ("frame;frame;… <count>"): the file is truncated or not stacks.folded`);
    }
  }
  return text;
}

export function readCpuProfile(dir: string): CpuProfile {
  const path = join(dir, RUN_FILES.cpuprofile);
  const value = readJson(path);
  if (!isObject(value) || !Array.isArray(value.nodes)) {
    throw new RunFolderError('RUN_FILE_INVALID', path, `${path} has no "nodes" array (expected a V8 CPU profile)`);
  }
  return value as unknown as CpuProfile;
}

/**
 * The CPU profiles of the processes that served the run's requests: each cluster worker's (workers/<pid>/), else the
 * run's own profile.cpuprofile; [] when there is none.
 */
export function readServingCpuProfiles(dir: string): CpuProfile[] {
  const workers = join(dir, 'workers');
  const workerDirs = existsSync(workers)
    ? readdirSync(workers)
        .map((n) => join(workers, n))
        .filter((d) => statSync(d).isDirectory() && existsSync(join(d, RUN_FILES.cpuprofile)))
    : [];
  if (workerDirs.length > 0) return workerDirs.map(readCpuProfile);
  return existsSync(join(dir, RUN_FILES.cpuprofile)) ? [readCpuProfile(dir)] : [];
}

/** flamegraphs/routes.json with each file's absolute path; [] when the run has none (no span profile). */
export function readRouteFlamegraphs(dir: string): (RouteFlamegraph & { path: string })[] {
  const folder = join(dir, ROUTE_FLAMEGRAPHS.dir);
  const path = join(folder, ROUTE_FLAMEGRAPHS.index);
  if (!existsSync(path)) return [];
  const value = readJson(path);
  const valid =
    Array.isArray(value) &&
    value.every(
      (r) =>
        r && typeof r === 'object' && typeof r.route === 'string' && typeof r.file === 'string' && /^[\w.-]+\.html$/.test(r.file) && typeof r.requests === 'number' && typeof r.cpuMsPerRequest === 'number',
    );
  if (!valid) throw new RunFolderError('RUN_FILE_INVALID', path, `${path} is not a list of { route, file, requests, cpuMsPerRequest }`);
  return (value as RouteFlamegraph[]).map((r) => ({ ...r, path: join(folder, r.file) }));
}

/**
 * The worker threads' probe files (threads/<pid>-<threadId>/: blocking.json, eventloop.jsonl, profile.cpuprofile),
 * in pid and thread order; [] when the app ran none. A folder not named <pid>-<threadId> is not a thread's.
 */
export function readThreads(dir: string): ThreadFiles[] {
  const root = join(dir, 'threads');
  if (!existsSync(root)) return [];
  const found: ThreadFiles[] = [];
  for (const name of readdirSync(root)) {
    const m = /^(\d+)-(\d+)$/.exec(name);
    const d = join(root, name);
    if (!m || !statSync(d).isDirectory()) continue;
    found.push({
      pid: Number(m[1]),
      threadId: Number(m[2]),
      dir: d,
      blocking: existsSync(join(d, RUN_FILES.blocking)) ? readBlocking(d) : null,
      eventLoop: existsSync(join(d, RUN_FILES.eventloop)) ? readEventLoop(d) : [],
      cpuProfile: existsSync(join(d, RUN_FILES.cpuprofile)),
    });
  }
  return found.sort((a, b) => a.pid - b.pid || a.threadId - b.threadId);
}

/** profile.pprof, decoded (gzipped or not, as pprof readers accept both). */
export function readPprof(dir: string): PprofProfile {
  const path = join(dir, RUN_FILES.pprof);
  if (!existsSync(path)) throw new RunFolderError('RUN_FILE_MISSING', path, `${path} is missing`);
  const raw = readFileSync(path);
  try {
    return PprofProfile.decode(raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw);
  } catch (err) {
    throw new RunFolderError('RUN_FILE_CORRUPT', path, `${path} is not a pprof profile (${(err as Error).message})`);
  }
}

export function readFindings(dir: string): FindingsFile {
  const path = join(dir, RUN_FILES.findings);
  const value = readJson(path);
  const bad = !isObject(value) || !Array.isArray(value.findings)
    ? 'has no "findings" array'
    : (value.findings as unknown[]).some((f) => !isObject(f) || typeof f.kind !== 'string' || typeof f.title !== 'string')
      ? 'has a finding without a "kind" or "title"'
      : null;
  if (bad) throw new RunFolderError('RUN_FILE_INVALID', path, `${path} ${bad} (expected what looplens diagnose --write writes)`);
  return value as unknown as FindingsFile;
}

/** Run folders directly under a parent (e.g. profiles/ or a lab folder), newest first by name. */
export function listRunFolders(parent: string): string[] {
  if (!existsSync(parent)) return [];
  return readdirSync(parent)
    .map((name) => join(parent, name))
    .filter((p) => statSync(p).isDirectory() && (isRunFolder(p) || isLabFolder(p)))
    .sort()
    .reverse();
}
