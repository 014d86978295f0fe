/**
 * What the fixture-app tests share: installing the fixtures' own dependencies (test/apps/package.json, kept out of the
 * main package.json), one blog database per test file on the real PostgreSQL, a TCP proxy that gives that database a
 * remote database's round trip, the fixtures' own query counts (count-queries.cjs), and running an app under the real
 * CLI (`node bin/looplens.js profile … -- node <app>`) as a user would, at looplens' default settings.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import net, { type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { readFindings, readSummary, type FindingsFile, type Summary } from '../../profiles/contract/index.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const APPS = fileURLToPath(new URL('./', import.meta.url));
export const CLI = join(ROOT, 'bin/looplens.js');
export const SCENARIOS = join(APPS, 'scenarios');

const PG_HOST = '127.0.0.1';
const PG_PORT = 5432;
const ADMIN_URL = `postgres://postgres@${PG_HOST}:${PG_PORT}/postgres`;

/**
 * Ids every blog path takes: the scenario draws `{id}` from 1..IDS, and every group, author and post 1..IDS exists.
 * Wide enough that a request rarely reads what another read shortly before (a narrow range makes every route
 * cacheable).
 */
export const IDS = 500;

/** The three routes every blog fixture has, by its own template. */
export const BLOG_ROUTES = {
  nPlusOne: 'GET /api/groups/:groupId/authors',
  serial: 'GET /api/authors/:authorId/stats',
  clean: 'GET /api/posts/:postId',
} as const;
/** Their paths as the scenario sends them (`{id}` 1–IDS), for measureApp. */
export const BLOG_PATHS = { nPlusOne: '/api/groups/{id}/authors', serial: '/api/authors/{id}/stats', clean: '/api/posts/{id}' } as const;

/**
 * The load every blog fixture gets: test/apps/scenarios/blog.json (one third each route, ids 1–IDS), one connection
 * (requests one after another: a route's latency is its own time, so the app's and its fixed twin's latencies give
 * what a fix saves — with 10 connections on a 2-core machine the queries also wait for the CPU, and the twin's
 * latencies hold waits behind other requests: its clean route, the same code, measured 12–30 ms against the app's
 * 7–10), the default 3 s warm-up, 8 s measured. Every looplens setting is its default.
 */
export const BLOG_LOAD = ['--scenario', join(SCENARIOS, 'blog.json'), '--ids', String(IDS), '--duration', '8', '--connections', '1'];

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): void {
  execFileSync(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
}

const mtime = (p: string): number => (existsSync(p) ? statSync(p).mtimeMs : 0);

/**
 * Installs test/apps/node_modules from its lockfile when missing or older than the lockfile (`npm ci`, registry only;
 * .ci/run does the same), generates the Prisma client when missing or older than its schema, and compiles the
 * TypeScript fixture (tsc, source maps) when its output is missing or older than its sources.
 */
export function ensureFixtures(): void {
  const lock = join(APPS, 'package-lock.json');
  if (mtime(join(APPS, 'node_modules/.package-lock.json')) < mtime(lock)) {
    sh('flock', ['/tmp/looplens-npm.lock', 'npm', 'ci', '--prefix', APPS, '--no-audit', '--no-fund', '--prefer-offline'], ROOT);
  }
  const schema = join(APPS, 'prisma-express5/prisma/schema.prisma');
  if (mtime(join(APPS, 'node_modules/.prisma/client/index.js')) < mtime(schema)) prismaGenerate();
  const tsDir = join(APPS, 'ts-blocking');
  const sources = ['src/server.ts', 'src/pricing.ts', 'tsconfig.json'].map((f) => mtime(join(tsDir, f)));
  if (mtime(join(tsDir, 'dist/pricing.js.map')) < Math.max(...sources)) {
    sh(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', tsDir], ROOT);
  }
}

/**
 * `prisma generate` (prisma-client-js into node_modules/.prisma/client). The CLI first fetches its schema engine from
 * Prisma's own download host, which no npm package replaces and this machine cannot reach; generating needs no
 * engine (the schema is parsed by a WebAssembly module from npm), so PRISMA_SCHEMA_ENGINE_BINARY names a stand-in
 * that is never run. The generated client runs on the pg driver adapter, with no engine binary at all.
 */
export function prismaGenerate(): void {
  const dir = join(APPS, 'prisma-express5');
  sh(process.execPath, [join(APPS, 'node_modules/prisma/build/index.js'), 'generate', '--schema', 'prisma/schema.prisma'], dir, {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: '/bin/false',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1',
  });
}

async function admin(sql: string[], url = ADMIN_URL): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const s of sql) await client.query(s);
  } finally {
    await client.end();
  }
}

