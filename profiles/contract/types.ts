/**
 * The run folder: the one contract every part of looplens reads or writes.
 * Probes and the runner write through ./write.ts; analysis, compare, diagnose and dashboards read through ./read.ts.
 * Nothing else parses these files by hand. Documented for people in profiles/README.md.
 */

/** File names inside a run folder (and a lab folder). */
export const RUN_FILES = {
  run: 'run.json',
  summary: 'summary.json',
  summaryMd: 'summary.md',
  eventloop: 'eventloop.jsonl',
  blocking: 'blocking.json',
  tracesOtlp: 'traces.otlp.json',
  tracesJaeger: 'traces.jaeger.json',
  cpuprofile: 'profile.cpuprofile',
  /** The CPU samples as pprof (gzipped protobuf), labelled with route, trace and span where the span profile knows them. */
  pprof: 'profile.pprof',
  folded: 'stacks.folded',
  flamegraph: 'flamegraph.html',
  /** The app's (and its profiler's) stdout and stderr. */
  appLog: 'app.log',
  findings: 'findings.json',
  /** What the load generator measured, per route of its own (latencies as the client saw them). */
  load: 'load.json',
  /** Where the app's servers listen, as the probes saw them (an app that ignores $PORT is loaded on its own port). */
  listen: 'listen.json',
  /** Source maps the app's loader kept in memory only (tsx, --enable-source-maps), for the frames of its profile. */
  sourceMaps: 'sourcemaps.json',
  /** The app's memory each second (heap used/total, external, RSS) and every GC pause in it, one MemorySample a line. */
  memory: 'memory.jsonl',
  /**
   * V8's sampling heap profile (the format Chrome DevTools' Memory panel and speedscope open): what was allocated in
   * the first half of the measured window, with, in `looplens.live`, what was allocated in its second half and still
   * live at its end.
   */
  heapProfile: 'heap.heapprofile',
  /** The allocation flamegraph: heap.heapprofile's allocated half, KiB by stack (derived by the runner). */
  heapFlamegraph: 'heap-flamegraph.html',
  /** What stayed live: heap.heapprofile's live half, KiB by stack (derived by the runner). */
  heapLiveFlamegraph: 'heap-live-flamegraph.html',
} as const;

/**
 * The span profile's CPU flamegraph of each route (the samples its requests ran): flamegraphs/<n>-<route>.html, listed
 * with their routes in flamegraphs/routes.json.
 */
export const ROUTE_FLAMEGRAPHS = { dir: 'flamegraphs', index: 'routes.json' } as const;

/** One entry of flamegraphs/routes.json. */
export interface RouteFlamegraph {
  route: string;
  /** The HTML file, relative to the flamegraphs folder. */
  file: string;
  /** The route's traced requests of the window, and the CPU they ran per request (summary.json's cpuMsPerRequest). */
  requests: number;
  cpuMsPerRequest: number;
}

export const LAB_FILES = {
  lab: 'lab.json',
  labMd: 'lab.md',
} as const;

export type RunFileKey = keyof typeof RUN_FILES;

export const PROFILERS = ['none', '0x', 'doctor', 'flame', 'bubbleprof'] as const;
export type ProfilerName = (typeof PROFILERS)[number];

/** run.json — what was run, how, where; written at start (complete: false) and rewritten at the end. */
export interface RunInfo {
  schemaVersion: 1;
  /** The folder's own name. */
  id: string;
  /** The app command as given (argv), before any profiler wrapping. */
  command: string[];
  /** target-app stage, when the app is target-app. */
  stage?: string;
  profiler: ProfilerName;
  load: LoadSettings;
  workers?: number;
  gitSha?: string;
  node: string;
  platform: string;
  cpu: { model: string; cores: number };
  memoryGiB?: number;
  startedAt: string;
  endedAt?: string;
  /**
   * The measured load window, epoch ms: every figure of summary.json, findings.json, compare and the report counts
   * what happened inside it (start-up, warm-up and shutdown are labelled and left out). Absent in runs written before
   * it was recorded, and in runs that ended before their load.
   */
  window?: TimeWindow;
  /** The warm-up load before the window (its results discarded), epoch ms. */
  warmup?: TimeWindow;
  /** true only when every phase finished and every file of the contract was written. */
  complete: boolean;
  /** Why the run is incomplete (Ctrl-C, app crash, profiler timeout…). */
  reason?: string;
  /** The stable error code behind `reason`, when the run recorded one (e.g. RUN_EMPTY: no request succeeded). */
  reasonCode?: string;
  /** The phase the run was in when it ended or was interrupted. */
  phase?: string;
  /** Profiler-owned outputs, as paths relative to the run folder (e.g. "0x/flamegraph.html", "doctor.html"). */
  profilerOutputs?: string[];
  /** Notes worth showing (e.g. "clinic bubbleprof timed out after 60 s: known upstream hang"). */
  notes?: string[];
}

