/**
 * The second seed article as a lab, on a real run: `looplens lab --story blocking-io` briefly (4 s a stage), then
 * the large, robust effects the story stands on — the innocent route's p99 in `sync` many times its p99 in `async`,
 * and its requests waiting behind the others' blocks; no blocked time in `offloaded` and `async`; the offload pool
 * queueing past its threads; with more workers, blocked ms per request still above zero while throughput rises, each
 * worker blocking on its own; diagnose naming the synchronous call in `sync` (with its caller and the offload/async
 * fix) and nothing in `async`; and sync → async as a compare whose gate passes without an unlike-runs warning.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFindings, readLab } from '../../profiles/contract/read.js';
import type { LabFile, LabStage } from '../../profiles/contract/types.js';
import { BIN, ROOT } from './helpers.js';

const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/looplens_test_story';
const tmp = mkdtempSync(join(tmpdir(), 'looplens-story-lab-'));
const out = join(tmp, 'lab');
const cores = cpus().length;
let lab: LabFile;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, DATABASE_URL, LOOPLENS_QUIET: '1' }, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const stage = (name: string): LabStage => {
  const s = lab.stages.find((x) => x.stage === name);
  expect(s, `stage ${name}`).toBeDefined();
  return s!;
};
const health = (name: string) => stage(name).summary.routes['GET /health']!;

beforeAll(async () => {
  const r = await cli(['lab', '--story', 'blocking-io', '--duration', '4', '--warmup', '1', '--connections', '10', '--out', out]);
  expect(r.code, r.stderr.slice(-3000)).toBe(0);
  lab = readLab(out);
}, 300_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('looplens lab --story blocking-io', () => {
  it('runs sync, offloaded, async, and sync on cores and 2 × cores workers, under one load', () => {
    const workers = [...new Set([cores, 2 * cores])];
    expect(lab.complete).toBe(true);
    expect(lab.stages.map((s) => s.stage)).toEqual(['sync', 'offloaded', 'async', ...workers.map((n) => `sync-workers-${n}`)]);
    expect(lab.story?.name).toBe('blocking-io');
    expect(lab.settings.load.scenario).toBe('blocking-io');
    for (const n of workers) expect(stage(`sync-workers-${n}`).workers).toBe(n);
    // every stage served both routes, and nothing failed
    for (const s of lab.stages) {
      expect(Object.keys(s.summary.routes).sort()).toEqual(['GET /blocking-io', 'GET /health']);
      expect(s.summary.overall.errors + s.summary.overall.non2xx).toBe(0);
    }
  });

  it('the innocent route: p99 in sync many times its p99 in async, its requests waiting behind the others\' blocks', () => {
    expect(health('sync').latencyMs.p99).toBeGreaterThan(5 * health('async').latencyMs.p99);
    // it never blocks itself: its waiting is the blocking call's, and there is none in async
    expect(health('sync').blockedMsPerRequest).toBe(0);
    expect(health('sync').waitedMsPerRequest).toBeGreaterThan(20);
    expect(health('async').waitedMsPerRequest ?? 0).toBe(0);
  });

  it('blocked ms per request: above zero in sync, 0 in offloaded and async', () => {
    expect(stage('sync').summary.blocking.msPerRequest).toBeGreaterThan(10);
    expect(stage('offloaded').summary.blocking.msPerRequest).toBe(0);
    expect(stage('async').summary.blocking.msPerRequest).toBe(0);
  });

  it('the offload pool: its threads all busy, calls queue for one', () => {
    const pool = stage('offloaded').summary.offloadPool!;
    expect(pool).toBeDefined();
    expect(pool.size).toBe(4);
    expect(pool.calls).toBeGreaterThan(20);
    // 10 connections, half of their requests to the slow route, 4 threads: most calls wait
    expect(pool.queued).toBeGreaterThan(pool.calls / 4);
    expect(pool.waitMsPerQueuedCall).toBeGreaterThan(5);
    // the same call behind the pool's queue is slower than without any pool
    expect(stage('offloaded').summary.routes['GET /blocking-io']!.latencyMs.p50).toBeGreaterThan(stage('async').summary.routes['GET /blocking-io']!.latencyMs.p50);
  });

  it('more workers: throughput rises, blocked ms per request stays above zero, in every worker', () => {
    const sync = stage('sync').summary;
    const clustered = lab.stages.filter((s) => s.stage.startsWith('sync-workers-'));
    for (const s of clustered) {
      expect(s.summary.blocking.msPerRequest, s.stage).toBeGreaterThan(10);
      expect(s.summary.overall.rps, s.stage).toBeGreaterThan(1.3 * sync.overall.rps);
      const servers = (s.summary.processes ?? []).filter((p) => p.role === 'server');
      expect(servers.length, s.stage).toBe(s.workers);
      for (const p of servers) {
        expect(p.blocks, `${s.stage} worker ${p.pid}`).toBeGreaterThan(0);
        expect(p.blockedMsPerRequest).toBeGreaterThan(5);
        expect(p.eventLoop, 'its own loop figures').toBeDefined();
        expect(p.rssMb!.p50).toBeGreaterThan(10);
      }
      // and the primary that forks them, with its own memory
      expect((s.summary.processes ?? []).some((p) => p.role === 'primary' && p.rssMb)).toBe(true);
    }
    expect(clustered[clustered.length - 1]!.summary.overall.rps).toBeGreaterThan(clustered[0]!.summary.overall.rps);
  });

  it('diagnose names the synchronous call and its caller in sync, with the offload/async fix, and nothing in async', () => {
    const sync = readFindings(join(out, stage('sync').run)).findings;
    const blocking = sync.find((f) => f.kind === 'blocking-call');
    expect(blocking?.route).toBe('GET /blocking-io');
    expect(blocking?.evidence).toMatchObject({ function: 'httpGetSync', blocker: 'sync-http' });
    expect(String(blocking?.evidence.caller)).toMatch(/^sync \(.*blocking-io\/routes\.(js|ts):\d+\)$/);
    expect(blocking?.fix).toMatch(/asynchronous client/);
    expect(blocking?.fix).toMatch(/worker-thread pool/);
    expect(readFindings(join(out, stage('async').run)).findings).toEqual([]);
  });

  it('lab.md tells the story in figures', () => {
    const md = readFileSync(join(out, 'lab.md'), 'utf8');
    // the story is the headline (the first "## " section the CLI prints)
    expect(md.split('\n## ')[1]).toMatch(/^One blocking call stops every request/);
    for (const point of ['The innocent route pays.', 'The blocking call.', 'The pool queues past its threads.', 'More workers spread the blocking, they do not remove it.', 'The pull request.']) {
      expect(md).toContain(point);
    }
    expect(md).toContain('UV_THREADPOOL_SIZE');
    expect(md).toContain('## Per worker');
  });

  it('sync → async is a PR-ready compare: one route, one load, the gate passes, the blocking hotspot vanishes', async () => {
    const r = await cli(['compare', join(out, stage('sync').run), join(out, stage('async').run), '--fail-on', 'p95:+10%,blocked:+20%', '--out', join(tmp, 'compare')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/warning/);
    const md = readFileSync(join(tmp, 'compare', 'compare.md'), 'utf8');
    expect(md).not.toContain('[!WARNING]');
    expect(md).toContain('Gate passed');
    expect(md).toMatch(/Blocking hotspot .* on <code>GET \/blocking-io<\/code> vanished/);
    expect(md).toMatch(/<code>GET \/health<\/code> \| [\d.,]+ → [\d.,]+ ▼/);
  });
});
