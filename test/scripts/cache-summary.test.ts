/**
 * summary.json `cache`: a real cached-stage profile of target-app (users drawn from 200, so they repeat) reports the
 * cache's hits and misses over the measured window only, and they add up to the lookups its measured GET requests
 * made; a pooled-stage run has no `cache`. Own database (looplens_test_cli_cache, dropped afterwards) and Redis db 2
 * (only this dataset's keys are removed afterwards).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRunFolder, runCli } from './helpers.js';

const ADMIN = 'postgres://postgres@127.0.0.1:5432/postgres';
const DB = 'looplens_test_cli_cache';
const DB_URL = `postgres://postgres@127.0.0.1:5432/${DB}`;
const REDIS = 'redis://127.0.0.1:6379/2';
const tmp = mkdtempSync(join(tmpdir(), 'looplens-cache-'));
const CACHED_ROUTES = ['GET /users/:id/timeline', 'GET /users/:id/notifications'];
const CONNECTIONS = 4;

async function dropDatabase(): Promise<void> {
  const c = new pg.Client(ADMIN);
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await c.end();
}

/** Deletes this test's cache entries only (target-app's keys are looplens:<database>:…). */
function deleteOwnKeys(): void {
  try {
    const keys = execFileSync('redis-cli', ['-n', '2', '--scan', '--pattern', `looplens:${DB}:*`], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (let i = 0; i < keys.length; i += 500) execFileSync('redis-cli', ['-n', '2', 'DEL', ...keys.slice(i, i + 500)], { stdio: 'ignore' });
  } catch {
    // redis-cli missing: the entries expire on their own (60 s)
  }
}

const profileArgs = (stage: string, out: string) =>
  ['profile', '--stage', stage, '--ids', '200', '--duration', '3', '--warmup', '1', '--connections', String(CONNECTIONS), '--out', out];
const env = { DATABASE_URL: DB_URL, REDIS_URL: REDIS, UPSTREAM_URL: '' };

beforeAll(async () => {
  await dropDatabase();
  const seed = await runCli(['db', 'seed', '--scale', '200'], { DATABASE_URL: DB_URL });
  expect(seed.code, seed.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await dropDatabase();
  deleteOwnKeys();
  rmSync(tmp, { recursive: true, force: true });
});

describe('summary.json cache (from the app’s GET /stats over the measured window)', () => {
  it('cached stage: hit ratio above 0, hits + misses = the lookups of the measured GET requests, per route too', async () => {
    const out = join(tmp, 'cached');
    const r = await runCli(profileArgs('cached', out), env);
    expect(r.code, r.stderr).toBe(0);
    const { summary } = checkRunFolder(out); // schema-valid
    const cache = summary.cache;
    expect(cache, JSON.stringify(summary)).toBeDefined();
    // 200 users over 1 s of warmup + 3 s of load: most reads repeat a user
    expect(cache!.hitRatio).toBeGreaterThan(0);
    expect(cache!.hits).toBeGreaterThan(0);
    expect(cache!.hitRatio).toBeCloseTo(cache!.hits / (cache!.hits + cache!.misses), 2);
    expect(cache!.stale).toBeLessThanOrEqual(cache!.misses);

    // every measured GET of a cached route made one lookup; the warmup's are not counted. Requests the load generator
    // abandoned at the end (at most one per connection) were still answered by the app, so they may add lookups.
    const measured = CACHED_ROUTES.reduce((a, k) => a + (summary.routes[k]?.requests ?? 0), 0);
    expect(measured).toBeGreaterThan(20);
    const lookups = cache!.hits + cache!.misses + (cache!.errors ?? 0);
    expect(lookups - measured, `lookups ${lookups}, measured GET requests ${measured}`).toBeGreaterThanOrEqual(0);
    expect(lookups - measured, `lookups ${lookups}, measured GET requests ${measured}`).toBeLessThanOrEqual(CONNECTIONS);

    expect(Object.keys(cache!.byRoute ?? {}).sort()).toEqual([...CACHED_ROUTES].sort());
    let sum = 0;
    for (const route of CACHED_ROUTES) {
      const c = cache!.byRoute![route];
      const requests = summary.routes[route].requests;
      expect(c.hits + c.misses - requests, route).toBeGreaterThanOrEqual(0);
      expect(c.hits + c.misses - requests, route).toBeLessThanOrEqual(CONNECTIONS);
      sum += c.hits + c.misses;
    }
    expect(sum).toBe(cache!.hits + cache!.misses);

    const md = readFileSync(join(out, 'summary.md'), 'utf8');
    expect(md).toContain('cache hit ratio');
    expect(md).toContain(`- cache: hit ratio ${Math.round(cache!.hitRatio * 100)} %`);
  }, 120_000);

  it('pooled stage: no cache in summary.json or summary.md', async () => {
    const out = join(tmp, 'pooled');
    const r = await runCli(profileArgs('pooled', out), env);
    expect(r.code, r.stderr).toBe(0);
    const { summary } = checkRunFolder(out);
    expect(summary.routes['GET /users/:id/timeline'].requests).toBeGreaterThan(0);
    expect(summary).not.toHaveProperty('cache');
    const md = readFileSync(join(out, 'summary.md'), 'utf8');
    expect(md).not.toContain('cache hit ratio');
    expect(md).not.toContain('- cache:');
  }, 120_000);
});