/** A stretch of time, epoch milliseconds. */
export interface TimeWindow {
  startMs: number;
  endMs: number;
}

export interface LoadSettings {
  durationS: number;
  warmupS: number;
  connections: number;
  /** Fixed request rate (req/s) when set; otherwise closed-loop. */
  rate?: number;
  /** Explicit paths (--path) when used. */
  paths?: string[];
  /** Scenario name or file when used. */
  scenario?: string;
  /** How many repetitions this run folder aggregates (--runs). */
  runs?: number;
}

export interface LatencyMs {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

export interface RequestStats {
  requests: number;
  rps: number;
  latencyMs: LatencyMs;
  non2xx: number;
  errors: number;
  /** Blocking-event ms charged to this route's requests, per request (routes only; from blocking.json). */
  blockedMsPerRequest?: number;
  /** PostgreSQL query spans per request of this route (routes only; from traces). */
  queriesPerRequest?: number;
  /**
   * ms each traced request of this route spent, on average, with its process's loop blocked by other requests' work
   * (routes only; the evidence's `waitedMs`): what a route that never blocks pays for the routes that do.
   */
  waitedMsPerRequest?: number;
  /**
   * CPU ms per traced request of this route, from the span profile (every CPU sample charged to the request that ran
   * it; looplens' own measuring left out). Routes only, when the run has a span profile.
   */
  cpuMsPerRequest?: number;
}

/** summary.json — the numbers a person compares. Validated by summary.schema.json. */
export interface Summary {
  overall: RequestStats;
  /** Keyed "<METHOD> <path template>", e.g. "GET /users/:id/timeline". */
  routes: Record<string, RequestStats>;
  eventLoop: {
    delayMs: { p50: number; p99: number; max: number };
    utilization: number;
  };
  blocking: { count: number; totalMs: number; msPerRequest: number };
  db?: { queriesPerRequest: number };
  /**
   * The app's CPU: busy CPU samples × ms per sample ÷ the window's requests, looplens' own measuring (probes,
   * OpenTelemetry) left out — `measuringShare` of the busy samples was that. `scope` 'window': the samples of the
   * measured window; 'run': the whole run's (a profile without the probes' clock). `chargedShare`: the share the span
   * profile charged to a request of the window (absent without one).
   */
  cpu?: { msPerRequest: number; scope: 'window' | 'run'; measuringShare: number; chargedShare?: number };
  /**
   * Present when the run's database queries lost their request's async context (a promise library or pool that
   * drops it): the share of the window's queries in no request or outside the request they were charged to. The
   * queries per request are then not to be trusted, and diagnose draws no finding from queries.
   */
  lostContext?: { share: number; orphanQueries: number; outsideRequestQueries: number; queries: number };
  /** Failures of calls to external services seen by the app (when the app reports them). */
  upstream?: { calls: number; failures: number };
  /** Spread across repeated runs (--runs N): per metric, [min, max] of the run medians aggregated. */
  spread?: Record<string, [number, number]>;
  /**
   * Per-run values across repeated runs (--runs N), keyed like `spread`: the metric's value in every run that measured
   * it, in run order. compare tests a change on them (Mann–Whitney U); `spread` is their [min, max].
   */
  perRun?: Record<string, number[]>;
  /**
   * The app's response cache over the measured window (its GET /stats read before and after the load, subtracted),
   * when the app reports one (target-app's cached stage). Absent for apps and stages without a cache.
   */
  cache?: CacheSummary;
  /**
   * Per process of the app, over the measured window: each cluster worker's requests, blocks, waiting and event
   * loop, and every process's memory (RSS, sampled by the runner). Present when the app ran several processes or the
   * runner sampled memory; the evidence's `measured.processes`.
   */
  processes?: ProcessSummary[];
  /**
   * Per worker thread of the app (threads/<pid>-<threadId>/), over the measured window: its own loop's blocks — each
   * charged to the work item (message) that ran it — the functions that blocked, and its loop. Present when a thread
   * wrote files; the evidence's `threads`.
   */
  threads?: ThreadSummary[];
  /** The app's pool for blocking calls over the measured window (target-app's offload pool), when it reports one. */
  offloadPool?: OffloadPoolSummary;
  /** Heap and garbage collection over the measured window (memory.jsonl, heap.heapprofile), when the probes wrote them. */
  memory?: MemorySummary;
}

/**
 * Summary.memory. MiB and KiB are 1,048,576 and 1,024 bytes. `growthMbPer1kRequests`: what the heap profile's live
 * half holds (allocated in the window's second half, still live at its end after a full GC) per 1,000 requests of
 * that half, looplens' own measuring left out — churn that is collected is not in it; null without a live half.
 */
export interface MemorySummary {
  /** V8 heap used at the first and last second of the window. */
  heapUsedMb: { start: number; end: number } | null;
  growthMbPer1kRequests: number | null;
  /** Bytes the app allocated per request (the heap profile's allocated half), KiB; null without one. */
  allocatedKbPerRequest: number | null;
  gc: {
    /** GC pauses (perf_hooks gc entries) in the window: their count, ms, and ms ÷ the window's ms. */
    pauses: number;
    ms: number;
    share: number;
    longestPauseMs: number;
    longestPauseKind: GcPause['kind'] | null;
    byKind: Partial<Record<GcPause['kind'], { count: number; ms: number }>>;
  };
  /** Per route, where the allocation stacks tell it (see scripts/analysis/memory.ts): KiB allocated per request, MiB kept per 1,000. */
  routes?: Record<string, { allocatedKbPerRequest: number | null; growthMbPer1kRequests: number | null }>;
}

/** One process of the app over the measured window (Summary.processes). */
export interface ProcessSummary {
  pid: number;
  /** `server`: it served requests; `primary`: the parent of the servers (node:cluster); `other`: e.g. a profiler. */
  role: 'server' | 'primary' | 'other';
  /** Traced requests it served that started in the window, and their rate over the window. */
  requests: number;
  rps: number;
  blocks: number;
  blockedMs: number;
  /** blockedMs ÷ requests (0 without requests). */
  blockedMsPerRequest: number;
  /** Mean ms its requests waited behind other requests' blocks in this process. */
  waitedMsPerRequest: number;
  /** Its own event-loop samples (as summary `eventLoop`), when the probes sampled it. */
  eventLoop?: { delayMs: { p50: number; p99: number; max: number }; utilization: number };
  /** Resident set size in MiB over the window (median and largest sample), when the runner sampled it. */
  rssMb?: { p50: number; max: number };
}

/** One worker thread over the measured window (Summary.threads). A thread's block stops that thread only. */
export interface ThreadSummary {
  pid: number;
  threadId: number;
  blocks: number;
  blockedMs: number;
  /** Work items (messages) that blocked, and the ms they blocked in all. */
  workItems: number;
  /** The functions that blocked (topFrame), most blocked ms first. */
  functions: { topFrame: string; blocks: number; blockedMs: number }[];
  /** Its own event-loop samples (as summary `eventLoop`), when it wrote any in the window. */
  eventLoop?: { delayMs: { p50: number; p99: number; max: number }; utilization: number };
  /** It wrote profile.cpuprofile (its own CPU profile, in its folder). */
  cpuProfile: boolean;
}

/** The probe files of one worker thread, as the contract's reader gives them (threads/<pid>-<threadId>/). */
export interface ThreadFiles {
  pid: number;
  threadId: number;
  /** Its folder. */
  dir: string;
  blocking: BlockingFile | null;
  eventLoop: EventLoopSample[];
  cpuProfile: boolean;
}

/** A pool that runs blocking calls on threads, over the measured window (Summary.offloadPool). */
export interface OffloadPoolSummary extends OffloadPoolCounts {
  /** queued ÷ calls (0 without calls). */
  queuedShare: number;
  /** Mean ms a queued call waited for a thread (0 when none queued). */
  waitMsPerQueuedCall: number;
  /** queuedMs ÷ the window's ms: how many calls, on average, were waiting for a thread at any moment. */
  meanWaiting: number;
}

/** Counts of an offload pool (the app's GET /stats `blockingIo.pool`, subtracted over the window for load.json). */
export interface OffloadPoolCounts {
  /** Threads the pool may run at once. */
  size: number;
  /** Calls a thread took. */
  calls: number;
  /** Calls that found every thread busy and waited in the queue. */
  queued: number;
  /** ms queued calls waited for a thread, in all. */
  queuedMs: number;
}

/** Memory of one process of the app over the measured window, sampled by the runner (load.json `memory`). */
export interface ProcessMemory {
  pid: number;
  /** Its parent process (node:cluster's primary for a worker). */
  ppid: number;
  /** The executable's name as the OS reports it ("node", "MainThread"). */
  name: string;
  /** Resident set size, KiB, at epoch ms `t`. */
  samples: { t: number; rssKb: number }[];
}

/** Cache lookups in the measured window. */
export interface CacheCounts {
  /** Lookups answered from the cache. */
  hits: number;
  /** Lookups answered by the database (stale ones included). */
  misses: number;
  /** Misses whose entry was there but had been retired by a write: what invalidation costs. */
  stale: number;
  /** hits / (hits + misses), 0..1; 0 when there was no lookup. */
  hitRatio: number;
}

export interface CacheSummary extends CacheCounts {
  /** Lookups the cache could not answer at all (Redis down or slow; PostgreSQL answered): neither hit nor miss. */
  errors?: number;
  /** Per route, keyed like `routes` ("GET /users/:id/timeline"), for the routes that read the cache. */
  byRoute?: Record<string, CacheCounts>;
}

/** One line of eventloop.jsonl: one sample per second. */
export interface EventLoopSample {
  /** Epoch milliseconds at the end of the interval. */
  t: number;
  /** Event-loop delay over the interval, timer resolution subtracted, in ms. */
  delayMs: { min: number; mean: number; p50: number; p90: number; p99: number; max: number };
  /** Event-loop utilization over the interval, 0..1. */
  utilization: number;
  /**
   * The process that sampled it: set when a cluster's worker files are merged (workers/<pid>/eventloop.jsonl), so
   * each worker's loop can be told apart. Absent in a single process's file.
   */
  pid?: number;
}

/** One GC pause (perf_hooks `gc` entry). */
export interface GcPause {
  /** Epoch ms on the wall clock blocks and spans use. */
  startMs: number;
  durationMs: number;
  /** perf_hooks' kind: minor (scavenge), major (mark-sweep-compact), incremental (marking step), weakcb (weak callbacks). */
  kind: 'minor' | 'major' | 'incremental' | 'weakcb';
}

/** One line of memory.jsonl: the app's memory at the end of one second, and the GC pauses that ended in it. */
export interface MemorySample {
  /** Epoch milliseconds at the end of the interval. */
  t: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  rssBytes: number;
  /** V8's used heap read just after the last major GC of the interval, when one ran in it. */
  afterMajorGcBytes?: number;
  gc: GcPause[];
}

/** A node of a V8 sampling heap profile: selfSize is the bytes its samples stand for (V8 scales them). */
export interface HeapProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number; scriptId?: string | number };
  selfSize: number;
  children: HeapProfileNode[];
}

