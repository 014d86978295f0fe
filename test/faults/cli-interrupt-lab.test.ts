/**
 * Ctrl-C during `looplens lab`: while it seeds the database, and once the first stage is done and the second is
 * starting. Each time: exit 130, one line naming the phase, lab.json readable with complete:false and the reason (and
 * the stages finished so far), the interrupted stage's run.json incomplete, and no process left — not the seeder, the
 * external-services stand-in nor the app (all carry the test tag in their environment).
 * Uses its own databases (looplens_test_faults_lab*), dropped at the end.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dropDatabase } from '../../target-app/db/connection.js';
import { afterAll, describe, expect, it } from 'vitest';
import { readLab, readRunInfo } from '../../profiles/contract/read.js';
import { expectNoOrphans, killTagged, oneError, processesTagged, startCli, waitForStderr } from './helpers-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'looplens-faults-lab-'));
const SEED_DB = 'looplens_test_faults_lab_seed';
const STAGE_DB = 'looplens_test_faults_lab_stage';
const tags: string[] = [];

afterAll(async () => {
  for (const t of tags) killTagged(t);
  rmSync(tmp, { recursive: true, force: true });
  for (const db of [SEED_DB, STAGE_DB]) await dropDatabase(`postgres://postgres@127.0.0.1:5432/${db}`);
});

const common = ['--duration', '1', '--warmup', '0', '--connections', '2'];

describe('Ctrl-C during looplens lab', () => {
  it('while seeding: the seeder is stopped too', async () => {
    const out = join(tmp, 'seed');
    // a scale that takes far longer to seed than this test waits
    const cli = startCli(['lab', '--scale', '100000', '--stages', 'baseline', ...common, '--out', out], {
      DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${SEED_DB}`,
      REDIS_URL: 'redis://127.0.0.1:6379/3',
    });
    tags.push(cli.tag);
    await waitForStderr(cli, (s) => s.includes('[seed]'), 60_000);
    // the seeder is running (and has had a moment to start writing)
    const until = Date.now() + 30_000;
    while (!processesTagged(cli.tag).some((p) => p.cmd.includes('seed-main.js'))) {
      expect(cli.child.exitCode, `the lab ended before seeding:\n${cli.stderr()}`).toBeNull();
      expect(Date.now() < until, `no seeder within 30 s:\n${cli.stderr()}`).toBe(true);
      await sleep(100);
    }
    await sleep(1000);
    cli.child.kill('SIGINT');
    const r = await cli.done;
    expect(r.code, r.stderr).toBe(130);
    expect(oneError(r.stderr, 'INTERRUPTED')).toContain('interrupted by Ctrl-C during seed');
    await expectNoOrphans(cli.tag);
    const lab = readLab(out);
    expect(lab.complete).toBe(false);
    expect(lab.stages).toEqual([]);
    expect(lab.reason).toBe('interrupted by Ctrl-C during seed');
  }, 120_000);

  it('between stages: the first stage is kept, the second is marked incomplete, nothing is left running', async () => {
    const out = join(tmp, 'stages');
    const cli = startCli(['lab', '--scale', '200', '--stages', 'baseline,async-db', ...common, '--out', out], {
      DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${STAGE_DB}`,
      REDIS_URL: 'redis://127.0.0.1:6379/3',
    });
    tags.push(cli.tag);
    await waitForStderr(cli, (s) => s.includes('stage 2/2 async-db'), 110_000);
    await sleep(300);
    cli.child.kill('SIGINT');
    const r = await cli.done;
    expect(r.code, r.stderr).toBe(130);
    expect(oneError(r.stderr, 'INTERRUPTED')).toMatch(/interrupted by Ctrl-C during stage 2\/2 async-db (starting|warmup|load)/);
    await expectNoOrphans(cli.tag);
    const lab = readLab(out);
    expect(lab.complete).toBe(false);
    expect(lab.stages.map((s) => s.stage)).toEqual(['baseline']);
    expect(lab.reason).toMatch(/^interrupted by Ctrl-C during stage 2\/2 async-db (starting|warmup|load)$/);
    expect(readRunInfo(join(out, lab.stages[0]!.run)).complete).toBe(true);
    const second = join(out, '02-async-db');
    expect(existsSync(join(second, 'run.json'))).toBe(true);
    const info = readRunInfo(second);
    expect(info.complete).toBe(false);
    expect(info.reason).toMatch(/^interrupted by Ctrl-C during (starting|warmup|load)$/);
  }, 150_000);
});
