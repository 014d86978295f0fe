/**
 * Labs start from the same state: `looplens lab` runs its stages on a copy of the seeded database (scripts/lab/
 * database.ts), so the rows its stages write never reach the seeded database, and the cached stage's entries live
 * under that copy's name and are deleted at the end; the copy is dropped when the lab ends, also on Ctrl-C.
 * Database looplens_test_faults_iso (dropped at the end), Redis db 3.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { readLab, readSummary } from '../../profiles/contract/read.js';
import { dropDatabase } from '../../target-app/db/connection.js';
import { renderReadmeLabBlock } from '../../scripts/readme-lab.js';
import { expectNoOrphans, killTagged, oneError, startCli, waitForStderr } from './helpers-cli.js';

const DB = 'looplens_test_faults_iso';
const DB_URL = `postgres://postgres@127.0.0.1:5432/${DB}`;
const REDIS = 'redis://127.0.0.1:6379/3';
const tmp = mkdtempSync(join(tmpdir(), 'looplens-faults-iso-'));
const tags: string[] = [];

afterAll(async () => {
  for (const t of tags) killTagged(t);
  rmSync(tmp, { recursive: true, force: true });
  for (const c of await clones()) await dropDatabase(`postgres://postgres@127.0.0.1:5432/${c}`);
  await dropDatabase(DB_URL);
});

async function clones(): Promise<string[]> {
  const c = new pg.Client('postgres://postgres@127.0.0.1:5432/postgres');
  await c.connect();
  try {
    return (await c.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`${DB}\\_lab\\_%`])).rows.map((r) => r.datname);
  } finally {
    await c.end();
  }
}

async function seededCounts(): Promise<{ posts: number; marker: number; likes: number }> {
  const c = new pg.Client(DB_URL);
  await c.connect();
  try {
    const { rows } = await c.query(`SELECT (SELECT count(*)::int FROM posts) AS posts, (SELECT posts FROM looplens_seed) AS marker, (SELECT count(*)::int FROM likes) AS likes`);
    return rows[0];
  } finally {
    await c.end();
  }
}

async function cacheKeysOfClones(): Promise<string[]> {
  const r = new Redis(REDIS);
  try {
    return await r.keys(`looplens:${DB}_lab_*`);
  } finally {
    r.disconnect();
  }
}

const env = { DATABASE_URL: DB_URL, REDIS_URL: REDIS };
const common = ['--scale', '300', '--warmup', '1', '--connections', '2'];

describe('each lab on its own copy of the seeded data', () => {
  it('writes stay in the copy; the cached stage used the cache; copy and cache entries are gone afterwards', async () => {
    const out = join(tmp, 'lab');
    const cli = startCli(['lab', '--stages', 'pooled,cached', '--duration', '3', ...common, '--out', out], env);
    tags.push(cli.tag);
    // while it runs: its copy exists (and nothing else)
    await waitForStderr(cli, (s) => s.includes('stage 2/2 cached'), 120_000);
    expect((await clones()).length).toBe(1);
    const r = await cli.done;
    expect(r.code, r.stderr).toBe(0);
    await expectNoOrphans(cli.tag);
    const lab = readLab(out);
    expect(lab.complete).toBe(true);
    // how it ran, for figures quoted from it (scripts/readme-lab.ts renders its block from this folder)
    expect(lab.recorded).toMatchObject({
      command: ['looplens', 'lab', '--stages', 'pooled,cached', '--duration', '3', ...common, '--out', out],
      postgres: expect.stringMatching(/^\d+\.\d+/),
      redis: expect.stringMatching(/^\d+\.\d+/),
      seed: { skipped: false, ms: expect.any(Number) },
    });
    expect(lab.recorded!.loadAverageStart).toHaveLength(3);
    expect(lab.recorded!.loadAverageEnd).toHaveLength(3);
    expect(renderReadmeLabBlock(out)).toContain(`Measured with \`looplens lab --stages pooled,cached`);
    // pooled wrote posts and likes under load, into the copy only
    const pooled = readSummary(join(out, lab.stages[0]!.run));
    expect(Object.keys(pooled.routes).some((k) => k.startsWith('POST'))).toBe(true);
    const after = await seededCounts();
    expect(after.posts).toBe(after.marker);
    const cached = readSummary(join(out, lab.stages[1]!.run));
    expect((cached.cache?.hits ?? 0) + (cached.cache?.misses ?? 0)).toBeGreaterThan(0);
    expect(await clones()).toEqual([]);
    expect(await cacheKeysOfClones()).toEqual([]);
  }, 240_000);

  it('Ctrl-C mid-lab drops the copy too', async () => {
    const out = join(tmp, 'interrupted');
    const cli = startCli(['lab', '--stages', 'pooled', '--duration', '30', ...common, '--out', out], env);
    tags.push(cli.tag);
    await waitForStderr(cli, (s) => /stage 1\/1 pooled.*load/.test(s), 120_000);
    expect((await clones()).length).toBe(1);
    await sleep(500);
    cli.child.kill('SIGINT');
    const r = await cli.done;
    expect(r.code, r.stderr).toBe(130);
    oneError(r.stderr, 'INTERRUPTED');
    await expectNoOrphans(cli.tag);
    expect(await clones()).toEqual([]);
    expect(await cacheKeysOfClones()).toEqual([]);
  }, 240_000);
});
