/**
 * Ctrl-C while a profiler analyses (after the app got SIGINT, 0x turns its v8 log into a flamegraph and clinic doctor
 * builds its report): exit 130, one line naming the phase, run.json complete:false with the reason and the phase, and
 * no process left — neither the profiler, nor the app it wrapped, nor any helper either started (all carry the test
 * tag in their environment). bubbleprof is interrupted while it hangs after collecting, the usual reason to press
 * Ctrl-C with it (--analysis-timeout bounds that hang without Ctrl-C: cli-hang.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { readRunInfo } from '../../profiles/contract/read.js';
import { FIXTURE, ROOT, expectNoOrphans, killTagged, oneError, processesTagged, startCli, traceLogsIn, waitForPhase } from './helpers-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'looplens-faults-intp-'));
const tags: string[] = [];
afterAll(() => {
  for (const t of tags) killTagged(t);
  rmSync(tmp, { recursive: true, force: true });
});

async function interrupt(profiler: string, phase: 'stopping' | 'load', afterMs: number): Promise<void> {
  const out = join(tmp, `${profiler}-${phase}`);
  const cli = startCli(['profile', '--profiler', profiler, '--path', '/block', '--warmup', '0', '--duration', phase === 'load' ? '30' : '2', '--out', out, '--', 'node', FIXTURE]);
  tags.push(cli.tag);
  await waitForPhase(out, phase, 90_000);
  await sleep(afterMs);
  const running = processesTagged(cli.tag);
  // the CLI, the profiler and the app (at least the profiler while it analyses)
  expect(running.length, JSON.stringify(running)).toBeGreaterThan(1);
  const sentAt = Date.now();
  cli.child.kill('SIGINT');
  const r = await cli.done;
  expect(r.code, r.stderr).toBe(130);
  expect(oneError(r.stderr, 'INTERRUPTED')).toContain(`interrupted by Ctrl-C during ${phase}`);
  // the 0x/clinic analysis would take many seconds more; Ctrl-C must not wait for it
  expect(Date.now() - sentAt).toBeLessThan(15_000);
  await expectNoOrphans(cli.tag);
  const info = readRunInfo(out);
  expect(info.complete).toBe(false);
  expect(info.phase).toBe(phase);
  expect(info.reason).toBe(`interrupted by Ctrl-C during ${phase}`);
  // clinic doctor moves node's trace-event file out of the app's cwd only when its analysis completes
  expect(traceLogsIn(ROOT)).toEqual([]);
}

describe('Ctrl-C while a profiler works', () => {
  it('0x, while it builds its flamegraph', async () => {
    await interrupt('0x', 'stopping', 300);
  }, 120_000);

  it('clinic doctor, while it analyses', async () => {
    await interrupt('doctor', 'stopping', 300);
  }, 120_000);

  it('clinic bubbleprof, while it hangs after collecting (node-clinic#477)', async () => {
    await interrupt('bubbleprof', 'stopping', 1500);
  }, 120_000);
});
