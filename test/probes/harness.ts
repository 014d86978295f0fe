/**
 * Runs a fixture app in a child process with the probes preloaded, drives load, stops it with SIGINT and hands back
 * the run folder. Tests assert only on the files the probes wrote and on the fixture's own ground truth.
 * LOOPLENS_TEST_NODE=/path/to/node runs the children under another Node (e.g. 24, see run-node24.sh).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type { BlockingEvent } from '../../profiles/contract/types.js';
import { withProbeNodeOptions } from '../../probes/node-options.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FIXTURES = join(ROOT, 'test/probes/fixtures');
export const NODE = process.env.LOOPLENS_TEST_NODE || process.execPath;
export const ESM_ENTRY = join(ROOT, 'dist/probes/register.js');
export const CJS_ENTRY = join(ROOT, 'dist/probes/preload.cjs');

export const SECRET_AUTH = 'Bearer SECRET-TOKEN-5f2c91';
export const SECRET_COOKIE = 'sid=SECRET-COOKIE-77ad03';

export interface Truth {
  fn: string;
  route: string;
  startMs: number;
  durationMs: number;
}

export interface FixtureRun {
  out: string;
  /** The temp folder holding out/ (and whatever a launcher wrote). */
  dir: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  truth: Truth[];
  /** Epoch ms when the measured load started (after warm-up). */
  loadStartMs: number;
  /** Epoch ms when SIGINT was sent (the probes write their files then; an app may still finish requests after). */
  stopMs: number;
}

export interface FixtureOptions {
  app: string;
  /** How the probes are loaded: --import (esm), --require (cjs), through NODE_OPTIONS, or not at all. */
  preload: 'esm' | 'cjs' | 'none';
  viaNodeOptions?: boolean;
  env?: Record<string, string>;
  /** Extra node flags before the app (e.g. ['--import', 'tsx']). */
  nodeArgs?: string[];
  /** A launcher in front of `node app` (e.g. clinic doctor), given the temp folder; use with viaNodeOptions. */
  launcher?: (dir: string) => string[];
  /** Requests sent one by one before the measured load (JIT and first-request warm-up). */
  warmup?: string[];
  load?: (port: number) => Promise<void>;
  timeoutMs?: number;
}

export function preloadArgs(preload: FixtureOptions['preload']): string[] {
  if (preload === 'esm') return ['--import', ESM_ENTRY];
  if (preload === 'cjs') return ['--require', CJS_ENTRY];
  return [];
}

export async function runFixture(opts: FixtureOptions): Promise<FixtureRun> {
  const dir = mkdtempSync(join(tmpdir(), 'looplens-probe-test-'));
  const out = join(dir, 'out');
  const truthFile = join(dir, 'truth.jsonl');
  const probeArgs = preloadArgs(opts.preload);
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    LOOPLENS_OUT: out,
    FIXTURE_TRUTH: truthFile,
    ...opts.env,
  };
  delete env.LOOPLENS_PROBE_PID;
  if (opts.viaNodeOptions && opts.preload !== 'none') env.NODE_OPTIONS = withProbeNodeOptions(env.NODE_OPTIONS, opts.preload);
  const args = [...(opts.viaNodeOptions ? [] : probeArgs), ...(opts.nodeArgs ?? []), join(FIXTURES, opts.app)];
  const [command, ...argv] = opts.launcher ? [...opts.launcher(dir), NODE, ...args] : [NODE, ...args];
  const child = spawn(command, argv, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
  const timeout = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 90_000);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const check = () => {
        const m = /LISTENING (\d+)/.exec(stdout);
        if (m) resolve(Number(m[1]));
      };
      child.stdout.on('data', check);
      exited.then(([code, sig]) => reject(new Error(`fixture exited (${code ?? sig}) before listening:\n${stdout}\n${stderr}`)));
    });
    for (const path of opts.warmup ?? []) await fetch(`http://127.0.0.1:${port}${path}`).then((r) => r.arrayBuffer());
    const loadStartMs = Date.now();
    await opts.load?.(port);
    const stopMs = Date.now();
    child.kill('SIGINT');
    const [exitCode, signal] = await exited;
    const truth = existsSync(truthFile)
      ? readFileSync(truthFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Truth)
      : [];
    return { out, dir, exitCode, signal, stdout, stderr, truth, loadStartMs, stopMs };
  } finally {
    clearTimeout(timeout);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** Closed-loop load over a list of paths (each connection cycles through them), with secret headers. */
export async function load(
  port: number,
  paths: string[],
  opts: { connections?: number; durationS?: number; headers?: Record<string, string> } = {},
): Promise<void> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: opts.connections ?? 8,
    duration: opts.durationS ?? 4,
    headers: { authorization: SECRET_AUTH, cookie: SECRET_COOKIE, ...opts.headers },
    requests: paths.map((path) => ({ method: 'GET', path })),
  });
  if (result.errors > 0 || result.non2xx > 0) throw new Error(`load failed: ${result.errors} errors, ${result.non2xx} non-2xx`);
}

