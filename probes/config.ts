/**
 * The probes are configured by environment variables only (documented in probes/README.md).
 * Pure: reads the env and process facts it is given, so it is testable without a child process.
 */
import { join } from 'node:path';

export interface ProbeConfig {
  /** Folder the run files go to; null = probes stay off. */
  out: string | null;
  /** Why the probes are off, when they are. */
  offReason?: string;
  thresholdMs: number;
  /** The blocking detector (LOOPLENS_BLOCKING, default on; off only to measure the loop probes alone). */
  blocking: boolean;
  /** Detect blocks from process start (LOOPLENS_BLOCK_FROM_START=1) instead of from the first accepted connection. */
  blockFromStart: boolean;
  /**
   * LOOPLENS_BLOCK_DETECT: `auto` (default) times callbacks only while the loop blocks (see blocking/arming.ts);
   * `always` times every callback from the start of detection.
   */
  blockDetect: 'auto' | 'always';
  /**
   * Span profiles (LOOPLENS_SPAN_PROFILE, default on with tracing, the CPU profile and the detector): every CPU sample
   * charged to the request that ran it. Needs every callback timed, so it makes `always` the default detection.
   */
  spanProfile: boolean;
  tracing: boolean;
  cpuProfile: boolean;
  cpuProfileIntervalUs: number;
  /**
   * The sampling heap profile (LOOPLENS_HEAP_PROFILE=1, `looplens profile --heap`): heap.heapprofile, following
   * run.json's phase into the measured window under looplens profile (`auto`: that, for callers that set it); off by
   * default, for its cost (probes/README.md, "Overhead").
   */
  heapProfile: boolean | 'auto';
  /** Mean bytes between heap samples (LOOPLENS_HEAP_INTERVAL_KB × 1024; see probes/README.md, "Overhead"). */
  heapIntervalBytes: number;
  /** The folder holding run.json (LOOPLENS_OUT), which the heap profile follows into the measured window. */
  runDir: string | null;
  serviceName: string;
  /** OTLP/HTTP endpoint for live export (traces and runtime metrics); null = files only. */
  otlpEndpoint: string | null;
  /** Extra OpenTelemetry instrumentations by short name (e.g. "fs", "dns"), or "all". */
  extraInstrumentations: string[];
  /** Cap on spans kept in memory for the trace files. */
  maxSpans: number;
  /**
   * LOOPLENS_PRESET: `production` — no OpenTelemetry SDK and no span per request: request identity carried by
   * AsyncLocalStorage from Node's HTTP channels (request-identity.ts), on-demand detection, a sampled share of
   * requests written as one server span each, memory bounded (see probes/README.md, "The production preset").
   * null: the lab's defaults.
   */
  preset: 'production' | null;
  /** Share of requests recorded as a server span under the production preset (LOOPLENS_TRACE_SAMPLE_RATE, 0–1). */
  traceSampleRate: number;
  /**
   * Production preset: every this many seconds the CPU profile is cut (the stacks of its blocks resolved, the
   * profile written over the previous one) and blocking.json rewritten — memory stays bounded (LOOPLENS_ROTATE_S;
   * 0 = only at exit, the lab's way).
   */
  rotateS: number;
  /** Blocks kept for blocking.json (LOOPLENS_MAX_BLOCKS): past it the oldest are dropped and counted. */
  maxBlocks: number;
  /** A worker thread of the app (its files go to threads/<pid>-<threadId>/): blocks charged to its work items. */
  workerThread: boolean;
}

export interface ProcessFacts {
  pid: number;
  argv: string[];
  isMainThread: boolean;
  isClusterWorker: boolean;
  /** worker_threads.threadId (0 on the main thread). */
  threadId?: number;
  /**
   * A thread that is not the app's: Node's loader-hooks thread (no parentPort; `isInternalThread` on Node 24) or one
   * of the probes' own (the watchdog: workerData.looplensProbe).
   */
  isInternalThread?: boolean;
}

export const PRESETS = ['production'] as const;

/** The thread facts readConfig needs, from the node:worker_threads module. */
export function threadFacts(wt: {
  isMainThread: boolean;
  threadId: number;
  parentPort: unknown;
  workerData: unknown;
  isInternalThread?: boolean;
}): Pick<ProcessFacts, 'isMainThread' | 'threadId' | 'isInternalThread'> {
  const probe = typeof wt.workerData === 'object' && wt.workerData !== null && (wt.workerData as { looplensProbe?: unknown }).looplensProbe === true;
  return {
    isMainThread: wt.isMainThread,
    threadId: wt.threadId,
    isInternalThread: !wt.isMainThread && (wt.isInternalThread === true || wt.parentPort === null || probe),
  };
}

function num(value: string | undefined, fallback: number, min: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value);
  return Number.isFinite(n) && n >= min ? n : fallback;
}

function flag(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value.trim() === '') return fallback;
  return !['0', 'false', 'no', 'off'].includes(value.trim().toLowerCase());
}

/** Node processes that only launch the real app (package managers, the tsx CLI, profilers): probes stay out. */
const WRAPPERS = [
  /[\\/]npm-cli\.js$/,
  /[\\/]npx-cli\.js$/,
  /[\\/]pnpm\.c?js$/,
  /[\\/]yarn\.c?js$/,
  /[\\/]tsx[\\/]dist[\\/]cli\.[cm]?js$/,
  /[\\/]clinic[\\/]bin\.js$/,
  /[\\/]0x[\\/]cmd\.js$/,
  /[\\/]\.bin[\\/](clinic|0x|tsx|npm|npx)$/,
];

