/**
 * Starts the probes inside the app (called by the preload entries) and writes the run files at the end:
 * eventloop.jsonl and memory.jsonl (every second), heap.heapprofile (at exit), blocking.json (every few seconds, final at exit), profile.cpuprofile,
 * traces.otlp.json and traces.jaeger.json (at exit). Everything is flushed on SIGINT, SIGTERM, beforeExit and
 * process.exit; timers are unref()'d so the probes never keep the app alive.
 */
import cluster from 'node:cluster';
import dc from 'node:diagnostics_channel';
import { mkdirSync } from 'node:fs';
import { join, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BlockingEvent, BlockingFile } from '../profiles/contract/types.js';
import { RUN_FILES } from '../profiles/contract/types.js';
import { writeRunJson, writeTextAtomic } from '../profiles/contract/write.js';
import { BlockDetector, type Block } from './blocking/detector.js';
import { openRunQueueClock } from './blocking/runqueue.js';
import {
  formatStackLine,
  indexProfile,
  longestBusyStretch,
  stackInWindow,
  type ProfileIndex,
  type WindowStack,
} from './blocking/stacks.js';
import { ArmingMonitor, TICK_MS, type UnarmedWindow } from './blocking/arming.js';
import { Watchdog } from './blocking/watchdog.js';
import type { ProbeConfig } from './config.js';
import { CpuProfiler } from './cpu-profiler.js';
import { OwnerTimeline, ownSamples } from './cpu-owners.js';
import { EventLoopSampler } from './eventloop.js';
import { HeapSampler } from './heap-profiler.js';
import { MemorySampler } from './memory.js';
import { readRunPhase } from '../profiles/contract/run-phase.js';
import { writeLoaderSourceMaps } from './source-maps.js';
import { requestChannelOwners, type OwnerModel, type RecordedBlock, type ResolvedBlock } from './owners.js';
import { requestIdentity, workItemIdentity, type RequestIdentity } from './request-identity.js';
import { sampledSpansOtlp } from './sampled-traces.js';
import { otlpToJaeger } from '../profiles/contract/jaeger.js';
import type { startTracing } from './tracing.js';
import type { LiveExport, startExport } from './export.js';
import { MessagePort, threadId } from 'node:worker_threads';
import { THREAD_FINISH_MS, threadCoordinator, threadFinisher } from './threads.js';

const FLUSH_EVERY_MS = 5000;
/** Request start times kept for recovering the block that armed the detector (a ring; see recoverArmingBlocks). */
const REQUEST_STARTS_KEPT = 4096;
const PENDING = '(pending: stack resolved at exit)';

export type TracingModule = { startTracing: typeof startTracing };
/** probes/export.ts: loaded only with an OTLP endpoint and no SDK tracing (the production preset). */
export type ExportModule = { startExport: typeof startExport };

export interface Probes {
  /** Writes every file now and stops the probes (idempotent). */
  finish(): void;
}