export interface Accuracy {
  /** Blocked ms reported in the window. */
  reportedMs: number;
  /** Share of reported blocked ms on the right route and the right function. */
  precision: number;
  /** Share of the ground truth's blocked ms (calls ≥ threshold) found on the right route and function. */
  recall: number;
  /** |reported − true| per matched request, ms. */
  durationErrors: number[];
  wrong: { event: BlockingEvent; truth: Truth | null }[];
  /** Ground-truth calls ≥ threshold that no event named. */
  missed: Truth[];
}

/** Matches each event with the ground-truth call it overlaps most and scores route + function + duration. */
export function score(events: BlockingEvent[], truth: Truth[], fromMs: number, untilMs: number, thresholdMs: number): Accuracy {
  // Both sides inside the window: after SIGINT an app may still run requests the probes no longer see.
  const evs = events.filter((e) => e.startMs >= fromMs && e.startMs + e.durationMs <= untilMs);
  const calls = truth.filter((t) => t.startMs >= fromMs && t.startMs + t.durationMs <= untilMs);
  let reportedMs = 0;
  let rightMs = 0;
  const durationErrors: number[] = [];
  const wrong: Accuracy['wrong'] = [];
  const found = new Set<Truth>();
  for (const e of evs) {
    reportedMs += e.durationMs;
    let best: Truth | null = null;
    let bestOverlap = 0;
    for (const t of calls) {
      const overlap = Math.min(e.startMs + e.durationMs, t.startMs + t.durationMs) - Math.max(e.startMs, t.startMs);
      if (overlap > bestOverlap) {
        best = t;
        bestOverlap = overlap;
      }
    }
    if (best && e.route === best.route && e.topFrame.startsWith(`${best.fn} (`)) {
      rightMs += e.durationMs;
      durationErrors.push(Math.abs(e.durationMs - best.durationMs));
      found.add(best);
    } else wrong.push({ event: e, truth: best });
  }
  const blockingCalls = calls.filter((t) => t.durationMs >= thresholdMs);
  const trueMs = blockingCalls.reduce((s, t) => s + t.durationMs, 0);
  const foundMs = blockingCalls.filter((t) => found.has(t)).reduce((s, t) => s + t.durationMs, 0);
  return {
    reportedMs,
    precision: reportedMs === 0 ? 1 : rightMs / reportedMs,
    recall: trueMs === 0 ? 1 : foundMs / trueMs,
    durationErrors,
    wrong,
    missed: blockingCalls.filter((t) => !found.has(t)),
  };
}

export function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * Stalls of the machine, not of the app: on this shared 2-core VM under heavy load (load average 10–16) a thread can
 * lose 20–220 ms in the middle of Node's own code — socket writes (`_flush`, `writeUtf8String`, `_writeGeneric`),
 * listeners, GC — after the run-queue wait the detector subtracts (seen on Node 20 and 24 alike, about once per four
 * 3 s runs of a non-blocking app; steal time is not reported in this guest). Such an event names no app code; only
 * the short ones (< 1.5 × threshold), at most two a run, are tolerated, and they are printed.
 */
export function machineStalls(events: BlockingEvent[], thresholdMs: number, appPath = 'test/probes/fixtures/'): BlockingEvent[] {
  const stalls = events.filter((e) => !e.topFrame.includes(appPath) && e.durationMs < 1.5 * thresholdMs);
  if (stalls.length > 0) console.log('machine stalls:', stalls.map((e) => `${e.route} ${e.topFrame} ${e.durationMs}`));
  return stalls;
}
