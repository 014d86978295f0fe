/**
 * Ctrl-C while a run's analysis works (synchronous work: the signal reaches looplens only when it yields). Before,
 * `profile` finished, marked the run complete and exited 0; a lab then blamed the Ctrl-C on the next stage's
 * start. Now: exit 130 with one INTERRUPTED line naming the analysis, run.json complete:false with the reason, and a
 * lab stops there, naming the stage that was analysing, without starting the next one.
 * Database looplens_test_faults_analysis (dropped at the end), Redis db 3.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { readLab, readRunInfo } from '../../profiles/contract/read.js';
import { dropDatabase } from '../../target-app/db/connection.js';
import { FIXTURE, expectNoOrphans, killTagged, oneError, startCli } from './helpers-cli.js';

const DB_URL = 'postgres://postgres@127.0.0.1:5432/looplens_test_faults_analysis';
const tmp = mkdtempSync(join(tmpdir(), 'looplens-faults-analysis-'));
const tags: string[] = [];
afterAll(async () => {
  for (const t of tags) killTagged(t);
  rmSync(tmp, { recursive: true, force: true });
  await dropDatabase(DB_URL);
});

/** Polls run.json every 10 ms until it says `phase` (the analysis of these runs lasts about a second). */
async function atPhase(dir: string, phase: string, timeoutMs: number): Promise<void> {
  const file = join(dir, 'run.json');
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      if (JSON.parse(readFileSync(file, 'utf8')).phase === phase) return;
    } catch {
      /* not there yet, or being rewritten */
    }
    await sleep(10);
  }
  throw new Error(`${dir} never reached ${phase}`);
}

describe('Ctrl-C during the analysis', () => {
  it('profile: exit 130, run.json incomplete "during analysing"', async () => {
    const out = join(tmp, 'profile');
    // ~40,000 requests: the analysis takes a couple of seconds
    const cli = startCli(['profile', '--out', out, '--path', '/', '--warmup', '0', '--duration', '4', '--connections', '20', '--', 'node', FIXTURE]);
    tags.push(cli.tag);
    await atPhase(out, 'analysing', 60_000);
    cli.child.kill('SIGINT');
    const r = await cli.done;
    expect(r.code, r.stderr).toBe(130);
    expect(oneError(r.stderr, 'INTERRUPTED')).toContain('interrupted by Ctrl-C during analysing');
    expect(r.stdout).not.toContain('run folder:');
    await expectNoOrphans(cli.tag);
    const info = readRunInfo(out);
    expect(info.complete).toBe(false);
    expect(info.reason).toBe('interrupted by Ctrl-C during analysing');
  }, 90_000);

  it('lab: stops at the stage that was analysing; the next stage never starts', async () => {
    const out = join(tmp, 'lab');
    const cli = startCli(
      ['lab', '--stages', 'pooled,cached', '--scale', '300', '--warmup', '0', '--duration', '4', '--connections', '10', '--out', out],
      { DATABASE_URL: DB_URL, REDIS_URL: 'redis://127.0.0.1:6379/3' },
    );
    tags.push(cli.tag);
    await atPhase(join(out, '01-pooled'), 'analysing', 150_000);
    cli.child.kill('SIGINT');
    const r = await cli.done;
    expect(r.code, r.stderr).toBe(130);
    expect(oneError(r.stderr, 'INTERRUPTED')).toContain('interrupted by Ctrl-C during stage 1/2 pooled analysing — ');
    await expectNoOrphans(cli.tag);
    const lab = readLab(out);
    expect(lab.complete).toBe(false);
    expect(lab.reason).toBe('interrupted by Ctrl-C during stage 1/2 pooled analysing');
    expect(existsSync(join(out, '02-cached'))).toBe(false);
    const first = readRunInfo(join(out, '01-pooled'));
    expect(first.complete).toBe(false);
    expect(first.reason).toBe('interrupted by Ctrl-C during analysing');
  }, 240_000);
});
