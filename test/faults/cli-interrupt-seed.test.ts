/**
 * Ctrl-C while `looplens lab` seeds: the seeder's statements must stop in PostgreSQL too (before, the server ran
 * them to the end and the next run silently waited ~20 s on the schema lock). After the CLI exits, no session of the
 * seeder is left on the database, and the next seed takes the lock at once and seeds from scratch.
 * Database looplens_test_faults_seedint (dropped at the end), Redis db 3.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { dropDatabase } from '../../target-app/db/connection.js';
import { expectNoOrphans, killTagged, oneError, runCli, startCli, waitForStderr } from './helpers-cli.js';

const DB = 'looplens_test_faults_seedint';
const DB_URL = `postgres://postgres@127.0.0.1:5432/${DB}`;
const tmp = mkdtempSync(join(tmpdir(), 'looplens-faults-seedint-'));
const tags: string[] = [];
afterAll(async () => {
  for (const t of tags) killTagged(t);
  rmSync(tmp, { recursive: true, force: true });
  await dropDatabase(DB_URL);
});

async function seedSessions(): Promise<{ pid: number; app: string; state: string }[]> {
  const c = new pg.Client('postgres://postgres@127.0.0.1:5432/postgres');
  await c.connect();
  try {
    const { rows } = await c.query(`SELECT pid, application_name AS app, state FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'looplens-seed/%'`, [DB]);
    return rows;
  } finally {
    await c.end();
  }
}

describe('Ctrl-C while the lab seeds', () => {
  it("ends the seed's statements in PostgreSQL; the next seed neither waits nor finds a half-seeded database", async () => {
    const cli = startCli(['lab', '--scale', '80000', '--stages', 'pooled', '--duration', '1', '--warmup', '0', '--out', join(tmp, 'lab')], {
      DATABASE_URL: DB_URL,
      REDIS_URL: 'redis://127.0.0.1:6379/3',
    });
    tags.push(cli.tag);
    await waitForStderr(cli, (s) => s.includes('[seed]'), 60_000);
    // the seeder's statements are running in PostgreSQL
    const until = Date.now() + 30_000;
    while (!(await seedSessions()).some((s) => s.state === 'active')) {
      expect(cli.child.exitCode, cli.stderr()).toBeNull();
      expect(Date.now() < until, `no active seed session within 30 s:\n${cli.stderr()}`).toBe(true);
      await sleep(100);
    }
    await sleep(1000);
    cli.child.kill('SIGINT');
    const r = await cli.done;
    expect(r.code, r.stderr).toBe(130);
    expect(oneError(r.stderr, 'INTERRUPTED')).toContain('during seed');
    await expectNoOrphans(cli.tag);
    // gone by the time the CLI has exited, not seconds later
    expect(await seedSessions()).toEqual([]);

    const next = await runCli(['db', 'seed', '--scale', '300'], { DATABASE_URL: DB_URL });
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).not.toMatch(/waiting/);
    expect(next.stdout).toMatch(/seeded: .*"users":300.*"skipped":false/);
    expect(next.ms).toBeLessThan(20_000);
  }, 120_000);
});