/** One sampled allocation: its size in bytes, its stack's node, and its order among all samples taken. */
export interface HeapProfileSample {
  size: number;
  nodeId: number;
  ordinal: number;
}

/** A V8 sampling heap profile (HeapProfiler.getSamplingProfile; lineNumber and columnNumber 0-based). */
export interface SamplingHeapProfile {
  head: HeapProfileNode;
  samples: HeapProfileSample[];
}

/**
 * heap.heapprofile: `head`/`samples` are what was allocated (collected or not) from `allocated.startMs` to
 * `allocated.endMs` — the first half of the measured window under `looplens profile`; `live` is what was allocated
 * from `live.fromMs` and still live at `live.atMs` (after a full GC, when the app stopped). V8 has one sampler: it
 * keeps collected objects' samples or drops them, so the two halves of the window are sampled each one way.
 */
export interface HeapProfileFile extends SamplingHeapProfile {
  looplens?: {
    /** Mean bytes between samples of the live half, and of the allocated half (coarser: see probes/heap-profiler.ts). */
    intervalBytes: number;
    allocatedIntervalBytes?: number;
    /** ms the switch from the allocated to the live half held the loop (the sampler handing over its samples). */
    switchMs?: number;
    /** The process's CPU ms (all threads) in that switch. */
    switchCpuMs?: number;
    pid: number;
    cwd: string;
    allocated: TimeWindow;
    /**
     * Null when the probes never saw the measured window (no run.json: preloaded by hand). `settledOrdinal`: the last
     * sample taken by `settledAtMs`, two thirds into the live half — samples up to it that are still live at `atMs`
     * outlived the requests in flight at the end (what grows); absent when the half was too short to note it.
     */
    live: (SamplingHeapProfile & { fromMs: number; atMs: number; settledOrdinal?: number; settledAtMs?: number }) | null;
  };
}

