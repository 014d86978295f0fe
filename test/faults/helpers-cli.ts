/**
 * Helpers for the fault tests of looplens itself: run the real CLI (`node bin/looplens.js …`) as a child process with
 * a unique LOOPLENS_TEST_TAG in its environment, and find every process that still carries that tag afterwards by
 * scanning /proc/<pid>/environ — children inherit the environment, so this finds the app, profilers, seeders and
 * service stand-ins the CLI started, whatever their command line or process group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin/looplens.js');
/** A tiny HTTP server with a /block route (FIXTURE_MODE=exit|silent, BLOCK_MS). */
export const FIXTURE = join(ROOT, 'test/scripts/fixtures/blocking-app.mjs');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to close, ms. */
  ms: number;
}

export interface TaggedCli {
  child: ChildProcess;
  tag: string;
  done: Promise<CliResult>;
  /** stderr so far. */
  stderr(): string;
}

export function newTag(): string {
  return `looplens-test-${randomUUID()}`;
}

/** Start the CLI with LOOPLENS_TEST_TAG=<tag> (fresh unless given), quiet stack traces off. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}, options: { tag?: string; cwd?: string } = {}): TaggedCli {
  const tag = options.tag ?? newTag();
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, LOOPLENS_DEBUG: '', LOOPLENS_QUIET: '', ...env, LOOPLENS_TEST_TAG: tag },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started })),
  );
  return { child, tag, done, stderr: () => stderr };
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, options: { tag?: string; cwd?: string } = {}): Promise<CliResult & { tag: string }> {
  const c = startCli(args, env, options);
  return c.done.then((r) => ({ ...r, tag: c.tag }));
}

/** PIDs (with their command lines) of live processes whose environment holds LOOPLENS_TEST_TAG=<tag>. */
export function processesTagged(tag: string): { pid: number; cmd: string }[] {
  const needle = Buffer.from(`LOOPLENS_TEST_TAG=${tag}\0`);
  const found: { pid: number; cmd: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    let environ: Buffer;
    try {
      environ = readFileSync(`/proc/${name}/environ`);
    } catch {
      continue; // gone, or not ours to read
    }
    if (environ.indexOf(needle) === -1) continue;
    let state = '';
    try {
      // a zombie (state Z) has exited; it only waits for its parent to reap it
      state = readFileSync(`/proc/${name}/stat`, 'utf8').replace(/^.*\) /, '')[0] ?? '';
    } catch {
      continue;
    }
    if (state === 'Z') continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      /* gone */
    }
    found.push({ pid, cmd });
  }
  return found;
}

/**
 * Asserts nothing started under `tag` is alive. Processes that are just exiting get a short grace (the CLI has exited,
 * so anything still there after it is an orphan).
 */
export async function expectNoOrphans(tag: string, graceMs = 1500): Promise<void> {
  const until = Date.now() + graceMs;
  let left = processesTagged(tag);
  while (left.length > 0 && Date.now() < until) {
    await sleep(100);
    left = processesTagged(tag);
  }
  if (left.length > 0) {
    // do not leave them running for the next test: kill by pid, they are ours (tagged)
    for (const p of left) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  expect(left.map((p) => `${p.pid} ${p.cmd}`), 'processes left running after the CLI exited').toEqual([]);
}

/** Kills whatever still carries the tag (afterAll safety net). */
export function killTagged(tag: string): void {
  for (const p of processesTagged(tag)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** The CLI's error lines (`looplens: … [CODE]`); progress lines start with "[" or "stage". */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('looplens:'));
}

/** Exactly one error line, `looplens: <what> — <fix> [CODE]`, and no stack trace anywhere in stderr. */
export function oneError(stderr: string, code: string): string {
  const lines = errorLines(stderr).filter((l) => !l.startsWith('looplens report: skipped') && !l.startsWith('looplens compare: gate'));
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0], stderr).toMatch(new RegExp(`^looplens: .+ — .+ \\[${code}\\]$`));
  expect(stderr, 'a stack trace was printed').not.toMatch(/\n\s+at .+[:(]/);
  expect(stderr).not.toMatch(/\b(TypeError|ReferenceError|SyntaxError|RangeError):/);
  return lines[0]!;
}

/** Waits until <dir>/run.json says `phase` (or a phase in the list). */
export async function waitForPhase(dir: string, phase: string | string[], timeoutMs: number): Promise<void> {
  const want = Array.isArray(phase) ? phase : [phase];
  const until = Date.now() + timeoutMs;
  const file = join(dir, 'run.json');
  let last = '';
  while (Date.now() < until) {
    if (existsSync(file)) {
      try {
        last = JSON.parse(readFileSync(file, 'utf8')).phase;
        if (want.includes(last)) return;
      } catch {
        /* being rewritten */
      }
    }
    await sleep(50);
  }
  throw new Error(`run never reached phase ${want.join('|')} (last: ${last || 'none'})`);
}

/** Waits until `predicate(stderr)` holds. */
export async function waitForStderr(cli: TaggedCli, predicate: (s: string) => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (predicate(cli.stderr())) return;
    if (cli.child.exitCode !== null) break;
    await sleep(50);
  }
  throw new Error(`stderr never matched; it was:\n${cli.stderr()}`);
}

// ── bound addresses ─────────────────────────────────────────────────────────────────────────────────────────────

/** Local addresses of the sockets listening on `port` (IPv4 and IPv6), from /proc/net/tcp*. */
export function listeners(port: number): string[] {
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== '0A') continue; // 0A = LISTEN
      const [addr, portHex] = cols[1]!.split(':');
      if (parseInt(portHex!, 16) !== port) continue;
      found.push(decodeAddress(addr!));
    }
  }
  return found;
}

function decodeAddress(hex: string): string {
  if (hex.length === 8) return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
  if (hex === '00000000000000000000000000000000') return '::';
  if (hex === '00000000000000000000000001000000') return '::1';
  return `ipv6:${hex}`;
}

function externalAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') return a.address;
  return undefined;
}

function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.setTimeout(2000, () => {
      s.destroy();
      resolve(true); // filtered: not reachable either
    });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

export async function expectLoopbackOnly(port: number): Promise<void> {
  const addrs = listeners(port);
  expect(addrs.length, `nothing listens on ${port}`).toBeGreaterThan(0);
  expect(addrs.every((a) => a === '127.0.0.1'), `listening on ${addrs.join(', ')}`).toBe(true);
  const ext = externalAddress();
  if (ext) expect(await refused(ext, port), `reachable on ${ext}:${port}`).toBe(true);
}

/** clinic doctor's trace-event files (node_trace.<n>.log) in a folder: a run must never leave them in the app's cwd. */
export function traceLogsIn(dir: string): string[] {
  return readdirSync(dir).filter((n) => /^node_trace\.\d+\.log$/.test(n));
}
