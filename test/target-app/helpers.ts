/**
 * Shared by the target-app tests: a small seeded database of their own (real PostgreSQL), Redis db 1, the
 * external-services stand-in, and a stage's app (buildApp + inject, or listening on a free port).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { expect } from 'vitest';
import { dropDatabase } from '../../target-app/db/connection.js';
import { migrate } from '../../target-app/db/schema.js';
import { reset, seed } from '../../target-app/db/seed.js';
import { silentLogger } from '../../target-app/lib/log.js';
import { buildApp } from '../../target-app/server.js';
import { findStage, type RunningStage } from '../../target-app/stages/index.js';
import { createUpstreamServer, type UpstreamOptions } from '../../target-app/upstream/server.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Small enough to seed in a couple of seconds, big enough for follows, likes and notifications to matter. */
export const TEST_SCALE = 2000;
export const REDIS_URL = 'redis://127.0.0.1:6379/1';

export function testDatabaseUrl(suffix: string): string {
  return `postgres://postgres@127.0.0.1:5432/looplens_test_app_${suffix}`;
}

/** Creates, migrates and seeds the database (skipped when already seeded), then removes earlier test writes. */
export async function seededDatabase(suffix: string): Promise<string> {
  const url = testDatabaseUrl(suffix);
  await migrate(url);
  await seed({ databaseUrl: url, scale: TEST_SCALE });
  await reset(url);
  return url;
}

export async function dropTestDatabase(suffix: string): Promise<void> {
  await closePool(testDatabaseUrl(suffix));
  await dropDatabase(testDatabaseUrl(suffix));
}

const pools = new Map<string, pg.Pool>();

/** A query through a small pool per database (a new connection per check would dominate the tests' time). */
export async function query<R extends pg.QueryResultRow = Record<string, unknown>>(url: string, text: string, values?: unknown[]): Promise<R[]> {
  let pool = pools.get(url);
  if (!pool) pools.set(url, (pool = new pg.Pool({ connectionString: url, max: 2 })));
  return (await pool.query<R>(text, values)).rows;
}

async function closePool(url: string): Promise<void> {
  const pool = pools.get(url);
  pools.delete(url);
  await pool?.end();
}

/** The stand-in in this process, fast by default (tests want the effect, not the 650 ms). */
export async function startUpstream(options: UpstreamOptions = {}) {
  const upstream = createUpstreamServer({ latencyMs: { images: 20, notify: 10, index: 10 }, ...options });
  const url = await upstream.listen(0, '127.0.0.1');
  return { url, upstream, close: () => upstream.close() };
}

export interface StageApp {
  app: FastifyInstance;
  stage: RunningStage;
  close(): Promise<void>;
}

export async function startStage(
  name: string,
  env: { databaseUrl: string; upstreamUrl: string; redisUrl?: string; upstreamTimeoutMs?: number },
): Promise<StageApp> {
  const stage = await findStage(name)!.start({
    databaseUrl: env.databaseUrl,
    redisUrl: env.redisUrl ?? REDIS_URL,
    upstreamUrl: env.upstreamUrl,
    workers: 1,
    log: silentLogger,
    upstreamTimeoutMs: env.upstreamTimeoutMs,
  });
  const app = await buildApp({ stage, stageName: name, upstreamUrl: env.upstreamUrl, log: silentLogger });
  return {
    app,
    stage,
    close: async () => {
      await app.close();
      await stage.close();
    },
  };
}

/** A compiled entry point (child processes run dist/, as the lab does). */
export function distFile(rel: string): string {
  const file = `${ROOT}dist/${rel}`;
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return file;
}

export interface Child {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first stdout line matching `re`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function run(args: string[], env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
      for (const w of waiters) w();
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (re, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(re);
          if (m) {
            done();
            resolve(m);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`exited (${child.exitCode ?? child.signalCode}) before printing ${re}: ${err.trim()}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${re} within ${timeoutMs} ms; stdout: ${out.trim()} stderr: ${err.trim()}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
  };
}

/** Stops a child started by run(): SIGTERM, then SIGKILL after `ms`. */
export async function stop(c: Child, ms = 8000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGTERM');
  const timer = setTimeout(() => c.child.kill('SIGKILL'), ms);
  const result = await c.exited;
  clearTimeout(timer);
  return result;
}

/** Reads rows from the database under test: `query` here, or the faults' `dbQuery` (one connection per call). */
export type ReadRows = <R extends pg.QueryResultRow>(url: string, text: string, values?: unknown[]) => Promise<R[]>;

/** Every acknowledged post is in the database with its content, and every acknowledged like is there. */
export async function expectWritesStored(
  read: ReadRows,
  url: string,
  posts: { id: number; content: string }[],
  likes: { postId: number; userId: number }[],
  message?: string,
): Promise<void> {
  const storedPosts = await read<{ id: number; content: string }>(url, 'SELECT id, content FROM posts WHERE id = ANY ($1::int[])', [posts.map((p) => p.id)]);
  expect(Object.fromEntries(storedPosts.map((r) => [r.id, r.content])), message).toEqual(Object.fromEntries(posts.map((p) => [p.id, p.content])));
  const storedLikes = await read<{ k: string }>(
    url,
    `SELECT post_id || ':' || user_id AS k FROM likes WHERE (post_id, user_id) IN (SELECT * FROM unnest($1::int[], $2::int[]))`,
    [likes.map((l) => l.postId), likes.map((l) => l.userId)],
  );
  expect(new Set(storedLikes.map((r) => r.k)), message).toEqual(new Set(likes.map((l) => `${l.postId}:${l.userId}`)));
}