export interface StackFrame {
  functionName: string;
  /** Where the code ran: the compiled file (dist/…/x.js) of a compiled app. */
  url: string;
  /** 1-based. */
  lineNumber: number;
  /** 1-based. */
  columnNumber: number;
  /**
   * Where the app's source map puts the frame (the .ts file a developer edits), when it has one: written by the
   * runner after the app stopped; `url`, `lineNumber` and `columnNumber` stay the compiled location.
   */
  original?: SourcePosition;
}

/** A position in an original source file, from a source map. */
export interface SourcePosition {
  /** The source file (absolute path, or the URL the source map names when it is not a file). */
  url: string;
  /** 1-based. */
  lineNumber: number;
  /** 1-based. */
  columnNumber: number;
}

/** profile.cpuprofile: a V8 CPU profile (the format Chrome DevTools and speedscope open), times in µs. */
export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number; scriptId?: string | number };
  hitCount?: number;
  children?: number[];
}
export interface CpuProfile {
  nodes: CpuProfileNode[];
  /** µs on the profiler's monotonic clock. */
  startTime?: number;
  endTime?: number;
  samples?: number[];
  timeDeltas?: number[];
  /**
   * Written by the probes beside V8's fields (other tools ignore it): `epochOffsetMs` turns a profile time into epoch
   * ms on the wall clock spans and blocks use (profile µs ÷ 1000 + epochOffsetMs), `cwd` is the app's working folder
   * (what frame paths are shown relative to), `pid` the process profiled.
   */
  looplens?: CpuProfileClock;
}

