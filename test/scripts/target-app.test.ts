/**
 * The real thing, small: `looplens db seed` + `looplens profile --stage …` of target-app, and a two-stage
 * `looplens lab`, on their own databases (looplens_test_cli*, dropped afterwards) and Redis db 2.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLab } from '../../profiles/contract/read.js';
import { ROOT, checkRunFolder, runCli } from './helpers.js';

const ADMIN = 'postgres://postgres@127.0.0.1:5432/postgres';
const DB = 'looplens_test_cli';
const LAB_DB = 'looplens_test_cli_lab';
const url = (db: string) => `postgres://postgres@127.0.0.1:5432/${db}`;
const REDIS = 'redis://127.0.0.1:6379/2';
const tmp = mkdtempSync(join(tmpdir(), 'looplens-target-'));

async function dropDatabases(): Promise<void> {
  const c = new pg.Client(ADMIN);
  await c.connect();
  for (const db of [DB, LAB_DB]) await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await c.end();
}

async function flushRedisDb2(): Promise<void> {
  await new Promise<void>((resolve) => {
    const p = spawn('redis-cli', ['-n', '2', 'FLUSHDB'], { stdio: 'ignore' });
    p.on('close', () => resolve());
    p.on('error', () => resolve());
  });
}

beforeAll(async () => {
  await dropDatabases();
  await flushRedisDb2();
});

afterAll(async () => {
  await dropDatabases();
  await flushRedisDb2();
  rmSync(tmp, { recursive: true, force: true });
});

describe('target-app through the CLI', () => {
  it('db seed, then profile --stage baseline: every contract file, per-route stats, queries per request', async () => {
    const seed = await runCli(['db', 'seed', '--scale', '200'], { DATABASE_URL: url(DB) });
    expect(seed.code, seed.stderr).toBe(0);
    const again = await runCli(['db', 'seed', '--scale', '200'], { DATABASE_URL: url(DB) });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('already seeded');

    const out = join(tmp, 'baseline');
    const r = await runCli(['profile', '--stage', 'baseline', '--ids', '200', '--duration', '4', '--warmup', '1', '--connections', '4', '--out', out], {
      DATABASE_URL: url(DB),
      REDIS_URL: REDIS,
      UPSTREAM_URL: '', // profile starts the external-services stand-in itself
    });
    expect(r.code, r.stderr).toBe(0);
    const { info, summary } = checkRunFolder(out);
    expect(info.stage).toBe('baseline');
    expect(info.load.scenario).toBe('sns');
    expect(Object.keys(summary.routes).sort()).toEqual(['GET /users/:id/notifications', 'GET /users/:id/timeline', 'POST /posts', 'POST /posts/:id/likes']);
    const timeline = summary.routes['GET /users/:id/timeline'];
    // the baseline serves a request or two per second at best (and far fewer on a busy machine)
    expect(timeline.requests).toBeGreaterThan(0);
    expect(summary.overall.non2xx).toBeLessThanOrEqual(summary.overall.requests * 0.2);
    // the baseline's synchronous driver blocks the loop and runs several queries per timeline request
    expect(summary.db?.queriesPerRequest).toBeGreaterThan(1);
    expect(timeline.queriesPerRequest).toBeGreaterThan(1);
    expect(summary.blocking.count).toBeGreaterThan(0);
  }, 120_000);

  it('lab --stages baseline,cached: lab.json, lab.md and a run folder per stage', async () => {
    const out = join(tmp, 'lab');
    const r = await runCli(['lab', '--stages', 'baseline,cached', '--scale', '200', '--duration', '3', '--warmup', '1', '--connections', '4', '--out', out], {
      DATABASE_URL: url(LAB_DB),
      REDIS_URL: REDIS,
    });
    expect(r.code, r.stderr).toBe(0);
    const lab = readLab(out);
    expect(lab.complete).toBe(true);
    expect(lab.settings.scale).toBe(200);
    expect(lab.stages.map((s) => s.stage)).toEqual(['baseline', 'cached']);
    for (const s of lab.stages) {
      const { summary } = checkRunFolder(join(out, s.run));
      expect(s.summary).toEqual(summary);
    }
    const md = readFileSync(join(out, 'lab.md'), 'utf8');
    expect(md).toContain('| throughput req/s |');
    expect(md).toContain('GET /users/:id/timeline');
    // the cache's evidence: only the cached stage has one (its hit ratio from the app's /stats), – for baseline
    expect(lab.stages[0].summary.cache).toBeUndefined();
    expect(lab.stages[1].summary.cache?.hits).toBeGreaterThan(0);
    expect(md).toContain(`| cache hit ratio | – | ${Math.round(lab.stages[1].summary.cache!.hitRatio * 100)} % |`);
    expect(r.stdout).toContain('lab folder:');
  }, 180_000);
});