export function startProbes(
  config: ProbeConfig,
  tracingModule: TracingModule | null,
  probesDir: string,
  exportModule: ExportModule | null = null,
): Probes | null {
  const out = config.out;
  if (!out) return null;
  mkdirSync(out, { recursive: true });
  // Node processes the app starts inherit NODE_OPTIONS: they see this and write into children/<pid>/.
  process.env.LOOPLENS_PROBE_PID ??= String(process.pid);

  let detector: BlockDetector | null = null;
  // The probes' own timers are never blocks of the app.
  const ownWork = () => detector?.ignoreCurrent();
  const sampler = new EventLoopSampler(join(out, RUN_FILES.eventloop), ownWork);
  sampler.start();
  // memory.jsonl every second; heap.heapprofile at exit, its sampler following run.json into the window (heap-profiler.ts)
  // on by default under looplens profile / lab (run.json beside the files), off when preloaded by hand unless asked for
  const heapOn = config.heapProfile === 'auto' ? config.runDir !== null && readRunPhase(config.runDir) !== null : config.heapProfile;
  const heap = heapOn ? new HeapSampler(config.heapIntervalBytes, config.runDir, ownWork) : null;
  if (heap && !heap.start()) process.stderr.write('looplens probes: the heap profiler is in use by another inspector client: no heap.heapprofile\n');
  const memory = new MemorySampler(join(out, RUN_FILES.memory), clockOffsetMs, () => {
    ownWork();
    heap?.tick();
  });
  memory.start();

  const tracing = tracingModule && config.tracing ? tracingModule.startTracing(config) : null;
  // live export of blocks and loop metrics when the SDK does not trace (with tracing, NodeSDK exports spans and metrics)
  const live: LiveExport | null =
    exportModule && !tracing && config.otlpEndpoint ? exportModule.startExport({ serviceName: config.serviceName, loop: () => sampler.last }) : null;
  // production preset: identity by AsyncLocalStorage, no spans; a worker thread: its work items (request-identity.ts)
  const identity: RequestIdentity | null =
    !tracing && config.preset === 'production' && !config.workerThread
      ? requestIdentity({ sampleRate: config.traceSampleRate, maxSpans: config.maxSpans })
      : null;
  const owners: OwnerModel = tracing ?? identity ?? (config.workerThread ? workItemIdentity(MessagePort) : requestChannelOwners());
  const blocks: RecordedBlock[] = [];
  let blockCount = 0;
  /** Blocks whose stacks an earlier cut of the profile resolved (rotation), oldest first, at most config.maxBlocks. */
  const resolvedEvents: BlockingEvent[] = [];
  /** Their owners, index by index (a sampled request's span is kept for its blocks: request-identity.ts). */
  const resolvedOwners: (object | null)[] = [];
  let droppedBlocks = 0;
  const keepBlock = (recorded: RecordedBlock) => {
    blocks.push(recorded);
    // bounded: past the cap the oldest unresolved block goes (its stack is never looked up)
    if (blocks.length + resolvedEvents.length > config.maxBlocks) {
      if (resolvedEvents.length) {
        resolvedEvents.shift();
        resolvedOwners.shift();
      } else blocks.shift();
      droppedBlocks++;
    }
  };
  /** A block as written: its id, when it started on the clock span times use, and how it was found. */
  const record = (block: Block, found: RecordedBlock['found']): RecordedBlock => ({
    ...block,
    // unique in the run folder: a worker thread's say their thread ("<pid>:t<threadId>.<n>")
    id: config.workerThread ? `${process.pid}:t${threadId}.${++blockCount}` : `${process.pid}:${++blockCount}`,
    startEpochMs: performance.timeOrigin + block.start + clockOffsetMs(),
    found,
  });
  const runQueue = config.blocking ? openRunQueueClock() : null;
  // span profile: who ran each callback, to charge every CPU sample to its request (cpu-owners.ts)
  const timeline = config.spanProfile ? new OwnerTimeline() : null;
  detector = config.blocking
    ? new BlockDetector({
        thresholdMs: config.thresholdMs,
        currentOwner: owners.currentOwner,
        rootOf: owners.rootOf,
        runQueueWaitMs: runQueue?.read,
        onSlice: timeline ? (root, start, end) => timeline.record(root, start, end) : undefined,
        onRunQueue: timeline && runQueue ? (t, waitMs) => timeline.recordWait(t, waitMs) : undefined,
        onBlock(block) {
          const recorded = record(block, 'timed');
          keepBlock(recorded);
          owners.onBlock?.(recorded);
        },
      })
    : null;
  const requestStarts = detector && config.blockDetect === 'auto' ? requestStartLog() : null;
  // Who runs while the detector is not armed (the block that arms it): see blocking/watchdog.ts.
  const watchdog = requestStarts ? new Watchdog({ tickMs: TICK_MS, thresholdMs: config.thresholdMs, currentOwner: owners.currentOwner }) : null;
  watchdog?.start();
  const arming =
    detector && requestStarts
      ? new ArmingMonitor({
          thresholdMs: config.thresholdMs,
          onArm: () => {
            watchdog?.setArmed(true);
            detector?.enable();
          },
          onDisarm: () => {
            detector?.disable();
            watchdog?.setArmed(false);
          },
          onTick: () => watchdog?.beat(),
          ownWork,
          runQueueWaitMs: runQueue?.read,
          requestStartsIn: requestStarts.between,
        })
      : null;
  if (detector) {
    owners.attach(detector);
    const begin = () => (arming ? arming.start() : detector?.enable());
    // a worker thread serves no connections: its detection starts with it
    if (config.blockFromStart || config.workerThread) begin();
    else {
      // Start-up (module loading, JIT warm-up before the server takes traffic) is not what the lab looks at:
      // detection starts with the first connection a server accepts.
      const onFirstConnection = () => {
        dc.unsubscribe('net.server.socket', onFirstConnection);
        if (!finished) begin();
      };
      dc.subscribe('net.server.socket', onFirstConnection);
    }
  }
  const profiler = new CpuProfiler();
  // One sampler serves both the whole-run profile and the block stacks: every LOOPLENS_CPU_PROFILE_INTERVAL_US
  // (default a quarter of the threshold, 1–5 ms: 5 ms at 20 ms; see probes/README.md, "Overhead").
  const intervalUs = config.cpuProfileIntervalUs;
  const profiling = (config.cpuProfile || detector !== null) && profiler.start(intervalUs);

  let forked = false;
  if (cluster.isPrimary) cluster.once('fork', () => (forked = true));

  const toEvent = (block: RecordedBlock, stack: WindowStack | null): BlockingEvent => {
    const ids = block.owner ? owners.describe(block.owner) : { route: null, traceId: null, spanId: null };
    if (ids.workItem === undefined) delete ids.workItem;
    return {
      id: block.id,
      found: block.found,
      startMs: Math.round(block.startEpochMs * 1000) / 1000,
      durationMs: Math.round(block.busyMs * 100) / 100,
      ...ids,
      topFrame: stack ? stack.topFrame : PENDING,
      frames: stack ? stack.frames : [],
    };
  };
  const writeBlocking = (events: BlockingEvent[]) => {
    const file: BlockingFile = { thresholdMs: config.thresholdMs, events };
    if (runQueue && detector) file.descheduled = { ...detector.descheduled, totalMs: Math.round(detector.descheduled.totalMs) };
    if (arming) file.armed = arming.armedStats();
    if (droppedBlocks) file.droppedBlocks = droppedBlocks;
    writeRunJson(out, 'blocking', file);
  };

  let written = 0;
  const flushTimer = detector
    ? setInterval(() => {
        ownWork();
        if (blocks.length === written) return;
        written = blocks.length;
        try {
          writeBlocking([...resolvedEvents, ...blocks.map((b) => toEvent(b, null))]);
        } catch {
          // best effort: the final write at exit is the one that counts
        }
      }, FLUSH_EVERY_MS).unref()
    : undefined;

  const cwd = process.cwd();
  const exclude = [probesDir, `file://${probesDir}`].map((p) => (p.endsWith(sep) ? p : p + sep));
  /**
   * Resolves the stacks of every block the profile covers (the one that armed the detector recovered from it first)
   * and writes blocking.json, the trace files and the profile. At exit (`final`); under rotation also every
   * config.rotateS, the profiler restarted right after, so neither the profile nor the blocks grow for days.
   */
  const resolveWith = (profile: ReturnType<CpuProfiler['stop']>, final: boolean) => {
    const index = profile ? indexProfile(profile) : null;
    if (profile && final) writeLoaderSourceMaps(out, profile, exclude);
    if (index && arming) {
      for (const block of recoverArmingBlocks(index, arming.unarmedWindows.splice(0), profiler, config, intervalUs, watchdog)) {
        // charged to the request the watchdog saw running in it, else to the one whose spans started in it
        block.owner = ownerSeenIn(block, watchdog, owners, intervalUs / 1000);
        block.root = block.owner ? owners.rootOf(block.owner) : null;
        const recorded = record(block, 'recovered');
        keepBlock(recorded);
        owners.onBlock?.(recorded);
      }
      blocks.sort((a, b) => a.start - b.start);
    }
    const resolved: ResolvedBlock[] = [];
    const events = blocks.map((block) => {
      const stack = index
        ? stackInWindow(index, profiler.toProfileUs(block.start), profiler.toProfileUs(block.end), { cwd, excludeUrlPrefixes: exclude })
        : { topFrame: '(no cpu profile)', frames: [], samples: 0 };
      resolved.push({
        block,
        topFrame: stack.topFrame,
        stack: stack.frames.map(formatStackLine).join('\n'),
      });
      return toEvent(block, stack);
    });
    for (const e of events) live?.block(e);
    if (!final) {
      // rotation (no tracing): the resolved events, and their owners, are all that is kept of these blocks
      resolvedEvents.push(...events);
      resolvedOwners.push(...blocks.map((b) => b.owner));
      blocks.length = 0;
      written = 0;
    }
    // a cut that resolved nothing new rewrites neither blocking.json nor the traces (both can be megabytes)
    const changed = final || events.length > 0;
    if (detector && changed) writeBlocking(final ? [...resolvedEvents, ...events] : resolvedEvents);
    tracing?.writeFiles(resolved, join(out, RUN_FILES.tracesOtlp), join(out, RUN_FILES.tracesJaeger), writeTextAtomic);
    if (identity && changed) {
      // every block's sampled span stays in the file, even once the ring of recent requests let it go
      const sampledSpans = identity.sampledSpans([...resolvedOwners, ...blocks.map((b) => b.owner)]);
      const otlp = sampledSpansOtlp(sampledSpans.spans, config.serviceName, [...resolvedEvents, ...(final ? events : [])]);
      writeTextAtomic(join(out, RUN_FILES.tracesOtlp), JSON.stringify(otlp));
      // the Jaeger UI's file of the same spans (profiles/contract/jaeger.ts), as with full tracing
      const jaeger = otlpToJaeger(otlp);
      if (sampledSpans.dropped > 0) jaeger.looplens = { droppedSpans: sampledSpans.dropped, maxSpans: config.maxSpans };
      writeTextAtomic(join(out, RUN_FILES.tracesJaeger), JSON.stringify(jaeger));
    }
    if (config.cpuProfile && profile) {
      profile.looplens = { epochOffsetMs: profiler.epochOffsetMs(clockOffsetMs()), cwd, pid: process.pid };
      if (timeline) {
        const describe = (root: object) => {
          const { traceId, spanId, route } = owners.describe(root);
          return { traceId, spanId, route };
        };
        Object.assign(profile.looplens, ownSamples(profile, timeline, (us) => profiler.fromProfileUs(us), describe));
      }
      writeTextAtomic(join(out, RUN_FILES.cpuprofile), JSON.stringify(profile));
    }
  };

  const rotating = config.rotateS > 0 && !tracing && profiling;
  const rotateTimer = rotating
    ? setInterval(() => {
        ownWork();
        if (finished || cluster.isPrimary && forked) return;
        // the run the detector is building ended before this timer: reported now, it is resolved with this cut
        detector?.flush();
        // the next profile starts before this one stops (cpu-profiler.ts rotate)
        const profile = profiler.rotate(intervalUs);
        if (!profile) return;
        try {
          resolveWith(profile, false);
        } catch (err) {
          process.stderr.write(`looplens probes: could not write the run files in ${out}: ${(err as Error).message}\n`);
        }
      }, config.rotateS * 1000).unref()
    : undefined;

  // worker threads get no 'exit' when the process ends: the main thread has them write their files (threads.ts)
  const threads = config.workerThread ? null : threadCoordinator();
  const finisher = config.workerThread ? threadFinisher(() => finish()) : null;

  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    // waiting for the threads' files (up to THREAD_FINISH_MS) is the probes' own time, not a block of the app's
    ownWork();
    threads?.finishAll(THREAD_FINISH_MS);
    threads?.close();
    finisher?.close();
    // the heap first: its full GC and live profile before the probes build their own files
    const heapFile = heap?.stop(process.pid, cwd) ?? null;
    clearInterval(flushTimer);
    clearInterval(rotateTimer);
    arming?.stop();
    watchdog?.stop();
    requestStarts?.close();
    detector?.disable();
    runQueue?.close();
    const profile = profiling ? profiler.stop() : null;
    // A cluster primary only balances connections: its workers write their own files under workers/<pid>/.
    const primaryOnly = cluster.isPrimary && forked;
    try {
      if (!primaryOnly) resolveWith(profile, true);
    } catch (err) {
      process.stderr.write(`looplens probes: could not write the run files in ${out}: ${(err as Error).message}\n`);
    }
    identity?.close();
    // live export: start sending now — an app with its own SIGINT handler may exit before onSignal could wait
    void live?.flush(1000);
    try {
      if (heapFile && !primaryOnly) writeTextAtomic(join(out, RUN_FILES.heapProfile), JSON.stringify(heapFile));
    } catch (err) {
      process.stderr.write(`looplens probes: could not write ${RUN_FILES.heapProfile} in ${out}: ${(err as Error).message}\n`);
    }
    memory.stop();
    sampler.stop();
  };

  const onSignal = (signal: NodeJS.Signals) => {
    finish();
    // Only the probes listen: restore the default action (terminate by the signal) once live export is flushed.
    if (process.listenerCount(signal) === 1) {
      process.removeListener(signal, onSignal);
      const raise = () => process.kill(process.pid, signal);
      if (tracing) tracing.flushLive(1000).then(raise, raise);
      else if (live) live.flush(1000).then(raise, raise);
      else raise();
    }
  };
  // (a worker thread receives no signals; its main thread's probes finish it)
  if (!config.workerThread) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  process.once('beforeExit', finish);
  process.once('exit', finish);
  return { finish };
}