/** What the probes add to a V8 CPU profile (profile.cpuprofile's `looplens` field). */
export interface CpuProfileClock {
  epochOffsetMs: number;
  cwd: string;
  pid: number;
  /**
   * Span profile (probes with tracing): `sampleOwners[i]` is the index in `owners` of the request that ran sample i
   * (the blocking detector's timeline of who ran each callback), -1 for none.
   */
  owners?: SampleOwner[];
  sampleOwners?: number[];
  /**
   * Span profile on Linux: `runQueueUs[i]` is the µs of sample i's interval (to the next sample) the thread waited in
   * the OS run queue (off the CPU, not running the app); a sample weighs its interval less that.
   */
  runQueueUs?: number[];
}

/** A request that ran CPU samples: its server (root) span, and its route as the probes saw it. */
export interface SampleOwner {
  traceId: string | null;
  spanId: string | null;
  route: string | null;
}

/** One stretch in which the loop did not turn for longer than the threshold, charged to one request. */
export interface BlockingEvent {
  /**
   * Unique in the run folder ("<pid>:<n>"; a worker thread's "<pid>:t<threadId>.<n>"); the span event of the block carries it (semconv BLOCKED_EVENT_FIELDS
   * .blockId), so a reader matches the two by identity. Absent in files written before it was recorded.
   */
  id?: string;
  /**
   * How the block was found: `timed` — the detector timed its callbacks and saw the active span; `recovered` — it
   * happened before the detector was armed (the block that armed it), its stretch and stack recovered from the CPU
   * profile and its owner from the span the watchdog thread saw running during it. Absent in older files (timed).
   */
  found?: 'timed' | 'recovered';
  /** Epoch milliseconds when the blocking callback started (the same clock as span times). */
  startMs: number;
  /** The app's own synchronous time in the stretch; time the OS kept the thread waiting for a CPU is left out. */
  durationMs: number;
  /** "<METHOD> <route>" of the request span that ran, or null when no request was running (startup, timers). */
  route: string | null;
  /**
   * The trace of the request: its span's (full tracing), or under the production preset the incoming `traceparent`'s
   * (or a sampled request's own); null when none.
   */
  traceId: string | null;
  /** The span that ran; under the production preset only a sampled request has one. */
  spanId: string | null;
  /** In a worker thread (threads/<pid>-<threadId>/): the work item that ran, "message #<n> (<listener>)". */
  workItem?: string;
  /**
   * Innermost app frame (not a Node internal or dependency), "name (file:line)": its original source position when
   * the app's source map has one ("priceBasket (src/pricing.ts:14)"), else where it ran.
   */
  topFrame: string;
  /** The compiled location of `topFrame` ("priceBasket (dist/pricing.js:9)"), when a source map moved it. */
  compiledTopFrame?: string;
  /** Innermost first. */
  frames: StackFrame[];
}

