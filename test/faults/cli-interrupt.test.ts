/**
 * Ctrl-C (SIGINT to the CLI) in every phase of `looplens profile` without a profiler: while waiting for the app to
 * listen, during warmup, during load, and while the app takes its time to stop. Each time: exit code 130, exactly one
 * line saying it was interrupted (and in which phase), no process left that the CLI started (found by the test tag in
 * /proc/<pid>/environ), and run.json readable with complete:false, the reason and the phase.
 * (Profilers' analysis: cli-interrupt-profilers.test.ts; the lab: cli-interrupt-lab.test.ts.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { readRunInfo } from '../../profiles/contract/read.js';
import { FIXTURE, expectNoOrphans, killTagged, oneError, processesTagged, startCli, waitForPhase } from './helpers-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'looplens-faults-int-'));
const tags: string[] = [];
afterAll(() => {
  for (const t of tags) killTagged(t);
  rmSync(tmp, { recursive: true, force: true });
});

/** An app that takes STOP_DELAY_MS to stop after SIGINT (its probes still write their files at SIGINT). */
const SLOW_STOP_APP = join(tmp, 'slow-stop-app.mjs');
writeFileSync(
  SLOW_STOP_APP,
  `import { createServer } from 'node:http';
const server = createServer((req, res) => res.end('{"ok":true}'));
server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
process.on('SIGINT', () => setTimeout(() => server.close(() => process.exit(0)), Number(process.env.STOP_DELAY_MS ?? 20000)));
`,
);

async function interruptAt(
  name: string,
  args: string[],
  phase: string,
  env: NodeJS.ProcessEnv = {},
  afterMs = 300,
): Promise<{ line: string; out: string; ms: number }> {
  const out = join(tmp, name);
  const cli = startCli(['profile', '--out', out, ...args], env);
  tags.push(cli.tag);
  await waitForPhase(out, phase, 60_000);
  await sleep(afterMs);
  expect(processesTagged(cli.tag).length, 'the app should be running before Ctrl-C').toBeGreaterThan(1);
  const sentAt = Date.now();
  cli.child.kill('SIGINT');
  const r = await cli.done;
  expect(r.code, r.stderr).toBe(130);
  const line = oneError(r.stderr, 'INTERRUPTED');
  expect(line).toContain(`interrupted by Ctrl-C during ${phase}`);
  await expectNoOrphans(cli.tag);
  const info = readRunInfo(out); // validates run.json against its schema
  expect(info.complete).toBe(false);
  expect(info.phase).toBe(phase);
  expect(info.reason).toBe(`interrupted by Ctrl-C during ${phase}`);
  expect(info.endedAt).toBeTruthy();
  return { line, out, ms: Date.now() - sentAt };
}

describe('Ctrl-C in every phase of looplens profile', () => {
  it('while waiting for the app to listen', async () => {
    await interruptAt('starting', ['--ready-timeout', '60', '--', 'node', FIXTURE], 'starting', { FIXTURE_MODE: 'silent' }, 1000);
  });

  it('during warmup', async () => {
    await interruptAt('warmup', ['--path', '/', '--warmup', '30', '--duration', '30', '--', 'node', FIXTURE], 'warmup');
  });

  it('during load', async () => {
    await interruptAt('load', ['--path', '/', '--warmup', '0', '--duration', '30', '--', 'node', FIXTURE], 'load');
  });

  it('while the app is stopping (it takes 20 s after SIGINT), twice: the rest is killed within seconds, not 20 s', async () => {
    const out = join(tmp, 'stopping');
    const cli = startCli(['profile', '--out', out, '--path', '/', '--warmup', '0', '--duration', '1', '--', 'node', SLOW_STOP_APP], { STOP_DELAY_MS: '20000' });
    tags.push(cli.tag);
    await waitForPhase(out, 'stopping', 60_000);
    await sleep(300);
    expect(processesTagged(cli.tag).length, 'the app should still be running').toBeGreaterThan(1);
    const sentAt = Date.now();
    cli.child.kill('SIGINT');
    // an impatient second Ctrl-C must not cut the cleanup short
    await sleep(200);
    cli.child.kill('SIGINT');
    const r = await cli.done;
    expect(Date.now() - sentAt).toBeLessThan(10_000);
    expect(r.code, r.stderr).toBe(130);
    expect(oneError(r.stderr, 'INTERRUPTED')).toContain('interrupted by Ctrl-C during stopping');
    await expectNoOrphans(cli.tag);
    const info = readRunInfo(out);
    expect(info.complete).toBe(false);
    expect(info.phase).toBe('stopping');
    expect(info.reason).toBe('interrupted by Ctrl-C during stopping');
  });
});
