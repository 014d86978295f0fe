/**
 * `profile` as a library: start the app (probes preloaded, optionally under a profiler), wait until it listens, warm
 * up, measure, stop it with SIGINT, collect, and write the run folder. Never exits the process; throws LooplensError.
 * On any failure or abort the app's whole process group is stopped and run.json says complete:false and why.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RUN_FILES, type LoadFile, type LoadSettings, type ProcessMemory, type ProfilerName, type RunInfo, type Summary } from '../../profiles/contract/types.js';
import { writeRunJson } from '../../profiles/contract/write.js';
import { writeFindings } from '../diagnose/index.js';
import { LooplensError, withPhase } from '../errors.js';
import { runLoad, type LoadResult } from '../load/run.js';
import { loadProblem } from '../load/check.js';
import type { IdRanges, Scenario } from '../load/scenario.js';
import { PROFILER_ADAPTERS } from '../profilers/index.js';
import type { Progress } from '../progress.js';
import { mergeWorkers, writeDerived, writeSummaryMd } from './collect.js';
import { readCacheCounters, readOffloadPool } from './app-stats.js';
import { cacheWindow } from '../analysis/cache.js';
import { offloadPoolWindow } from '../analysis/offload.js';
import { sampleMemory } from './memory.js';
import { freePort, hostPort, killApp, portInUse, signalGroup, startApp, stopApp, waitForPort, yieldToSignals, type AppProcess } from './process.js';
import { reportedListenTarget } from './listen.js';
import { RunJson, appLabel, createRunFolder, gitSha, machineInfo, timestamp } from './runfolder.js';

/** The project root (where dist/ lives), from this compiled module's location: dist/scripts/profile/run.js. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ProfileLoad {
  durationS: number;
  warmupS: number;
  connections: number;
  rate?: number;
  scenario: Scenario;
  /** How the scenario was given (name or file), for run.json. */
  scenarioLabel?: string;
  /** When the load is plain --path requests. */
  paths?: string[];
  ids: IdRanges;
  seed?: number;
}

export interface ProfileOptions {
  command: string[];
  /** Where relative paths in the command resolve and the app runs. */
  cwd: string;
  /** Parent folder of run folders (default <cwd>/profiles). */
  profilesDir?: string;
  /** Exact run folder (must be missing or empty). */
  out?: string;
  /** Run folder name (default <timestamp>-<stage|app>-<profiler>). */
  name?: string;
  stage?: string;
  profiler: ProfilerName;
  port?: number;
  readyTimeoutS?: number;
  /**
   * Seconds the app (and its profiler, analysis included) may take to exit after SIGINT before its process tree is
   * killed and the run marked incomplete (default: the profiler's own, ANALYSIS_TIMEOUT_DEFAULTS).
   */
  analysisTimeoutS?: number;
  load: ProfileLoad;
  workers?: number;
  tracing?: boolean;
  /**
   * The probes' preset: `lab` (default) or `production` (LOOPLENS_PRESET=production: no span per request, a sampled
   * share of requests as spans; probes/README.md, "The production preset").
   */
  preset?: 'lab' | 'production';
  /** Take the sampling heap profile too (LOOPLENS_HEAP_PROFILE=1); off unless asked (or set in the environment). */
  heap?: boolean;
  /** Extra environment for the app (DATABASE_URL, …). */
  env?: NodeJS.ProcessEnv;
  baseEnv?: NodeJS.ProcessEnv;
}

export interface ProfileResult {
  dir: string;
  info: RunInfo;
  summary: Summary;
  /**
   * Set when the app or its profiler did not finish within the analysis timeout: the run kept what it had (summary,
   * flamegraph) but run.json says complete:false; the CLI prints this error after the results. Also set when the load
   * measured nothing (RUN_EMPTY, RUN_ERRORS: ../load/check.ts), the run's files kept the same way.
   */
  incomplete?: LooplensError;
}

