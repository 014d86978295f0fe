/**
 * Real, short `looplens profile` runs of a fixture app with a known blocking function, under each profiler we
 * support in CI (none, 0x, clinic doctor); every file of the contract is validated.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readBlocking, readEventLoop } from '../../profiles/contract/read.js';
import { FIXTURE, checkRunFolder, processesWith, runCli } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'looplens-profile-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const BLOCKER = 'looplensFixtureBusyWait';
const load = ['--path', '/', '--path', '/block', '--duration', '3', '--warmup', '1', '--connections', '4'];

describe('looplens profile (fixture app)', () => {
  it('--profiler none: every contract file, per-path stats, the blocking function in stacks and flamegraph', async () => {
    const out = join(tmp, 'none');
    const marker = `marker-none-${process.pid}`;
    const r = await runCli(['profile', ...load, '--out', out, '--', 'node', FIXTURE, marker]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('run folder:');
    const { info, summary, folded, flamegraph } = checkRunFolder(out);
    expect(info.profiler).toBe('none');
    expect(info.command).toEqual(['node', FIXTURE, marker]);
    expect(info.load).toMatchObject({ durationS: 3, warmupS: 1, connections: 4, paths: ['/', '/block'] });
    expect(Object.keys(summary.routes).sort()).toEqual(['GET /', 'GET /block']);
    expect(summary.routes['GET /block'].requests).toBeGreaterThan(10);
    expect(summary.overall.requests).toBe(summary.routes['GET /'].requests + summary.routes['GET /block'].requests);
    // 30 ms busy-waits in a loop whose threshold is 20 ms
    expect(summary.blocking.count).toBeGreaterThan(5);
    expect(summary.eventLoop.delayMs.max).toBeGreaterThan(20);
    expect(folded).toContain(`${BLOCKER} (test/scripts/fixtures/blocking-app.mjs:`);
    expect(flamegraph).toContain(BLOCKER);
    expect(processesWith(marker)).toEqual([]);
  });

  it('--workers 2: the cluster workers\' probe files are merged into the top-level files', async () => {
    const out = join(tmp, 'workers');
    const r = await runCli(['profile', ...load, '--workers', '2', '--out', out, '--', 'node', FIXTURE]);
    expect(r.code, r.stderr).toBe(0);
    const { info, summary, folded } = checkRunFolder(out);
    expect(info.workers).toBe(2);
    expect(info.notes?.join(' ')).toContain('2 worker processes');
    const workers = readdirSync(join(out, 'workers'));
    expect(workers).toHaveLength(2);
    // both workers sampled their loops, and every worker's blocking events are in the merged file
    for (const w of workers) expect(readEventLoop(join(out, 'workers', w)).length).toBeGreaterThan(0);
    const perWorker = workers.map((w) => readBlocking(join(out, 'workers', w)).events.length);
    expect(perWorker[0] + perWorker[1]).toBeGreaterThan(0);
    expect(readBlocking(out).events.length).toBeGreaterThanOrEqual(perWorker[0] + perWorker[1]);
    expect(summary.blocking.count).toBeGreaterThan(0);
    expect(folded).toContain(BLOCKER);
  });

  it('--profiler 0x: 0x flamegraph in the run folder, plus every looplens file', async () => {
    const out = join(tmp, '0x');
    const r = await runCli(['profile', ...load, '--profiler', '0x', '--out', out, '--', 'node', FIXTURE]);
    expect(r.code, r.stderr).toBe(0);
    const { info, folded, flamegraph } = checkRunFolder(out);
    expect(info.profilerOutputs).toContain('0x/flamegraph.html');
    expect(existsSync(join(out, '0x/flamegraph.html'))).toBe(true);
    // 0x's own graph sees the load: V8 writes no --prof ticks while a CPU profiler runs, so the probes' is off
    expect(readFileSync(join(out, '0x/flamegraph.html'), 'utf8')).toContain(BLOCKER);
    // profile.cpuprofile comes from 0x's ticks: the busy-wait, 30 ms of every /block request, dominates its samples
    const total = folded.trim().split('\n').reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    const inBlocker = folded.trim().split('\n').filter((l) => l.includes(`${BLOCKER} (test/scripts/fixtures/blocking-app.mjs:`)).reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    expect(total).toBeGreaterThan(500);
    expect(inBlocker / total).toBeGreaterThan(0.2);
    expect(flamegraph).toContain(BLOCKER);
    // the blocking detector is off under 0x, and the run says so instead of reporting "no blocking"
    expect(readBlocking(out).events).toEqual([]);
    expect(info.notes?.join(' ')).toContain('blocked time was not measured');
  }, 150_000);

  it('--profiler doctor: clinic doctor HTML in the run folder, plus every looplens file', async () => {
    const out = join(tmp, 'doctor');
    const r = await runCli(['profile', ...load, '--profiler', 'doctor', '--out', out, '--', 'node', FIXTURE]);
    expect(r.code, r.stderr).toBe(0);
    const { info, flamegraph } = checkRunFolder(out);
    const html = info.profilerOutputs?.find((p) => p.endsWith('.clinic-doctor.html'));
    expect(html).toBeTruthy();
    expect(readFileSync(join(out, html!), 'utf8').length).toBeGreaterThan(10_000);
    expect(flamegraph).toContain(BLOCKER);
  }, 150_000);

  it('--profiler flame: finishes (clinic gets Ctrl-C with the app, as 0x does), clinic flame HTML plus every looplens file', async () => {
    const out = join(tmp, 'flame');
    const r = await runCli(['profile', ...load, '--profiler', 'flame', '--analysis-timeout', '60', '--out', out, '--', 'node', FIXTURE]);
    expect(r.code, r.stderr).toBe(0);
    const { info, flamegraph } = checkRunFolder(out);
    expect(info.profilerOutputs?.find((p) => p.endsWith('.clinic-flame.html'))).toBeTruthy();
    expect(flamegraph).toContain(BLOCKER);
    expect(readBlocking(out).events.length).toBeGreaterThan(0);
    expect(info.notes?.join(' ')).toContain("clinic flame's own graph misses the load");
  }, 150_000);
});