/** How many stretches, and their length in all. */
export interface CountAndTotal {
  count: number;
  totalMs: number;
}

export interface BlockingFile {
  thresholdMs: number;
  events: BlockingEvent[];
  /**
   * Stretches that reached the threshold only because the OS kept the app's thread waiting for a CPU (an overloaded
   * machine, Linux run-queue time): not the app's blocking, so not in `events`. Absent where it cannot be measured.
   */
  descheduled?: CountAndTotal;
  /**
   * With on-demand detection (LOOPLENS_BLOCK_DETECT=auto, the default): how many times a late tick armed the detector
   * and how long, in all, every callback was timed — the stretches in which the probes cost the most.
   */
  armed?: CountAndTotal;
  /** Blocks left out because more than LOOPLENS_MAX_BLOCKS were found (the oldest go first); absent when none. */
  droppedBlocks?: number;
}

/** load.json — what the load generator measured in the window (run.json `window`), per route of its own. */
export interface LoadFile {
  overall: RequestStats;
  /**
   * The app's own response-cache counters over the window, when it reports them (target-app's GET /stats, read before
   * and after the load): summary.json `cache`.
   */
  cache?: CacheSummary;
  /** Keyed by the load generator's route ("GET /users/:id/timeline"), which may differ from the app's template. */
  routes: Record<string, LoadRoute>;
  /**
   * The app's processes' memory during the window (every process of its process group, sampled by the runner from
   * /proc; Linux only). Absent where it could not be sampled.
   */
  memory?: ProcessMemory[];
  /** The app's offload pool over the window (its GET /stats `blockingIo.pool`, read before and after), when it has one. */
  offloadPool?: OffloadPoolCounts;
}

export interface LoadRoute extends RequestStats {
  method: string;
  /** The paths sent for it, placeholders as `{name}`, query left out: "/users/{userId}/timeline"; a --path as given. */
  paths: string[];
  /**
   * The route's latencies (µs) as an HDR histogram, compressed base64 (hdr-histogram-js
   * encodeIntoCompressedBase64): load routes that meet on one app route are merged through it.
   */
  histogram?: string;
}

/** lab.json — one lab run across stages. */
export interface LabFile {
  id: string;
  startedAt: string;
  endedAt?: string;
  complete: boolean;
  reason?: string;
  settings: { profiler: ProfilerName; load: LoadSettings; workers?: number; scale?: number };
  stages: LabStage[];
  /**
   * A story lab (`looplens lab --story <name>`): its name and its stages as planned — what each changes, and its
   * workers. Absent for the main lab (target-app's stages).
   */
  story?: LabStory;
  /** How and where the lab ran, so that figures quoted from it can say so (scripts/readme-lab.ts). */
  recorded?: LabRecord;
}

