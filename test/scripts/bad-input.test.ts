/** Bad input → one actionable line (`looplens: … [CODE]`), a non-zero exit code, and no process left behind. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { readLab, readRunInfo } from '../../profiles/contract/read.js';
import { FIXTURE, errorLines, processesWith, runCli } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'looplens-bad-'));
const SVC_DB = 'looplens_test_cli_svc';
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  const c = new pg.Client('postgres://postgres@127.0.0.1:5432/postgres');
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${SVC_DB} WITH (FORCE)`);
  await c.end();
});

function oneError(stderr: string, code: string): string {
  const lines = errorLines(stderr);
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^looplens: .+ — .+ \\[${code}\\]$`));
  expect(stderr).not.toMatch(/\n\s+at /); // no stack
  return lines[0];
}

describe('bad input to the CLI', () => {
  it('unknown flag → USAGE_UNKNOWN_FLAG, exit 2', async () => {
    const r = await runCli(['profile', '--conections', '3', '--', 'node', FIXTURE]);
    expect(r.code).toBe(2);
    expect(oneError(r.stderr, 'USAGE_UNKNOWN_FLAG')).toContain('--connections');
  });

  it('unknown command → USAGE_UNKNOWN_COMMAND, exit 2', async () => {
    const r = await runCli(['profiel']);
    expect(r.code).toBe(2);
    oneError(r.stderr, 'USAGE_UNKNOWN_COMMAND');
  });

  it('unknown stage → UNKNOWN_STAGE, exit 2 (profile and lab)', async () => {
    const r = await runCli(['profile', '--stage', 'turbo']);
    expect(r.code).toBe(2);
    expect(oneError(r.stderr, 'UNKNOWN_STAGE')).toContain('baseline');
    const lab = await runCli(['lab', '--stages', 'baseline,cachd']);
    expect(lab.code).toBe(2);
    expect(oneError(lab.stderr, 'UNKNOWN_STAGE')).toContain('did you mean cached');
  });

  it('unknown profiler → UNKNOWN_PROFILER, exit 2', async () => {
    const r = await runCli(['profile', '--profiler', 'perf', '--', 'node', FIXTURE]);
    expect(r.code).toBe(2);
    expect(oneError(r.stderr, 'UNKNOWN_PROFILER')).toContain('0x');
  });

  it('no command → USAGE_MISSING_COMMAND, exit 2', async () => {
    const r = await runCli(['profile', '--path', '/']);
    expect(r.code).toBe(2);
    oneError(r.stderr, 'USAGE_MISSING_COMMAND');
  });

  it('port taken → PORT_IN_USE, exit 1, before anything starts', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const marker = `marker-port-${process.pid}`;
      const r = await runCli(['profile', '--port', String(port), '--out', join(tmp, 'port'), '--', 'node', FIXTURE, marker]);
      expect(r.code).toBe(1);
      expect(oneError(r.stderr, 'PORT_IN_USE')).toContain(String(port));
      expect(processesWith(marker)).toEqual([]);
    } finally {
      server.close();
    }
  });

  it('a command that exits at once → APP_EXITED with its last stderr lines; run.json says why', async () => {
    const out = join(tmp, 'exits');
    const r = await runCli(['profile', '--out', out, '--', 'node', FIXTURE], { FIXTURE_MODE: 'exit' });
    expect(r.code).toBe(1);
    expect(oneError(r.stderr, 'APP_EXITED')).toContain('exited with code 3');
    expect(r.stderr).toContain('fixture: failing on purpose');
    const info = readRunInfo(out);
    expect(info.complete).toBe(false);
    expect(info.reason).toContain('before listening');
    expect(info.phase).toBe('starting');
    expect(readFileSync(join(out, 'app.log'), 'utf8')).toContain('failing on purpose');
  });

  it('a command that never listens → APP_NOT_LISTENING after --ready-timeout, and it is killed', async () => {
    const out = join(tmp, 'silent');
    const marker = `marker-silent-${process.pid}`;
    const r = await runCli(['profile', '--ready-timeout', '6', '--out', out, '--', 'node', FIXTURE, marker], { FIXTURE_MODE: 'silent' });
    expect(r.code).toBe(1);
    expect(oneError(r.stderr, 'APP_NOT_LISTENING')).toContain('within 6 s');
    expect(readRunInfo(out).complete).toBe(false);
    expect(processesWith(marker)).toEqual([]);
  });

  it('a command that does not exist → APP_EXITED', async () => {
    const r = await runCli(['profile', '--out', join(tmp, 'enoent'), '--', 'no-such-binary-looplens']);
    expect(r.code).toBe(1);
    oneError(r.stderr, 'APP_EXITED');
  });

  it('--out not empty → OUT_NOT_EMPTY', async () => {
    const r = await runCli(['profile', '--out', join(tmp, 'exits'), '--', 'node', FIXTURE]);
    expect(r.code).toBe(1);
    oneError(r.stderr, 'OUT_NOT_EMPTY');
  });

  it('profile --stage on a database that is missing or not seeded → DB_NOT_SEEDED before anything starts', async () => {
    const missing = await runCli(['profile', '--stage', 'async-db', '--duration', '1', '--warmup', '0', '--out', join(tmp, 'unseeded-1')], {
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/looplens_test_cli_never_created',
    });
    expect(missing.code).toBe(1);
    expect(oneError(missing.stderr, 'DB_NOT_SEEDED')).toMatch(/is not seeded: every target-app route would answer 404 .*looplens db seed/);
    // migrated (the tables exist) but never seeded
    const migrate = await runCli(['db', 'migrate'], { DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${SVC_DB}` });
    expect(migrate.code, migrate.stderr).toBe(0);
    const empty = await runCli(['profile', '--stage', 'async-db', '--duration', '1', '--warmup', '0', '--out', join(tmp, 'unseeded-2')], {
      DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${SVC_DB}`,
    });
    expect(empty.code).toBe(1);
    oneError(empty.stderr, 'DB_NOT_SEEDED');
    expect(empty.stderr).not.toContain('RUN_EMPTY');
    // a role the server does not know: the refusal, said plainly (not INTERNAL, not "28000")
    const role = await runCli(['profile', '--stage', 'async-db', '--duration', '1', '--warmup', '0', '--out', join(tmp, 'unseeded-3')], {
      DATABASE_URL: 'postgres://looplens_no_such_role@127.0.0.1:5432/looplens',
    });
    expect(role.code).toBe(1);
    expect(oneError(role.stderr, 'SERVICE_UNAVAILABLE')).toMatch(/refused: role "looplens_no_such_role" does not exist/);
  });

  it('a database that refuses us → SERVICE_UNAVAILABLE', async () => {
    const r = await runCli(['db', 'migrate'], { DATABASE_URL: 'postgres://looplens_no_such_role@127.0.0.1:5432/looplens_test_cli_nowhere' });
    expect(r.code).toBe(1);
    expect(oneError(r.stderr, 'SERVICE_UNAVAILABLE')).toContain('DATABASE_URL');
  });

  it('no Redis and no redis-server to start → SERVICE_UNAVAILABLE from lab, before any stage', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    server.close();
    const out = join(tmp, 'lab-noredis');
    const r = await runCli(['lab', '--scale', '20', '--out', out], {
      DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${SVC_DB}`,
      REDIS_URL: `redis://127.0.0.1:${port}`,
      PATH: '/nonexistent', // no redis-server to fall back on (children are started with process.execPath)
    });
    expect(r.code).toBe(1);
    oneError(r.stderr, 'SERVICE_UNAVAILABLE');
    const lab = readLab(out);
    expect(lab.complete).toBe(false);
    expect(lab.stages).toEqual([]);
    expect(lab.reason).toContain('during services');
  });
});