export const dbUrl = (name: string, port = PG_PORT): string => `postgres://postgres@${PG_HOST}:${port}/${name}`;

/**
 * Creates `name` afresh with the blog tables: IDS groups of 10 authors (5,000), 20 posts per author (100,000), one
 * comment per post, indexed on every foreign key.
 */
export async function createBlogDb(name: string): Promise<void> {
  await admin([`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`, `CREATE DATABASE ${name}`]);
  await admin(
    [
      'CREATE TABLE authors (id int PRIMARY KEY, name text NOT NULL, group_id int NOT NULL)',
      'CREATE TABLE posts (id int PRIMARY KEY, author_id int NOT NULL REFERENCES authors(id), title text NOT NULL, body text NOT NULL, created_at timestamptz NOT NULL)',
      'CREATE TABLE comments (id int PRIMARY KEY, post_id int NOT NULL REFERENCES posts(id), author_id int NOT NULL REFERENCES authors(id), body text NOT NULL)',
      'CREATE INDEX ON authors (group_id)',
      'CREATE INDEX ON posts (author_id)',
      'CREATE INDEX ON comments (post_id)',
      'CREATE INDEX ON comments (author_id)',
      `INSERT INTO authors SELECT i, 'author ' || i, 1 + (i - 1) % ${IDS} FROM generate_series(1, ${IDS * 10}) i`,
      `INSERT INTO posts SELECT i, 1 + (i - 1) % ${IDS * 10}, 'post ' || i, repeat('words ', 10), now() - i * interval '1 minute' FROM generate_series(1, ${IDS * 200}) i`,
      `INSERT INTO comments SELECT i, i, 1 + (i * 7) % ${IDS * 10}, 'comment ' || i FROM generate_series(1, ${IDS * 200}) i`,
      'VACUUM ANALYZE',
    ],
    dbUrl(name),
  );
}

