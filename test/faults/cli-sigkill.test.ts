/**
 * SIGKILL of looplens itself mid-load (nothing it can catch): every process it started — the app, 0x with the app
 * under it, the lab's external-services stand-in and the reference app — must be gone within seconds. The probes'
 * parent watch (probes/parent-watch.ts) takes the app's process group down; target-app's own watchdog stops the
 * stand-in. Processes are found by the test tag in /proc/<pid>/environ (helpers-cli.ts).
 * Uses its own database (looplens_test_faults_sigkill, dropped at the end) and Redis db 3.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { dropDatabase } from '../../target-app/db/connection.js';
import { FIXTURE, expectNoOrphans, killTagged, processesTagged, startCli, waitForPhase } from './helpers-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'looplens-faults-kill-'));
const DB = 'postgres://postgres@127.0.0.1:5432/looplens_test_faults_sigkill';
const tags: string[] = [];
afterAll(async () => {
  for (const t of tags) killTagged(t);
  rmSync(tmp, { recursive: true, force: true });
  // the killed lab could not drop its copy of the database (the next lab would): drop it here
  const admin = new pg.Client('postgres://postgres@127.0.0.1:5432/postgres');
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'looplens\\_test\\_faults\\_sigkill\\_lab\\_%'`);
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  await dropDatabase(DB);
});

/** SIGKILL the CLI once `dir`'s run.json says load, then expect every tagged process gone within `graceMs`. */
async function killDuringLoad(args: string[], dir: string, minProcesses: number, graceMs = 4000): Promise<void> {
  const cli = startCli(args, { DATABASE_URL: DB, REDIS_URL: 'redis://127.0.0.1:6379/3' });
  tags.push(cli.tag);
  await waitForPhase(dir, 'load', 120_000);
  await sleep(500);
  const before = processesTagged(cli.tag);
  expect(before.length, before.map((p) => p.cmd).join('\n')).toBeGreaterThanOrEqual(minProcesses);
  cli.child.kill('SIGKILL');
  const r = await cli.done;
  expect(r.signal).toBe('SIGKILL');
  await expectNoOrphans(cli.tag, graceMs);
}

describe('SIGKILL of looplens mid-load leaves no process behind', () => {
  it('profile -- node app', async () => {
    const out = join(tmp, 'plain');
    await killDuringLoad(['profile', '--out', out, '--path', '/', '--warmup', '0', '--duration', '60', '--', 'node', FIXTURE], out, 2);
  });

  it('profile --profiler 0x: 0x and the app under it', async () => {
    const out = join(tmp, '0x');
    await killDuringLoad(['profile', '--profiler', '0x', '--out', out, '--path', '/', '--warmup', '0', '--duration', '60', '--', 'node', FIXTURE], out, 3);
  }, 60_000);

  it('lab: the stage app and the external-services stand-in', async () => {
    const out = join(tmp, 'lab');
    await killDuringLoad(['lab', '--scale', '200', '--stages', 'pooled', '--warmup', '0', '--duration', '60', '--connections', '2', '--out', out], join(out, '01-pooled'), 3);
  }, 150_000);
});