/**
 * The default sampling interval: a quarter of the block threshold (a block then has ~4 samples to name its function),
 * between 1 ms and 5 ms — 5 ms at the default 20 ms threshold. See probes/README.md, "Overhead".
 */
export function defaultIntervalUs(thresholdMs: number): number {
  return Math.round(Math.min(5000, Math.max(1000, thresholdMs * 250)));
}

/** Mean KiB between heap samples by default (see probes/README.md, "Overhead", and BENCHMARKS.md). */
export const DEFAULT_HEAP_INTERVAL_KB = 128;

export function readConfig(env: NodeJS.ProcessEnv, facts: ProcessFacts): ProbeConfig {
  const presetName = env.LOOPLENS_PRESET?.trim().toLowerCase() || null;
  const badPreset = presetName !== null && !(PRESETS as readonly string[]).includes(presetName);
  const production = presetName === 'production';
  const workerThread = !facts.isMainThread;
  const thresholdMs = num(env.LOOPLENS_BLOCK_THRESHOLD_MS, 20, 0);
  const blocking = flag(env.LOOPLENS_BLOCKING, true);
  // the production preset runs no OpenTelemetry SDK (whatever LOOPLENS_TRACING says), nor does a worker thread
  const tracing = !production && !workerThread && flag(env.LOOPLENS_TRACING, true);
  const cpuProfile = flag(env.LOOPLENS_CPU_PROFILE, true);
  const detect = env.LOOPLENS_BLOCK_DETECT?.trim().toLowerCase();
  // a span profile needs every callback timed: asking for on-demand detection turns it off
  const spanProfile = blocking && tracing && cpuProfile && detect !== 'auto' && flag(env.LOOPLENS_SPAN_PROFILE, true);
  const base: Omit<ProbeConfig, 'out'> = {
    thresholdMs,
    blocking,
    blockFromStart: flag(env.LOOPLENS_BLOCK_FROM_START, false),
    // A worker thread times every callback: the watchdog that recovers the arming block watches the main thread only,
    // and a worker's callbacks are few (one a work item)
    blockDetect: detect === 'always' || (detect !== 'auto' && (spanProfile || workerThread)) ? 'always' : 'auto',
    spanProfile,
    tracing,
    cpuProfile,
    cpuProfileIntervalUs: Math.round(num(env.LOOPLENS_CPU_PROFILE_INTERVAL_US, defaultIntervalUs(thresholdMs), 50)),
    // off unless asked for (looplens profile --heap): V8's sampler cost 13–32 % CPU a request on the cached stage
    heapProfile: env.LOOPLENS_HEAP_PROFILE === undefined || env.LOOPLENS_HEAP_PROFILE.trim() === '' ? false : flag(env.LOOPLENS_HEAP_PROFILE, true),
    heapIntervalBytes: Math.round(num(env.LOOPLENS_HEAP_INTERVAL_KB, DEFAULT_HEAP_INTERVAL_KB, 1) * 1024),
    runDir: env.LOOPLENS_OUT?.trim() || null,
    serviceName: env.LOOPLENS_SERVICE_NAME || env.OTEL_SERVICE_NAME || 'app',
    otlpEndpoint: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || null,
    extraInstrumentations: (env.LOOPLENS_OTEL_INSTRUMENTATIONS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    maxSpans: Math.round(num(env.LOOPLENS_MAX_SPANS, production ? 2_000 : 50_000, 0)),
    preset: production ? 'production' : null,
    traceSampleRate: Math.min(1, num(env.LOOPLENS_TRACE_SAMPLE_RATE, 0.01, 0)),
    rotateS: num(env.LOOPLENS_ROTATE_S, production ? 60 : 0, 0),
    maxBlocks: Math.round(num(env.LOOPLENS_MAX_BLOCKS, production ? 10_000 : 1_000_000, 1)),
    workerThread,
  };
  const root = env.LOOPLENS_OUT?.trim();
  if (!root) return { ...base, out: null, offReason: 'LOOPLENS_OUT is not set' };
  if (badPreset) return { ...base, out: null, offReason: `LOOPLENS_PRESET=${presetName} is not a preset (known: ${PRESETS.join(', ')})` };
  if (facts.isInternalThread) return { ...base, out: null, offReason: 'internal thread' };
  if (workerThread && !flag(env.LOOPLENS_THREADS, true)) return { ...base, out: null, offReason: 'worker thread (LOOPLENS_THREADS=0)' };
  const script = facts.argv[1] ?? '';
  if (WRAPPERS.some((re) => re.test(script))) return { ...base, out: null, offReason: `launcher process (${script})` };
  let out = root;
  if (workerThread) out = join(root, 'threads', `${facts.pid}-${facts.threadId ?? 0}`);
  else if (facts.isClusterWorker) out = join(root, 'workers', String(facts.pid));
  else if (env.LOOPLENS_PROBE_PID && env.LOOPLENS_PROBE_PID !== String(facts.pid)) out = join(root, 'children', String(facts.pid));
  return { ...base, out };
}