export async function dropDb(name: string): Promise<void> {
  await admin([`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
}

/**
 * A TCP proxy in front of PostgreSQL that holds every chunk the server sends for `delayMs`: the round trip of a
 * database on another host (on one machine a query's round trip is ~0.1 ms, and an N+1 or serial queries would cost
 * little but CPU). Chunks keep their order (timers of one duration fire in the order they were set).
 */
export async function startLatencyProxy(delayMs: number): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(PG_PORT, PG_HOST);
    for (const s of [client, upstream]) {
      // as the pg driver does: no Nagle delay (with delayed ACKs it holds a reply's last chunk ~40 ms)
      s.setNoDelay(true);
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (d) => upstream.write(d));
    client.on('end', () => upstream.end());
    upstream.on('data', (d) => setTimeout(() => client.writable && client.write(d), delayMs));
    upstream.on('end', () => setTimeout(() => client.end(), delayMs));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** What the app really does on one path, measured without looplens (see measureApp). */
export interface TrueFigures {
  /** Statements one request runs (the median of 3). */
  queries: number;
  /** Median latency of requests sent one at a time (nothing else in flight), ms. */
  latencyMs: number;
}

/**
 * What each path really costs, measured by the fixture itself, without looplens: the app runs plain with
 * count-queries.cjs, each path is requested twice to warm the pool, then three times one at a time with the count read
 * before and after (the median delta: statements per request), then `timed` times one at a time, its `{id}` drawn in
 * over 1–IDS (the median latency: the route's own time, with nothing else in flight).
 */
export async function measureApp(
  app: string,
  env: Record<string, string>,
  paths: readonly string[],
  opts: { listenPort?: number; timed?: number } = {},
): Promise<Record<string, TrueFigures>> {
  const countPort = await freePort();
  const port = opts.listenPort ?? (await freePort());
  const child = spawn(process.execPath, [app], {
    cwd: APPS,
    env: { ...process.env, ...env, COUNT_QUERIES: '1', COUNT_PORT: String(countPort), PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const at = (path: string, id: number) => path.replace('{id}', String(id));
  try {
    const base = `http://127.0.0.1:${port}`;
    const get = async (path: string) => {
      const res = await fetch(`${base}${path}`);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
    };
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await fetch(`http://127.0.0.1:${countPort}/`).then((r) => r.json());
        await get(at(paths[0]!, 1));
        break;
      } catch {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${app} did not answer: ${output.slice(-800)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const count = async () => ((await fetch(`http://127.0.0.1:${countPort}/`).then((r) => r.json())) as { queries: number }).queries;
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const result: Record<string, TrueFigures> = {};
    for (const path of paths) for (let i = 1; i <= 2; i++) await get(at(path, i));
    for (const path of paths) {
      const deltas: number[] = [];
      for (let i = 0; i < 3; i++) {
        const before = await count();
        await get(at(path, 7));
        deltas.push((await count()) - before);
      }
      const times: number[] = [];
      for (let i = 0; i < (opts.timed ?? 40); i++) {
        const t0 = performance.now();
        await get(at(path, 1 + ((i * 97) % IDS)));
        times.push(performance.now() - t0);
      }
      result[path] = { queries: median(deltas), latencyMs: median(times) };
    }
    return result;
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

export interface Profiled {
  dir: string;
  code: number;
  output: string;
  summary: Summary | null;
  findings: FindingsFile | null;
  summaryMd: string;
}

/**
 * `node bin/looplens.js profile <args> --out <fresh dir> -- node <app>`, from test/apps (as a user runs it from their
 * project), with `env` added to the environment; resolves when the CLI exits. No looplens setting is changed: no
 * LOOPLENS_* variable, no --port unless `args` has one.
 */
export function profile(app: string, args: readonly string[], env: Record<string, string>, root: string, name: string): Promise<Profiled> {
  const dir = join(root, name);
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const k of Object.keys(childEnv)) if (k.startsWith('LOOPLENS_')) delete childEnv[k];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'profile', ...args, '--out', dir, '--', 'node', app],
      { cwd: APPS, env: childEnv, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        const read = <T>(f: () => T): T | null => {
          try {
            return f();
          } catch {
            return null;
          }
        };
        resolve({
          dir,
          code,
          output: `${stdout}\n${stderr}`,
          summary: read(() => readSummary(dir)),
          findings: read(() => readFindings(dir)),
          summaryMd: read(() => readFileSync(join(dir, 'summary.md'), 'utf8')) ?? '',
        });
      },
    );
  });
}

export function tempRoot(area: string): string {
  return mkdtempSync(join(tmpdir(), `looplens-apps-${area}-`));
}

export function removeRoot(root: string): void {
  if (root) rmSync(root, { recursive: true, force: true });
}

/** One line per route of a summary (for failure messages): requests, p50, queries per request. */
export function describeRoutes(summary: Summary | null): string {
  if (!summary) return '(no summary.json)';
  return Object.entries(summary.routes)
    .map(([k, r]) => `${k}: ${r.requests} req, p50 ${r.latencyMs.p50} ms, ${r.queriesPerRequest ?? '–'} q/req`)
    .join('; ');
}

/** One line per finding (for failure messages). */
export function describeFindings(findings: FindingsFile | null): string {
  if (!findings) return '(no findings.json)';
  return `${findings.findings.length} findings: ${findings.findings.map((f) => `[${f.kind} ${f.route} ${f.savingMsPerRequest} ms] ${f.title}`).join(' | ')}`;
}