/** The analysis timeout for a profiler: the --analysis-timeout help and profiles/README.md quote these. */
export function analysisTimeoutMessage(profiler: ProfilerName, timeoutS: number): { message: string; fix: string } {
  const who = profiler === 'none' ? 'the app' : `${profiler === '0x' ? '0x' : `clinic ${profiler}`}`;
  return {
    message: `${who} did not finish within ${timeoutS} s of SIGINT${profiler === 'none' ? '' : ' (its analysis included)'}; looplens killed its process tree and kept what the run has`,
    fix:
      profiler === 'bubbleprof'
        ? 'clinic bubbleprof is known to hang after collecting (node-clinic#477): use --profiler doctor or flame, or raise --analysis-timeout'
        : profiler === 'none'
          ? 'make the app exit on SIGINT, or raise --analysis-timeout'
          : 'raise --analysis-timeout',
  };
}

/** The memory samples taken inside the load window (processes without one left out). */
function memoryInWindow(list: ProcessMemory[], window: { startMs: number; endMs: number }): ProcessMemory[] {
  return list
    .map((p) => ({ ...p, samples: p.samples.filter((s) => s.t >= window.startMs && s.t <= window.endMs) }))
    .filter((p) => p.samples.length > 0);
}

export interface ProfileHooks {
  progress: Progress;
  signal?: AbortSignal;
}

export function probePaths(root = PROJECT_ROOT): { esm: string; cjs: string } {
  return { esm: join(root, 'dist/probes/register.js'), cjs: join(root, 'dist/probes/preload.cjs') };
}

export function isNodeCommand(cmd: string): boolean {
  return cmd === process.execPath || /^node(js)?(\d+)?(\.exe)?$/.test(basename(cmd));
}

/** Puts the probe preload into the app command (node flags) or, for other commands, into NODE_OPTIONS (extended). */
export function withPreload(command: string[], preload: 'esm' | 'cjs', env: NodeJS.ProcessEnv, root = PROJECT_ROOT): { command: string[]; env: NodeJS.ProcessEnv } {
  const paths = probePaths(root);
  const file = preload === 'esm' ? paths.esm : paths.cjs;
  if (!existsSync(file)) {
    throw new LooplensError('BUILD_MISSING', `the probes are not built (${file} is missing)`, 'run `npm run build` in the looplens folder');
  }
  const flag = preload === 'esm' ? ['--import', pathToFileURL(file).href] : ['--require', file];
  if (isNodeCommand(command[0])) return { command: [command[0], ...flag, ...command.slice(1)], env };
  const opt = `${flag[0]} ${JSON.stringify(flag[1])}`;
  return { command, env: { ...env, NODE_OPTIONS: env.NODE_OPTIONS ? `${env.NODE_OPTIONS} ${opt}` : opt } };
}

