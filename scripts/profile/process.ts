/**
 * The app under test as a child process: its own process group (so everything it starts can be stopped together),
 * output teed to a log file with the last lines kept for error messages, TCP readiness, and a stop that escalates
 * SIGINT → SIGKILL. Like autocannon's launcher, load starts only once the port accepts connections.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { connect, createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { LooplensError } from '../errors.js';

/**
 * A delay. Long ones (timeouts raced against a child's exit) do not keep the process alive, so a child that exits
 * early does not leave the CLI waiting for a stale timer; short polls stay ref'd so a poll loop cannot be cut short.
 */
function sleep(ms: number): Promise<void> {
  return delay(ms, undefined, { ref: ms <= 1000 });
}

/**
 * Lets a signal that arrived during synchronous work reach its handler before going on: Node runs signal handlers
 * from the event loop's poll phase, and two setImmediate turns always have one poll phase between them. Call it
 * after a long synchronous stretch (the analysis), before deciding the run is complete.
 */
export async function yieldToSignals(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setImmediate(resolve));
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** True when something already listens on host:port (or the port cannot be bound). */
export async function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  if (await canConnect(port, host)) return true;
  return await new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(true));
    srv.listen(port, host, () => srv.close(() => resolve(false)));
  });
}

export function canConnect(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Keeps the last `max` lines of a stream. */
export class TailBuffer {
  private lines: string[] = [];
  private partial = '';
  constructor(private readonly max = 15) {}
  push(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    for (const p of parts) if (p.trim() !== '') this.lines.push(p.replace(/\r$/, ''));
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }
  get(): string[] {
    return this.partial.trim() ? [...this.lines, this.partial].slice(-this.max) : [...this.lines];
  }
}

/**
 * The last `max` lines of a process's output worth showing: the frames of each stack trace folded to its first one,
 * and Node's "Node.js v20…" banner dropped, so the line that says what went wrong ("Error: Cannot find module …")
 * is among them rather than cut off by its own stack.
 */
export function keyLines(lines: readonly string[], max = 8): string[] {
  const out: string[] = [];
  let inStack = false;
  for (const l of lines) {
    if (/^\s+at /.test(l)) {
      if (!inStack) out.push(l);
      inStack = true;
      continue;
    }
    inStack = false;
    if (/^Node\.js v\d/.test(l)) continue;
    out.push(l);
  }
  return out.slice(-max);
}

export interface AppProcess {
  child: ChildProcess;
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null;
  stderrTail: TailBuffer;
  stdoutTail: TailBuffer;
  /** Last lines of stderr, or of stdout when stderr was empty. */
  lastLines(): string[];
}

/** Process groups started here and not yet gone: killed if the CLI itself exits first (crash, process.exit). */
const LIVE_GROUPS = new Set<number>();
let exitGuard = false;
function guardGroups(): void {
  if (exitGuard) return;
  exitGuard = true;
  process.on('exit', () => {
    for (const pgid of LIVE_GROUPS) signalGroup(pgid, 'SIGKILL');
  });
}

export function startApp(command: string[], options: { env: NodeJS.ProcessEnv; cwd: string; logFile: string }): AppProcess {
  guardGroups();
  const log: WriteStream = createWriteStream(options.logFile, { flags: 'a' });
  const child = spawn(command[0], command.slice(1), {
    cwd: options.cwd,
    // the probes' parent watch (probes/parent-watch.ts) stops the app's group once this process is gone, even after SIGKILL
    env: { ...options.env, LOOPLENS_PARENT_PID: String(process.pid) },
    detached: true, // own process group: pid = pgid
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid) LIVE_GROUPS.add(child.pid);
  // enough lines to reach back past a stack trace to the error line itself (keyLines picks what to show)
  const stderrTail = new TailBuffer(40);
  const stdoutTail = new TailBuffer(40);
  child.stdout?.on('data', (d: Buffer) => {
    stdoutTail.push(d);
    log.write(d);
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderrTail.push(d);
    log.write(d);
  });
  const app: AppProcess = {
    child,
    pid: child.pid ?? -1,
    exitInfo: null,
    stderrTail,
    stdoutTail,
    exited: new Promise((resolve) => {
      child.once('error', (err) => {
        stderrTail.push(`${err.message}\n`);
        app.exitInfo = { code: 127, signal: null };
        log.end();
        resolve(app.exitInfo);
      });
      child.once('close', (code, signal) => {
        if (!groupAlive(app.pid)) LIVE_GROUPS.delete(app.pid);
        app.exitInfo = { code, signal };
        log.end();
        resolve(app.exitInfo);
      });
    }),
    lastLines: () => {
      const err = stderrTail.get();
      return keyLines(err.length ? err : stdoutTail.get());
    },
  };
  return app;
}

function describeExit(e: { code: number | null; signal: NodeJS.Signals | null }): string {
  return e.signal ? `was killed by ${e.signal}` : `exited with code ${e.code}`;
}

/** Where to reach a server: a host to connect to and its port. */
export interface ListenTarget {
  host: string;
  port: number;
}

/** "127.0.0.1:3000", "[::1]:3000". */
export function hostPort(t: ListenTarget): string {
  return t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}

/**
 * Resolves once host:port accepts a TCP connection — or the port the app itself reported listening on (`reported`,
 * polled: an app that ignores $PORT), whichever accepts first, $PORT tried first — with where it connected. Rejects
 * with APP_EXITED / APP_NOT_LISTENING.
 */
export async function waitForPort(
  app: AppProcess,
  port: number,
  timeoutMs: number,
  signal?: AbortSignal,
  host = '127.0.0.1',
  reported?: () => ListenTarget | null,
): Promise<ListenTarget> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void app.exited.then(() => {
    exited = true;
  });
  for (;;) {
    if (signal?.aborted) throw signal.reason;
    if (exited || app.exitInfo) {
      throw new LooplensError(
        'APP_EXITED',
        `the app ${describeExit(app.exitInfo ?? { code: null, signal: null })} before listening on port ${port}`,
        'fix the error below (or run the command by hand); app output is in app.log in the run folder',
        { details: app.lastLines() },
      );
    }
    if (await canConnect(port, host, 300)) return { host, port };
    const own = reported?.() ?? null;
    if (own && !(own.port === port && own.host === host) && (await canConnect(own.port, own.host, 300))) return own;
    if (Date.now() > deadline) {
      const within = `within ${Math.round(timeoutMs / 1000)} s`;
      throw new LooplensError(
        'APP_NOT_LISTENING',
        own
          ? `the app did not accept connections on ${hostPort({ host, port })} (PORT) nor on ${hostPort(own)}, where it said it listens, ${within}`
          : `the app did not accept connections on ${hostPort({ host, port })} ${within}, and started listening on no port of its own`,
        'make it listen on process.env.PORT (and HOST), pass the port it listens on with --port, or raise --ready-timeout if it starts slowly',
        { details: app.lastLines() },
      );
    }
    await sleep(100);
  }
}

/** Whether any process of the group is still alive. */
export function groupAlive(pgid: number): boolean {
  if (pgid <= 0) return false;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export function signalGroup(pgid: number, sig: NodeJS.Signals): void {
  if (pgid <= 0) return;
  try {
    process.kill(-pgid, sig);
  } catch {
    /* already gone */
  }
}

/**
 * Stop the app: SIGINT to the group (or only its leader, for wrappers that relay it), wait up to `timeoutMs` for the
 * leader to exit, then up to 2 s for the rest of the group; SIGKILL whatever remains. Returns whether it was forced.
 */
export async function stopApp(app: AppProcess, options: { target: 'group' | 'leader'; timeoutMs: number }): Promise<{ forced: boolean }> {
  let forced = false;
  if (!app.exitInfo) {
    if (options.target === 'group') signalGroup(app.pid, 'SIGINT');
    else app.child.kill('SIGINT');
    const timedOut = await Promise.race([app.exited.then(() => false), sleep(options.timeoutMs).then(() => true)]);
    if (timedOut) {
      forced = true;
      signalGroup(app.pid, 'SIGKILL');
      await Promise.race([app.exited, sleep(3000)]);
    }
  }
  const until = Date.now() + 2000;
  while (groupAlive(app.pid) && Date.now() < until) await sleep(50);
  if (groupAlive(app.pid)) {
    forced = true;
    signalGroup(app.pid, 'SIGKILL');
    const until2 = Date.now() + 2000;
    while (groupAlive(app.pid) && Date.now() < until2) await sleep(50);
  }
  if (!groupAlive(app.pid)) LIVE_GROUPS.delete(app.pid);
  return { forced };
}

/** Kill everything at once (error paths). */
export async function killApp(app: AppProcess): Promise<void> {
  signalGroup(app.pid, 'SIGKILL');
  await Promise.race([app.exited, sleep(3000)]);
  if (!groupAlive(app.pid)) LIVE_GROUPS.delete(app.pid);
}
