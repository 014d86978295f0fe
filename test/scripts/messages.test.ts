/**
 * Small wording faults of issue 19, each pinned: a reason never says its phase twice, an app's crash output keeps its
 * error line, a PostgreSQL refusal says what is wrong and how to fix it (not "refused: 28000"), `lab` counts stages
 * in the singular, and `profile --stage` leaves its stand-in's log in the run folder, not in the temp folder.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { withPhase } from '../../scripts/errors.js';
import { keyLines } from '../../scripts/profile/process.js';
import { describeRefusal, ensurePostgres } from '../../scripts/services.js';
import { dropDatabase } from '../../target-app/db/connection.js';
import { seed } from '../../target-app/db/seed.js';
import { runCli } from './helpers.js';

const DB_URL = 'postgres://postgres@127.0.0.1:5432/looplens_test_scripts_msgs';
const tmp = mkdtempSync(join(tmpdir(), 'looplens-msgs-'));
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await dropDatabase(DB_URL);
});

describe('withPhase', () => {
  it('adds the phase once', () => {
    expect(withPhase('the app exited with code 1 during load', 'load')).toBe('the app exited with code 1 during load');
    expect(withPhase('the app exited with code 1 during load', 'stage 1/2 pooled load')).toBe('the app exited with code 1 during stage 1/2 pooled load');
    expect(withPhase('the app was killed by SIGKILL during warmup', 'load')).toBe('the app was killed by SIGKILL during warmup (during load)');
    expect(withPhase('autocannon failed', 'load')).toBe('autocannon failed (during load)');
  });
});

describe('keyLines', () => {
  it("keeps the error line of a Node crash, folding each stack to its first frame and dropping Node's banner", () => {
    const crash = [
      'node:internal/modules/cjs/loader:1210',
      '  throw err;',
      '  ^',
      "Error: Cannot find module 'nope'",
      'Require stack:',
      '- /app/[eval]',
      ...Array.from({ length: 10 }, (_, i) => `    at frame${i} (node:internal/x:${i}:1)`),
      "  code: 'MODULE_NOT_FOUND',",
      '  requireStack: []',
      '}',
      'Node.js v20.20.2',
    ];
    const shown = keyLines(crash);
    expect(shown.length).toBeLessThanOrEqual(8);
    expect(shown).toContain("Error: Cannot find module 'nope'");
    expect(shown).toContain('    at frame0 (node:internal/x:0:1)');
    expect(shown).not.toContain('    at frame1 (node:internal/x:1:1)');
    expect(shown.at(-1)).toBe('}');
    // plain output is left alone
    expect(keyLines(['a', 'b', 'c'])).toEqual(['a', 'b', 'c']);
  });
});

describe('PostgreSQL refusals', () => {
  it('a role that does not exist: says so and how to fix it, from the real server', async () => {
    const url = 'postgres://looplens_no_such_role@127.0.0.1:5432/looplens_test_scripts_msgs';
    const err = await ensurePostgres({ url, log: () => {} }).then(
      () => null,
      (e: unknown) => e as { code: string; message: string; fix: string },
    );
    expect(err?.code).toBe('SERVICE_UNAVAILABLE');
    expect(err?.message).toBe(`PostgreSQL at ${url} refused: role "looplens_no_such_role" does not exist`);
    expect(err?.message).not.toMatch(/28000/);
    expect(err?.fix).toContain('CREATE ROLE "looplens_no_such_role" LOGIN');
    expect(err?.fix).toContain('DATABASE_URL');
  });

  it('other codes get their own fix; unknown ones keep the code beside the message', () => {
    expect(describeRefusal({ code: '28P01', message: 'password authentication failed for user "u"' }, 'postgres://u:x@h/db').fix).toContain('password for "u"');
    expect(describeRefusal({ code: '42501', message: 'permission denied to create database' }, 'postgres://u@h/db').fix).toContain('CREATEDB');
    expect(describeRefusal({ code: 'XX000', message: 'odd' }, 'postgres://u@h/db').what).toBe('odd (XX000)');
  });
});

describe('the CLI', () => {
  it('profile --stage keeps the stand-in log in the run folder, not in the temp folder; lab says "1 stage"', async () => {
    await seed({ databaseUrl: DB_URL, scale: 200 });
    const tmpDir = join(tmp, 'TMPDIR');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(tmpDir);
    const out = join(tmp, 'run');
    const r = await runCli(['profile', '--stage', 'pooled', '--ids', '200', '--duration', '1', '--warmup', '0', '--connections', '2', '--out', out], { DATABASE_URL: DB_URL, TMPDIR: tmpDir });
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(tmpDir).filter((n) => n.startsWith('looplens-upstream-'))).toEqual([]);
    expect(existsSync(join(out, 'upstream.log'))).toBe(true);

    const posts = async () => {
      const c = new pg.Client(DB_URL);
      await c.connect();
      try {
        return (await c.query('SELECT count(*)::int AS n FROM posts')).rows[0].n as number;
      } finally {
        await c.end();
      }
    };
    const before = await posts();
    const lab = await runCli(['lab', '--stages', 'pooled', '--scale', '200', '--duration', '1', '--warmup', '0', '--connections', '2', '--out', join(tmp, 'lab')], {
      DATABASE_URL: DB_URL,
      REDIS_URL: 'redis://127.0.0.1:6379/2',
    });
    expect(lab.code, lab.stderr).toBe(0);
    expect(lab.stdout).toMatch(/\(1 stage; open lab\.md\)/);
    // the lab never wrote to the seeded database (it ran on its copy; profile --stage, above, runs on it directly)
    expect(await posts()).toBe(before);
  }, 180_000);
});