export interface LabRecord {
  /** The looplens command line, e.g. ["looplens", "lab", "--duration", "3"]. */
  command: string[];
  /** The machine's 1-, 5- and 15-minute load averages when the lab started, and when it ended. */
  loadAverageStart: number[];
  loadAverageEnd?: number[];
  /** Server versions, e.g. "15.20 (Debian 15.20-0+deb12u1)" and "7.0.15". */
  postgres?: string;
  redis?: string;
  /** Whether the database had to be seeded before the stages, and how long that took. */
  seed?: { skipped: boolean; ms: number };
}

export interface LabStage {
  stage: string;
  /** The run folder's name, relative to the lab folder. */
  run: string;
  /** Cluster workers the stage ran (when it set WORKERS). */
  workers?: number;
  summary: Summary;
}

export interface LabStory {
  name: string;
  /** One line: what the story shows. */
  title: string;
  stages: { stage: string; changes: string; workers?: number }[];
}

/** findings.json — what `looplens diagnose` recognised. */
export interface Finding {
  kind:
    | 'blocking-call'
    | 'n-plus-one'
    | 'serial-external-calls'
    | 'unawaited-work-on-critical-path'
    | 'connection-per-request'
    | 'cacheable-reads'
    | 'pool-starvation'
    | 'serial-independent-queries'
    | 'cpu-hotspot'
    | 'memory-growth'
    | 'gc-pressure';
  /** Stable identity across runs ("<kind> <route> <subject>"): compare matches findings of base and head by it. */
  key: string;
  route: string | null;
  title: string;
  /** The numbers behind the finding; `estimate` says how savingMsPerRequest was derived. */
  evidence: Record<string, unknown>;
  /** Estimated ms per request (of `route`) a fix would save. */
  savingMsPerRequest: number;
  /** The fix, in one sentence. */
  fix: string;
  /** An example trace to open (the request closest to the median). */
  traceId?: string;
}

export interface FindingsFile {
  /** Most impactful first (saving × requests of the route). */
  findings: Finding[];
  /** When written, ISO 8601. */
  generatedAt?: string;
  /** Which trace file the span-based rules read ("traces.otlp.json", "traces.jaeger.json"), or null when none. */
  source?: string | null;
  /** Requests seen in the traces. */
  requests?: number;
  /** What limited the diagnosis (e.g. a missing file). */
  notes?: string[];
}

/** Jaeger UI JSON-file format (traces.jaeger.json). Times in microseconds. */
export interface JaegerFile {
  data: JaegerTrace[];
  /** Present when spans were dropped past LOOPLENS_MAX_SPANS: how many, and the cap. */
  looplens?: { droppedSpans: number; maxSpans: number };
}
export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: JaegerTag[] }>;
}
export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }[];
  startTime: number;
  duration: number;
  tags: JaegerTag[];
  logs: { timestamp: number; fields: JaegerTag[] }[];
  processID: string;
  flags?: number;
  warnings?: string[] | null;
}
export interface JaegerTag {
  key: string;
  type: 'string' | 'bool' | 'int64' | 'float64' | 'binary';
  value: string | number | boolean;
}

/** listen.json — every TCP server the app's processes started listening, in order (written by the probes). */
export interface ListenFile {
  servers: ListeningServer[];
}

export interface ListeningServer {
  pid: number;
  port: number;
  /** As server.address() says: "127.0.0.1", "::", "0.0.0.0"… */
  address: string;
  family: string;
  /** An http or https server (not a plain net.Server). */
  http: boolean;
  /** Epoch ms when it listened. */
  atMs: number;
}

/**
 * sourcemaps.json — source maps the app's loader kept in memory (tsx compiles .ts in memory; Node keeps maps with
 * --enable-source-maps), keyed by the script URL its CPU-profile frames name; `sourcesContent` left out.
 */
export interface SourceMapsFile {
  maps: Record<string, RawSourceMap>;
}

/** A source map (version 3), as the loader produced it. */
export interface RawSourceMap {
  version: number;
  sources: (string | null)[];
  mappings: string;
  names?: string[];
  sourceRoot?: string;
  file?: string;
}