async function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) throw signal.reason;
  let onAbort: () => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([p, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

export function loadSettingsOf(load: Omit<ProfileLoad, 'ids'>): LoadSettings {
  return {
    durationS: load.durationS,
    warmupS: load.warmupS,
    connections: load.connections,
    ...(load.rate ? { rate: load.rate } : {}),
    ...(load.paths ? { paths: load.paths } : { scenario: load.scenarioLabel ?? load.scenario.name }),
  };
}

/** Creates the run folder (options.out, or a new one under profilesDir) and its run.json: complete:false, phase start. */
export function openRunFolder(options: ProfileOptions, load: LoadSettings = loadSettingsOf(options.load)): RunJson {
  const profilesDir = options.profilesDir ?? join(options.cwd, 'profiles');
  const name = options.name ?? `${timestamp()}-${appLabel(options.command, options.stage)}-${options.profiler}`;
  const dir = createRunFolder(profilesDir, name, options.out);
  const sha = gitSha(PROJECT_ROOT);
  return new RunJson(dir, {
    schemaVersion: 1,
    id: basename(dir),
    command: options.command,
    ...(options.stage ? { stage: options.stage } : {}),
    profiler: options.profiler,
    load,
    ...(options.workers ? { workers: options.workers } : {}),
    ...(sha ? { gitSha: sha } : {}),
    ...machineInfo(),
    startedAt: new Date().toISOString(),
    complete: false,
    phase: 'start',
  });
}

export async function profile(options: ProfileOptions, hooks: ProfileHooks): Promise<ProfileResult> {
  const { progress, signal } = hooks;
  const adapter = PROFILER_ADAPTERS[options.profiler];
  if (!adapter) throw new LooplensError('UNKNOWN_PROFILER', `unknown profiler "${options.profiler}"`, `use one of: ${Object.keys(PROFILER_ADAPTERS).join(', ')}`);
  if (options.command.length === 0) {
    throw new LooplensError('USAGE_MISSING_COMMAND', 'no app command given', 'put it after --, e.g. looplens profile -- node server.js');
  }
  if (adapter.requiresNode && !isNodeCommand(options.command[0])) {
    throw new LooplensError('USAGE_BAD_VALUE', `--profiler ${adapter.name} needs a node command, got "${options.command[0]}"`, 'start the app as -- node <script> …');
  }
  const baseEnv = options.baseEnv ?? process.env;
  // the preload is checked before anything is created
  const pre = withPreload(options.command, adapter.preload, baseEnv);

  if (options.port !== undefined && (await portInUse(options.port))) {
    throw new LooplensError('PORT_IN_USE', `port ${options.port} is already in use`, 'stop whatever listens there, pass another --port, or omit --port to get a free one');
  }
  const port = options.port ?? (await freePort());
  adapter.preflight?.(options.cwd);

  const run = openRunFolder(options);
  const dir = run.dir;
  if (options.preset === 'production') {
    const rate = Number(options.env?.LOOPLENS_TRACE_SAMPLE_RATE ?? options.baseEnv?.LOOPLENS_TRACE_SAMPLE_RATE ?? 0.01);
    run.note(`production preset: no span per request; blocks charged to their route and function by request identity alone, ${Number.isFinite(rate) ? Math.round(Math.min(1, Math.max(0, rate)) * 1000) / 10 : 1} % of requests sampled as one span each (LOOPLENS_TRACE_SAMPLE_RATE)`);
  }

  const phase = (p: string, detail = '') => {
    progress.enter(p, detail);
    run.update({ phase: p });
  };

  let app: AppProcess | undefined;
  const active = { run };
  ACTIVE.add(active);
  installExitGuard();
  try {
    const env: NodeJS.ProcessEnv = {
      ...pre.env,
      ...options.env,
      PORT: String(port),
      HOST: options.env?.HOST ?? '127.0.0.1',
      LOOPLENS_OUT: dir,
      LOOPLENS_CPU_PROFILE: '1',
      LOOPLENS_TRACING: options.tracing === false ? '0' : '1',
      ...(options.preset === 'production' ? { LOOPLENS_PRESET: 'production' } : {}),
      ...(options.heap ? { LOOPLENS_HEAP_PROFILE: '1' } : {}),
      OTEL_SERVICE_NAME: options.env?.OTEL_SERVICE_NAME ?? (options.stage ? `target-app-${options.stage}` : appLabel(options.command)),
      ...(options.stage ? { STAGE: options.stage } : {}),
      ...(options.workers ? { WORKERS: String(options.workers) } : {}),
    };
    const spec = adapter.wrap({ command: pre.command, runDir: dir, env });
    phase('starting', `waiting for the app to listen on 127.0.0.1:${port}`);
    app = startApp(spec.command, { env: spec.env, cwd: options.cwd, logFile: join(dir, RUN_FILES.appLog) });
    // the app may ignore PORT and listen where it likes: the probes report where (listen.json), and it is loaded there
    const reached = await waitForPort(app, port, (options.readyTimeoutS ?? 30) * 1000, signal, '127.0.0.1', () => reportedListenTarget(dir));
    if (reached.port !== port || reached.host !== '127.0.0.1') {
      const note = `the app listens on ${hostPort(reached)} of its own, not on PORT ${port}${options.port !== undefined ? ' (--port)' : ''}: it was loaded there`;
      run.note(note);
      progress.update(note);
    }

    const url = `http://${hostPort(reached)}`;
    const drive = async (durationS: number, label: string): Promise<LoadResult> => {
      const inner = new AbortController();
      const stopInner = () => inner.abort(signal?.reason);
      signal?.addEventListener('abort', stopInner, { once: true });
      let total = 0;
      const crashed = app!.exited.then(() => {
        inner.abort();
        throw new LooplensError('APP_CRASHED', `the app ${app!.exitInfo?.signal ? `was killed by ${app!.exitInfo.signal}` : `exited with code ${app!.exitInfo?.code}`} during ${label}`, 'see the lines below and app.log in the run folder', {
          details: app!.lastLines(),
        });
      });
      try {
        return await Promise.race([
          runLoad({
            url,
            scenario: options.load.scenario,
            ids: options.load.ids,
            connections: options.load.connections,
            durationS,
            rate: options.load.rate,
            seed: options.load.seed ?? (label === 'warmup' ? 7 : 1),
            signal: inner.signal,
            onTick: (n) => {
              total += n;
              progress.update(`${n} req/s, ${total} requests, ${durationS} s planned`);
            },
          }),
          crashed,
        ]);
      } finally {
        signal?.removeEventListener('abort', stopInner);
        crashed.catch(() => {});
      }
    };

    if (options.load.warmupS > 0) {
      phase('warmup', `${options.load.warmupS} s, results discarded`);
      const warmup = await drive(options.load.warmupS, 'warmup');
      run.update({ warmup: { startMs: warmup.startMs, endMs: warmup.endMs } });
    }
    // the app's cache counters (target-app's GET /stats), before and after the measured load: the window's figures
    // (one worker answers /stats, so with several workers they would not add up)
    const single = (options.workers ?? 1) <= 1;
    const cacheBefore = single ? await readCacheCounters(url) : null;
    const poolBefore = single ? await readOffloadPool(url) : null;
    if (signal?.aborted) throw signal.reason; // Ctrl-C during the read: drive() would not see an abort that already happened
    phase('load', `${options.load.durationS} s, ${options.load.connections} connections`);
    // every process of the app (its process group: a cluster's primary and workers), twice a second (./memory.ts)
    const memorySampler = sampleMemory(app.pid);
    let load: LoadResult;
    let sampled: ProcessMemory[] = [];
    try {
      load = await drive(options.load.durationS, 'load');
    } finally {
      sampled = memorySampler.stop();
    }
    const memory = memoryInWindow(sampled, load);
    // no request succeeded, or most failed (../load/check.ts): the run still finishes — its files help find out why —
    // but run.json says so and the run fails (RUN_EMPTY / RUN_ERRORS) after its results
    const unmeasured = loadProblem(load.overall);
    const cacheAfter = cacheBefore ? await readCacheCounters(url) : null;
    if (signal?.aborted) throw signal.reason;
    const cache = cacheBefore && cacheAfter ? cacheWindow(cacheBefore, cacheAfter) : null;
    const poolAfter = poolBefore ? await readOffloadPool(url) : null;
    const offloadPool = poolBefore && poolAfter ? offloadPoolWindow(poolBefore, poolAfter) : null;
    // the measured window and what the load generator saw in it: the run's evidence is read over them
    run.update({ window: { startMs: load.startMs, endMs: load.endMs } });
    writeRunJson(
      dir,
      'load',
      { overall: load.overall, routes: load.routes, ...(cache ? { cache } : {}), ...(memory.length ? { memory } : {}), ...(offloadPool ? { offloadPool } : {}) } satisfies LoadFile,
    );

    const stop = options.analysisTimeoutS ? { ...adapter.stop, timeoutMs: options.analysisTimeoutS * 1000 } : adapter.stop;
    phase(
      'stopping',
      adapter.name === 'none'
        ? `SIGINT sent; waiting up to ${stop.timeoutMs / 1000} s for the app to write its files and exit`
        : `SIGINT sent; waiting up to ${stop.timeoutMs / 1000} s for ${adapter.name} to finish its analysis`,
    );
    const { forced } = await abortable(stopApp(app, stop), signal);
    // Timed out: the process tree is gone (stopApp killed it); keep whatever the probes and the profiler wrote, but
    // the run is incomplete and the CLI says so after the results.
    let incomplete: LooplensError | undefined;
    if (forced) {
      const t = analysisTimeoutMessage(adapter.name, stop.timeoutMs / 1000);
      incomplete = new LooplensError('ANALYSIS_TIMEOUT', t.message, t.fix);
      run.note(t.message);
    }

    phase('analysing', 'profiler outputs, stacks, flamegraph, summary');
    try {
      const collected = await abortable(adapter.collect(dir, { forced }), signal);
      for (const n of collected.notes) if (!(run.info.notes ?? []).includes(n)) run.note(n);
      if (collected.outputs.length) run.update({ profilerOutputs: collected.outputs });
    } catch (err) {
      // after a timeout the profiler's report is expected to be missing: that is the note, not a second error
      if (!incomplete || signal?.aborted) throw err;
      run.note((err as Error).message);
    }
    let summary: Summary;
    let findings: ReturnType<typeof writeFindings>['findings'];
    try {
      const merged = mergeWorkers(dir, PROJECT_ROOT);
      if (merged.workers) run.note(`merged the probe files of ${merged.workers} worker processes (workers/<pid>/)`);
      const derived = writeDerived(dir, run.info, PROJECT_ROOT, merged.folded);
      for (const n of derived.notes) if (!(run.info.notes ?? []).includes(n)) run.note(n);
      summary = derived.summary;
      findings = writeFindings(dir, derived.evidence).findings;
    } catch (err) {
      if (!incomplete) throw err;
      // nothing to summarise (the probes' files are missing too): the timeout is the error to report
      throw new LooplensError(incomplete.code, `${incomplete.message.replace(/ and kept what the run has$/, '')}; ${(err as Error).message}`, incomplete.fix, { cause: err });
    }
    // Ctrl-C during the analysis (synchronous: its handler runs only now) makes the run incomplete, not complete
    await yieldToSignals();
    if (signal?.aborted) throw signal.reason;
    if (incomplete) {
      run.update({ complete: false, reason: `${incomplete.message} (during stopping)`, phase: 'stopping', endedAt: new Date().toISOString() });
    } else if (unmeasured) {
      run.update({ complete: false, reason: unmeasured.message, reasonCode: unmeasured.code, phase: 'load', endedAt: new Date().toISOString() });
    } else {
      run.update({ complete: true, phase: 'done', endedAt: new Date().toISOString() });
    }
    writeSummaryMd(dir, summary, run.info, findings);
    const failed = incomplete ?? (unmeasured ? new LooplensError(unmeasured.code, unmeasured.message, unmeasured.fix) : undefined);
    return { dir, info: run.info, summary, ...(failed ? { incomplete: failed } : {}) };
  } catch (err) {
    const during = progress.phase || run.info.phase || 'start';
    if (app && !app.exitInfo) {
      if (signal?.aborted) {
        // Ctrl-C: give the app a moment to stop cleanly (and write what it has), then kill what is left
        progress.enter('stopping', 'interrupted; stopping the app');
        await stopApp(app, { target: 'group', timeoutMs: 3000 });
      } else {
        await killApp(app);
      }
    } else if (app) {
      signalGroup(app.pid, 'SIGKILL');
    }
    const e = err as LooplensError;
    const reason = signal?.aborted
      ? `${(signal.reason as Error | undefined)?.message ?? "interrupted"} during ${during}`
      : withPhase(e.message ?? String(err), during);
    run.update({ complete: false, reason, phase: during, endedAt: new Date().toISOString() });
    throw err;
  } finally {
    ACTIVE.delete(active);
    try {
      adapter.cleanup?.(options.cwd, dir);
    } catch (err) {
      run.note(`could not tidy after ${adapter.name}: ${(err as Error).message}`);
    }
  }
}

/**
 * Last line of defence: if the CLI process dies with a run in flight (an uncaught exception, process.exit from
 * elsewhere), the app's detached process group is killed and run.json says so, synchronously in 'exit'.
 */
const ACTIVE = new Set<{ run: RunJson }>();
let guardInstalled = false;
function installExitGuard(): void {
  if (guardInstalled) return;
  guardInstalled = true;
  process.on('exit', (code) => {
    // (the app's process group itself is killed by the guard in ./process.ts)
    for (const { run } of ACTIVE) {
      if (!run.info.complete) {
        const phase = run.info.phase ?? 'start';
        run.update({ complete: false, reason: `looplens exited unexpectedly (code ${code}) during ${phase}`, endedAt: new Date().toISOString() });
      }
    }
  });
}
