/** Ctrl-C during load: exit 130, run.json complete:false with the reason, and no process of the app left. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { readRunInfo } from '../../profiles/contract/read.js';
import { FIXTURE, errorLines, processesWith, startCli } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'looplens-int-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function waitForPhase(dir: string, phase: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const file = join(dir, 'run.json');
    if (existsSync(file) && JSON.parse(readFileSync(file, 'utf8')).phase === phase) return;
    await sleep(100);
  }
  throw new Error(`run never reached phase ${phase}`);
}

describe('Ctrl-C', () => {
  it('SIGINT to the CLI during load stops everything and marks the run incomplete', async () => {
    const out = join(tmp, 'run');
    const marker = `marker-int-${process.pid}`;
    const { child, done } = startCli(['profile', '--path', '/block', '--duration', '60', '--warmup', '0', '--out', out, '--', 'node', FIXTURE, marker]);
    await waitForPhase(out, 'load', 60_000);
    await sleep(1000);
    expect(processesWith(marker).length).toBeGreaterThan(0);
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/\[INTERRUPTED\]$/);
    const info = readRunInfo(out);
    expect(info.complete).toBe(false);
    expect(info.reason).toBe('interrupted by Ctrl-C during load');
    expect(info.endedAt).toBeTruthy();
    expect(processesWith(marker)).toEqual([]);
  }, 120_000);
});