/**
 * Wall clock minus the monotonic one (ms): OpenTelemetry stamps a span from Date.now() at its start and measures on
 * from there, so a block stamped on the same wall clock lines up with its spans; read when the block is recorded, so
 * a wall clock that was adjusted since start does not shift blocks against spans.
 */
function clockOffsetMs(): number {
  return Date.now() - (performance.timeOrigin + performance.now());
}

/**
 * The owner of a block nothing timed (the one that armed the detector): the request the watchdog saw running in it
 * most often; else the request whose spans started in it (a synchronous driver's query spans do) or within one
 * sampling interval before it (the profile sees a stretch begin only at its first sample: the span the callback
 * entered first starts before that); else none.
 */
function ownerSeenIn(block: Block, watchdog: Watchdog | null, owners: OwnerModel, sampleMs: number): object | null {
  const marks = watchdog?.marksIn(block.start, block.end) ?? [];
  const seen = marks.length ? marks.map((m) => m.owner) : (owners.activityIn?.(block.start - sampleMs, block.end) ?? []);
  const byRoot = new Map<object, { owner: object; n: number }>();
  for (const owner of seen) {
    if (!owner) continue;
    const root = owners.rootOf(owner);
    const entry = byRoot.get(root);
    if (entry) {
      entry.n++;
      entry.owner = owner;
    } else byRoot.set(root, { owner, n: 1 });
  }
  let best: { owner: object; n: number } | null = null;
  for (const entry of byRoot.values()) if (!best || entry.n > best.n) best = entry;
  return best?.owner ?? null;
}

