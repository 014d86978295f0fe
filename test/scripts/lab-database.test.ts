/**
 * scripts/lab/database.ts against the real PostgreSQL and Redis: a lab's clone holds exactly the seeded rows and its
 * writes never reach the seeded database; a clone left by a killed lab is dropped by the next one, a running lab's
 * never; when the seeded database stays in use the lab falls back to it, reset, and says so; the cache clean-up
 * deletes one database's keys and nothing else.
 * Databases looplens_test_scripts_labdb* (dropped at the end), Redis db 2.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabase } from '../../target-app/db/connection.js';
import { seed } from '../../target-app/db/seed.js';
import { clearCacheOf, cloneName, labDatabase, serverVersionNum } from '../../scripts/lab/database.js';

const SEEDED = 'looplens_test_scripts_labdb';
const URL_ = `postgres://postgres@127.0.0.1:5432/${SEEDED}`;
const REDIS = 'redis://127.0.0.1:6379/2';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function sql<R extends pg.QueryResultRow>(db: string, text: string, values: unknown[] = []): Promise<R[]> {
  const c = new pg.Client(`postgres://postgres@127.0.0.1:5432/${db}`);
  await c.connect();
  try {
    return (await c.query<R>(text, values)).rows;
  } finally {
    await c.end();
  }
}

const clonesOf = async () =>
  (await sql<{ datname: string }>('postgres', `SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname`, [`${SEEDED}\\_lab\\_%`])).map((r) => r.datname);

const contents = (db: string) =>
  sql<{ t: string; n: string; s: string }>(
    db,
    `SELECT 'posts' t, count(*)::text n, sum(hashtextextended(p::text, 1)::numeric)::text s FROM posts p
     UNION ALL SELECT 'likes', count(*)::text, sum(hashtextextended(l::text, 1)::numeric)::text FROM likes l
     UNION ALL SELECT 'notifications', count(*)::text, sum(hashtextextended(x::text, 1)::numeric)::text FROM notifications x`,
  );

beforeAll(async () => {
  await seed({ databaseUrl: URL_, scale: 300 });
}, 60_000);

afterAll(async () => {
  for (const c of await clonesOf()) await dropDatabase(`postgres://postgres@127.0.0.1:5432/${c}`);
  await dropDatabase(URL_);
});

describe('a database per lab', () => {
  it('is a copy of the seeded rows; writes to it never reach the seeded database; drop() removes it', async () => {
    const before = await contents(SEEDED);
    const logs: string[] = [];
    const lab = await labDatabase(URL_, (l) => logs.push(l));
    try {
      expect(lab.kind).toBe('clone');
      expect(lab.name).toMatch(new RegExp(`^${SEEDED}_lab_${process.pid}_[0-9a-z]+$`));
      expect(new URL(lab.url).pathname).toBe(`/${lab.name}`);
      expect(await contents(lab.name)).toEqual(before);
      await sql(lab.name, `INSERT INTO posts (user_id, content) VALUES (1, 'a lab wrote this')`);
      await sql(lab.name, `DELETE FROM likes WHERE user_id = 2`);
      expect(await contents(SEEDED)).toEqual(before);
    } finally {
      await lab.drop();
    }
    expect(await clonesOf()).toEqual([]);
  });

  it('drops a clone left by a killed lab, never one a running lab holds', async () => {
    // a "lab" in another process that gets SIGKILL once it has its clone
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '-e', `const { labDatabase } = await import(${JSON.stringify(`${ROOT}scripts/lab/database.ts`)}); const db = await labDatabase(${JSON.stringify(URL_)}, () => {}); console.log(db.name); setInterval(() => {}, 1000);`],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const killedClone = await new Promise<string>((resolve, reject) => {
      child.stdout!.once('data', (d) => resolve(String(d).trim()));
      child.once('exit', (code) => reject(new Error(`the child lab exited (${code})`)));
    });
    const running = await labDatabase(URL_, () => {});
    try {
      expect(await clonesOf()).toEqual([killedClone, running.name].sort());
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      // its session is gone with it: the lock is free, so the next lab drops it — and leaves `running` alone
      const until = Date.now() + 5000;
      let logs: string[] = [];
      let next;
      for (;;) {
        logs = [];
        next = await labDatabase(URL_, (l) => logs.push(l));
        if (logs.length || Date.now() > until) break;
        await next.drop();
      }
      try {
        expect(logs.join('\n')).toContain(killedClone);
        expect(await clonesOf()).toEqual([running.name, next.name].sort());
      } finally {
        await next.drop();
      }
    } finally {
      await running.drop();
    }
  }, 60_000);

  it('when the seeded database stays in use, runs on it after reset() and says why', async () => {
    await sql(SEEDED, `INSERT INTO posts (user_id, content) VALUES (1, 'left by an earlier run')`);
    const busy = new pg.Client(URL_);
    await busy.connect();
    try {
      const lab = await labDatabase(URL_, () => {}, { retryMs: 300 });
      expect(lab.kind).toBe('shared');
      expect(lab.url).toBe(URL_);
      expect(lab.note).toMatch(/could not give this lab a copy of .*being accessed by other users.*ran on that database itself, after removing what earlier runs wrote/);
      const [{ n }] = await sql<{ n: number }>(SEEDED, `SELECT count(*)::int AS n FROM posts WHERE content = 'left by an earlier run'`);
      expect(n).toBe(0);
      await lab.drop();
    } finally {
      await busy.end();
    }
  });

  it('reads the server version (FILE_COPY clones need 15+)', async () => {
    const c = new pg.Client(URL_);
    await c.connect();
    try {
      const v = await serverVersionNum(c);
      expect(v).toBeGreaterThanOrEqual(100000);
      expect(Math.floor(v / 10000)).toBe(Number((await c.query('SHOW server_version')).rows[0].server_version.split('.')[0]));
    } finally {
      await c.end();
    }
  });

  it('names clones within PostgreSQL 63-byte identifiers', () => {
    expect(cloneName('x'.repeat(80), 4194304, 1_700_000_000_000).length).toBeLessThanOrEqual(63);
    expect(cloneName('looplens', 12, 36)).toBe('looplens_lab_12_10');
  });
});

describe('clearCacheOf', () => {
  it("deletes the reference app's keys of one database and nothing else", async () => {
    const redis = new Redis(REDIS);
    try {
      const name = `${SEEDED}_lab_1_x`;
      await redis.mset(`looplens:${name}:2025:timeline:1:20`, 'a', `looplens:${name}:gen:timeline:1`, '3', `looplens:${name}2:other`, 'b', 'unrelated', 'c');
      expect(await clearCacheOf(REDIS, name)).toBe(2);
      expect(await redis.exists(`looplens:${name}:2025:timeline:1:20`, `looplens:${name}:gen:timeline:1`)).toBe(0);
      expect(await redis.exists(`looplens:${name}2:other`, 'unrelated')).toBe(2);
    } finally {
      await redis.del(`looplens:${SEEDED}_lab_1_x2:other`, 'unrelated');
      redis.disconnect();
    }
  });
});
