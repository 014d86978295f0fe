/**
 * A service looplens or target-app needs is down (pointed at a closed port; the shared PostgreSQL and Redis are never
 * touched): `profile` of target-app and `lab` fail with one actionable line [SERVICE_UNAVAILABLE], exit 1, before
 * starting anything that could be left running (checked by the test tag in /proc/<pid>/environ).
 * `lab` falls back to an embedded PostgreSQL / a spawned redis-server when none is reachable (README, scripts/services.ts),
 * so for the lab the cases are a PostgreSQL that refuses us and a Redis that is down with no redis-server to start.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropDatabase } from '../../target-app/db/connection.js';
import { afterAll, describe, expect, it } from 'vitest';
import { readLab } from '../../profiles/contract/read.js';
import { expectNoOrphans, killTagged, oneError, runCli } from './helpers-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'looplens-faults-svc-'));
const DB = 'looplens_test_faults_svc';
const tags: string[] = [];
afterAll(async () => {
  for (const t of tags) killTagged(t);
  rmSync(tmp, { recursive: true, force: true });
  await dropDatabase(`postgres://postgres@127.0.0.1:5432/${DB}`);
});

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

describe('profile of target-app with a service down', () => {
  it('PostgreSQL unreachable → SERVICE_UNAVAILABLE naming the URL (password hidden), nothing started', async () => {
    const port = await closedPort();
    const out = join(tmp, 'pg-down');
    const r = await runCli(['profile', '--stage', 'pooled', '--duration', '1', '--warmup', '0', '--out', out], {
      DATABASE_URL: `postgres://postgres:hunter2@127.0.0.1:${port}/looplens_test_faults_nowhere`,
    });
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(1);
    const line = oneError(r.stderr, 'SERVICE_UNAVAILABLE');
    expect(line).toContain(`PostgreSQL is not reachable at postgres://postgres:***@127.0.0.1:${port}/`);
    expect(line).toContain('DATABASE_URL');
    expect(line).not.toContain('hunter2');
    expect(existsSync(out)).toBe(false);
    await expectNoOrphans(r.tag);
  });

  it('Redis unreachable for the cached stage → SERVICE_UNAVAILABLE (not a cached run without its cache)', async () => {
    const port = await closedPort();
    const out = join(tmp, 'redis-down');
    const r = await runCli(['profile', '--stage', 'cached', '--duration', '1', '--warmup', '0', '--out', out], { REDIS_URL: `redis://127.0.0.1:${port}/3` });
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(1);
    const line = oneError(r.stderr, 'SERVICE_UNAVAILABLE');
    expect(line).toContain(`Redis is not reachable at redis://127.0.0.1:${port}/3`);
    expect(line).toContain('REDIS_URL');
    expect(existsSync(out)).toBe(false);
    await expectNoOrphans(r.tag);
  });
});

describe('lab with a service down', () => {
  it('PostgreSQL that refuses the role → SERVICE_UNAVAILABLE, lab.json incomplete during services, nothing left running', async () => {
    const out = join(tmp, 'lab-pg-refuses');
    const r = await runCli(['lab', '--scale', '20', '--stages', 'baseline', '--duration', '1', '--warmup', '0', '--out', out], {
      DATABASE_URL: 'postgres://looplens_no_such_role@127.0.0.1:5432/looplens_test_faults_nowhere',
    });
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(1);
    expect(oneError(r.stderr, 'SERVICE_UNAVAILABLE')).toMatch(/PostgreSQL at .* refused.*DATABASE_URL/);
    const lab = readLab(out);
    expect(lab.complete).toBe(false);
    expect(lab.stages).toEqual([]);
    expect(lab.reason).toContain('during services');
    await expectNoOrphans(r.tag);
  });

  it('Redis down and no redis-server on PATH → SERVICE_UNAVAILABLE saying how to install it, nothing left running', async () => {
    const port = await closedPort();
    const out = join(tmp, 'lab-redis-down');
    const r = await runCli(['lab', '--scale', '20', '--stages', 'cached', '--duration', '1', '--warmup', '0', '--out', out], {
      DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${DB}`,
      REDIS_URL: `redis://127.0.0.1:${port}`,
      PATH: '/nonexistent',
    });
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(1);
    expect(oneError(r.stderr, 'SERVICE_UNAVAILABLE')).toMatch(/install Redis .*REDIS_URL/);
    expect(readLab(out).complete).toBe(false);
    await expectNoOrphans(r.tag);
  });
});