/**
 * When requests start (Node's `http.server.request.start` channel), kept in a ring: one number a request. The
 * arming window's request starts split its busy stretch per request (see recoverArmingBlocks).
 */
function requestStartLog(): { between(from: number, to: number): number[]; close(): void } {
  const times = new Float64Array(REQUEST_STARTS_KEPT);
  let next = 0;
  const onStart = () => {
    times[next++ % REQUEST_STARTS_KEPT] = performance.now();
  };
  dc.subscribe('http.server.request.start', onStart);
  return {
    between(from, to) {
      const found: number[] = [];
      for (let i = Math.max(0, next - REQUEST_STARTS_KEPT); i < next; i++) {
        const t = times[i % REQUEST_STARTS_KEPT];
        if (t >= from && t <= to) found.push(t);
      }
      return found;
    },
    close: () => dc.unsubscribe('http.server.request.start', onStart),
  };
}

/**
 * The block that armed the detector (auto mode) happened while nothing timed callbacks: take the longest busy
 * stretch the CPU profile saw in the window before arming, split where a request started (requests handled back to
 * back in one late loop turn are each their own stretch, not one lump). Its owner is found afterwards (ownerSeenIn).
 */
function recoverArmingBlocks(
  index: ProfileIndex,
  windows: readonly UnarmedWindow[],
  profiler: CpuProfiler,
  config: ProbeConfig,
  intervalUs: number,
  watchdog: Watchdog | null,
): Block[] {
  const found: Block[] = [];
  for (const w of windows) {
    // Idle samples and request starts end a stretch, gaps only past the threshold: on a loaded machine the sampler
    // itself can miss several intervals — and a gap the watchdog saw the loop held through, or one the thread spent
    // off the CPU, does not end it either.
    const stretch = longestBusyStretch(index, profiler.toProfileUs(w.from), profiler.toProfileUs(w.to), config.thresholdMs * 1000, {
      breaksUs: w.requestStarts.map((t) => profiler.toProfileUs(t)),
      bridgesUs: (watchdog?.marksIn(w.from, w.to) ?? []).map((m) => profiler.toProfileUs(m.t)),
      offCpuUs: w.waitMs * 1000,
    });
    if (!stretch) continue;
    const wallMs = (stretch[1] - stretch[0] + intervalUs) / 1000;
    // The time the OS kept the thread off the CPU in the window is not the app's: taken out pro rata (the profile
    // does not say where in the window it fell).
    const busyMs = wallMs - (w.waitMs * wallMs) / Math.max(wallMs, w.to - w.from);
    if (busyMs < config.thresholdMs) continue;
    const start = profiler.fromProfileUs(stretch[0]);
    found.push({ start, end: start + wallMs, busyMs, owner: null, root: null });
  }
  return found;
}
