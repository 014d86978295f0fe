/**
 * Worker threads, through the real `looplens profile` CLI: worker-threads/app.cjs hands each GET /crunch to a worker
 * thread that blocks its own loop ~30 ms in looplensFixtureCrunch. The block is found in that thread's folder
 * (threads/<pid>-<threadId>/), with its function and the work item (message) that ran it; summary.json and
 * summary.md and the HTML report show the thread; the main loop's blocked time stays ~0 (the main thread never blocks).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBlocking, readThreads } from '../../profiles/contract/index.js';
import { APPS, CLI, profile, removeRoot, tempRoot, type Profiled } from './harness.js';

let root = '';
let run: Profiled;

beforeAll(async () => {
  root = tempRoot('worker-threads');
  run = await profile(join(APPS, 'worker-threads/app.cjs'), ['--path', '/crunch', '--path', '/clean', '--duration', '4', '--warmup', '1', '--connections', '2'], {}, root, 'threads');
}, 120_000);

afterAll(() => removeRoot(root));

describe('an app with a worker thread', () => {
  it('has the block in its thread, with its function and work item', () => {
    expect(run.code, run.output.slice(-1500)).toBe(0);
    const threads = readThreads(run.dir);
    expect(threads.length, run.output.slice(-800)).toBe(1);
    const [t] = threads;
    expect(existsSync(join(t!.dir, 'profile.cpuprofile'))).toBe(true);
    const events = t!.blocking!.events;
    expect(events.length).toBeGreaterThan(10);
    const crunch = events.filter((e) => /^looplensFixtureCrunch \(worker-threads\/crunch-worker\.cjs:\d+\)$/.test(e.topFrame));
    expect(crunch.length / events.length, events.slice(0, 5).map((e) => e.topFrame).join('; ')).toBeGreaterThanOrEqual(0.95);
    for (const e of crunch) {
      expect(e.workItem).toMatch(/^message #\d+ \(onTask\)$/);
      expect(e.id).toMatch(new RegExp(`^${t!.pid}:t${t!.threadId}\\.\\d+$`));
    }
    // the main thread never blocked: its own blocking.json has none of the worker's
    expect(readBlocking(run.dir).events.filter((e) => /looplensFixtureCrunch/.test(e.topFrame))).toEqual([]);
  });

  it('shows the thread in summary.json and summary.md', () => {
    const threads = run.summary!.threads!;
    expect(threads).toHaveLength(1);
    expect(threads[0]!.blocks).toBeGreaterThan(10);
    expect(threads[0]!.functions[0]!.topFrame).toMatch(/^looplensFixtureCrunch /);
    expect(threads[0]!.workItems).toBe(threads[0]!.blocks);
    expect(threads[0]!.cpuProfile).toBe(true);
    expect(run.summary!.blocking.msPerRequest).toBeLessThan(1);
    expect(run.summaryMd).toMatch(/## Worker threads/);
    expect(run.summaryMd).toMatch(/looplensFixtureCrunch/);
  });

  it('shows the thread in the HTML report', () => {
    const index = join(root, 'report', 'index.html');
    execFileSync(process.execPath, [CLI, 'report', run.dir, '--out', index], { encoding: 'utf8' });
    const page = readFileSync(join(root, 'report', 'report', 'threads.html'), 'utf8');
    expect(page).toMatch(/<section id="threads"><h2>Worker threads<\/h2>/);
    expect(page).toMatch(/looplensFixtureCrunch \(worker-threads\/crunch-worker\.cjs:\d+\)/);
  });
});
