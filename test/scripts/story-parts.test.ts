/**
 * The parts of the story lab (looplens lab --story) on their own, without running one: the waiting a request's span
 * cannot see (before it began, behind other requests' blocks), the per-process breakdown of the evidence and of
 * summary.json, the runner's memory sampling, the offload pool's window, diagnose's synchronous HTTP client with its
 * caller, the story's stages from the flags, and lab.md, the README block and the report telling the story.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BlockingEvent, EventLoopSample, LabFile, LabStage, ProcessMemory, Summary } from '../../profiles/contract/types.js';
import { writeJsonAtomic } from '../../profiles/contract/write.js';
import { buildEvidence, processFigures, waitingBeforeStart } from '../../scripts/analysis/evidence.js';
import { renderLabMd } from '../../scripts/analysis/markdown.js';
import { offloadPoolWindow, parseOffloadPool, summariseOffloadPool } from '../../scripts/analysis/offload.js';
import { summarise } from '../../scripts/analysis/summarise.js';
import { storyPlans } from '../../scripts/commands/lab.js';
import { blockingCall, classifyBlocker } from '../../scripts/diagnose/rules/blocking-call.js';
import { blockingIo } from '../../scripts/lab/stories/blocking-io.js';
import { renderStoryMd, storyFigures } from '../../scripts/lab/stories/render.js';
import { parseRssKb, parseStat, readGroup, sampleMemory } from '../../scripts/profile/memory.js';
import { mergeWorkers } from '../../scripts/profile/collect.js';
import { readEventLoop } from '../../profiles/contract/read.js';
import { readmeMarkers, renderReadmeLabBlock, replaceReadmeBlock } from '../../scripts/readme-lab.js';
import { T0, TraceBuilder, blockingEvent, summaryWith } from '../diagnose/builder.js';

const tmp = mkdtempSync(join(tmpdir(), 'looplens-story-parts-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A block of `pid` charged to no traced request (another request's work, as far as the waiting goes). */
function block(pid: number, n: number, startMs: number, durationMs: number, traceId: string | null = null): BlockingEvent {
  return { ...blockingEvent('GET /slow', 'httpGetSync (file:///app/http-sync.js:8)', durationMs, [], startMs), id: `${pid}:${n}`, traceId };
}

describe('the waiting a span cannot see', () => {
  it('charges a request the blocks of its process between the previous answer on its connection and its start', () => {
    const t = new TraceBuilder();
    // one keep-alive connection (port 5001): /health answered at 10 ms; the next /health starts at 110 ms, after a
    // 90 ms block of another request (15 → 105 ms); a third, on another connection, saw nothing of it
    const a = t.request('GET', '/health', 0, 10);
    const b = t.request('GET', '/health', 110, 1);
    const c = t.request('GET', '/health', 200, 1);
    const d = t.request('GET', '/health', 300, 1);
    for (const [r, port] of [[a, 5001], [b, 5001], [c, 5002], [d, 5002]] as const) {
      r.server.attributes['network.peer.port'] = port;
      r.server.attributes['network.peer.address'] = '127.0.0.1';
      r.server.pid = '42';
    }
    const events = [block(42, 1, T0 + 15, 90)];
    const e = buildEvidence({ info: null, load: null, blocking: { thresholdMs: 20, events }, traces: { spans: t.spans, source: 'traces.otlp.json', droppedSpans: null }, eventLoop: [] });
    const byTrace = new Map(e.requests.map((r) => [r.traceId, r]));
    expect(byTrace.get(b.traceId)!.waitedBeforeMs).toBe(90);
    expect(byTrace.get(b.traceId)!.waitedMs).toBe(0); // inside its span, nothing blocked
    expect(byTrace.get(a.traceId)!.waitedBeforeMs).toBe(0); // the first of its connection
    expect(byTrace.get(d.traceId)!.waitedBeforeMs).toBe(0); // its gap (201 → 300 ms) held no block
    // the route's waited ms per request: both kinds, over its traced requests
    expect(e.measured.routes.find((r) => r.route === 'GET /health')!.waitedMsPerRequest).toBeCloseTo(90 / 4, 3);
    expect(summarise(e).routes['GET /health']!.waitedMsPerRequest).toBe(22.5);
  });

  it('is not computed for a fixed-rate load, nor when spans were dropped', () => {
    const t = new TraceBuilder();
    const rs = [t.request('GET', '/health', 0, 10), t.request('GET', '/health', 110, 1)];
    for (const r of rs) r.server.attributes['network.peer.port'] = 5001;
    const events = [block(1, 1, T0 + 15, 90)];
    const dropped = buildEvidence({ info: null, load: null, blocking: { thresholdMs: 20, events }, traces: { spans: t.spans, source: 'traces.jaeger.json', droppedSpans: 7 }, eventLoop: [] });
    expect(dropped.requests.map((r) => r.waitedBeforeMs)).toEqual([0, 0]);
    // and directly: a request overlapping the previous one (pipelining) gets nothing
    const e = buildEvidence({ info: null, load: null, blocking: null, traces: { spans: t.spans, source: 'traces.otlp.json', droppedSpans: null }, eventLoop: [] });
    e.requests[1]!.startMs = e.requests[0]!.endMs - 1;
    waitingBeforeStart(e.requests, e.blocks);
    expect(e.requests[1]!.waitedBeforeMs).toBe(0);
  });
});

describe('per process', () => {
  const window = { startMs: T0, endMs: T0 + 10_000 };
  const sample = (pid: number | undefined, t: number, p99: number): EventLoopSample => ({
    t: T0 + t,
    delayMs: { min: 0, mean: p99 / 2, p50: p99 / 2, p90: p99, p99, max: p99 },
    utilization: 0.5,
    ...(pid !== undefined ? { pid } : {}),
  });
  const memory: ProcessMemory[] = [
    { pid: 10, ppid: 1, name: 'node', samples: [{ t: T0 + 1000, rssKb: 50 * 1024 }] },
    { pid: 11, ppid: 10, name: 'node', samples: [{ t: T0 + 1000, rssKb: 100 * 1024 }, { t: T0 + 2000, rssKb: 120 * 1024 }, { t: T0 + 3000, rssKb: 110 * 1024 }] },
    { pid: 12, ppid: 10, name: 'node', samples: [{ t: T0 + 1000, rssKb: 90 * 1024 }] },
  ];

  it('splits requests, blocks, waiting, loop samples and memory by process: workers first, then their primary', () => {
    const t = new TraceBuilder();
    const mine = t.requests(20, 'GET', '/slow', 400, 60);
    mine.forEach((r, i) => (r.server.pid = i % 2 ? '12' : '11'));
    const events = mine.filter((_, i) => i % 2 === 0).map((r, i) => ({ ...block(11, i, r.server.startMs + 1, 50, r.traceId) }));
    const e = buildEvidence({
      info: null,
      load: null,
      blocking: { thresholdMs: 20, events },
      traces: { spans: t.spans, source: 'traces.otlp.json', droppedSpans: null },
      eventLoop: [sample(11, 1000, 60), sample(11, 2000, 50), sample(12, 1000, 2), sample(12, 2000, 3)],
    });
    const procs = processFigures(e.measured.requests, e.measured.blocks, e.eventLoop, memory, window);
    expect(procs.map((p) => [p.pid, p.role])).toEqual([
      ['11', 'server'],
      ['12', 'server'],
      ['10', 'primary'],
    ]);
    const [w1, w2, primary] = procs;
    expect(w1).toMatchObject({ requests: 10, rps: 1, blocks: 10, blockedMs: 500, blockedMsPerRequest: 50, rssMb: { p50: 110, max: 120 } });
    expect(w1!.eventLoop!.delayMs.p99).toBe(55);
    expect(w2).toMatchObject({ requests: 10, blocks: 0, blockedMsPerRequest: 0, rssMb: { p50: 90, max: 90 } });
    expect(w2!.eventLoop!.delayMs.p99).toBe(2.5);
    expect(primary).toMatchObject({ requests: 0, eventLoop: null, rssMb: { p50: 50, max: 50 } });
  });

  it('summary.json carries them for a cluster, and memory alone for a single process; samples without a pid are the one server\'s', () => {
    const t = new TraceBuilder();
    for (const r of t.requests(5, 'GET', '/a', 100, 5)) r.server.pid = '11';
    const single = buildEvidence({
      info: null,
      load: { overall: summaryWith({ 'GET /a': 5 }).overall, routes: {}, memory: [memory[1]!] },
      blocking: { thresholdMs: 20, events: [] },
      traces: { spans: t.spans, source: 'traces.otlp.json', droppedSpans: null },
      eventLoop: [sample(undefined, 1000, 4)],
    });
    const s = summarise(single);
    expect(s.processes).toEqual([
      { pid: 11, role: 'server', requests: 5, rps: expect.any(Number), blocks: 0, blockedMs: 0, blockedMsPerRequest: 0, waitedMsPerRequest: 0, eventLoop: expect.objectContaining({ delayMs: expect.objectContaining({ p99: 4 }) }), rssMb: { p50: 110, max: 120 } },
    ]);
    // an older run: no memory, one process — no breakdown at all
    const old = buildEvidence({ info: null, load: null, blocking: null, traces: { spans: t.spans, source: 'traces.otlp.json', droppedSpans: null }, eventLoop: [] });
    expect(summarise(old).processes).toBeUndefined();
  });
});

describe('a cluster run\'s files', () => {
  it('merges the workers\' event-loop samples, each with its worker\'s pid (the primary\'s left out)', () => {
    const dir = join(tmp, 'cluster-run');
    const line = (t: number, p99: number) => JSON.stringify({ t, delayMs: { min: 0, mean: 1, p50: 1, p90: p99, p99, max: p99 }, utilization: 0.9 }) + '\n';
    mkdirSync(join(dir, 'workers', '301'), { recursive: true });
    mkdirSync(join(dir, 'workers', '302'), { recursive: true });
    writeFileSync(join(dir, 'eventloop.jsonl'), line(T0 + 500, 0.1));
    writeFileSync(join(dir, 'workers', '301', 'eventloop.jsonl'), line(T0 + 1000, 150) + line(T0 + 2000, 160));
    writeFileSync(join(dir, 'workers', '302', 'eventloop.jsonl'), line(T0 + 1100, 2));
    expect(mergeWorkers(dir, tmp).workers).toBe(2);
    expect(readEventLoop(dir).map((s) => [s.pid, s.delayMs.p99])).toEqual([
      [301, 150],
      [302, 2],
      [301, 160],
    ]);
  });
});

describe('memory from /proc', () => {
  it('parses stat lines whose name holds spaces and parentheses, and VmRSS', () => {
    expect(parseStat('4242 (node (worker) 1) S 4200 4200 4200 0 -1 4194560')).toEqual({ pid: 4242, name: 'node (worker) 1', ppid: 4200, pgrp: 4200 });
    expect(parseStat('garbage')).toBeNull();
    expect(parseRssKb('Name:\tnode\nVmRSS:\t  123456 kB\nThreads: 11\n')).toBe(123456);
    expect(parseRssKb('Name:\tkworker\n')).toBeNull();
  });

  it('reads the processes of one group only', () => {
    const proc = join(tmp, 'proc');
    const fake = (pid: number, ppid: number, pgrp: number, kb: number | null) => {
      mkdirSync(join(proc, String(pid)), { recursive: true });
      writeFileSync(join(proc, String(pid), 'stat'), `${pid} (node) S ${ppid} ${pgrp} ${pgrp} 0`);
      writeFileSync(join(proc, String(pid), 'status'), kb === null ? 'Name: node\n' : `Name: node\nVmRSS:\t${kb} kB\n`);
    };
    fake(100, 1, 100, 50_000);
    fake(101, 100, 100, 80_000);
    fake(102, 100, 100, null); // a zombie
    fake(200, 1, 200, 10_000);
    mkdirSync(join(proc, 'self'), { recursive: true });
    expect(readGroup(100, proc)).toEqual([
      { pid: 100, ppid: 1, name: 'node', rssKb: 50_000 },
      { pid: 101, ppid: 100, name: 'node', rssKb: 80_000 },
    ]);
    expect(readGroup(100, join(tmp, 'nowhere'))).toEqual([]);
  });

  it.runIf(process.platform === 'linux')('samples a real process group: the leader and its child', async () => {
    const child = spawn(process.execPath, ['-e', "require('child_process').spawn(process.execPath, ['-e', 'setTimeout(()=>{}, 3000)'], {stdio:'inherit'}); setTimeout(()=>{}, 3000)"], { detached: true, stdio: 'ignore' });
    try {
      // ready when both processes of the group are there
      const deadline = Date.now() + 5000;
      while (readGroup(child.pid!).length < 2 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
      const sampler = sampleMemory(child.pid!, 100);
      // three samples of each: the first at once, the next two 100 ms apart
      await new Promise((r) => setTimeout(r, 250));
      const list = sampler.stop();
      expect(list.map((p) => p.pid)).toContain(child.pid);
      expect(list.length).toBe(2);
      for (const p of list) {
        expect(p.samples.length).toBeGreaterThanOrEqual(3);
        expect(p.samples[0]!.rssKb).toBeGreaterThan(1000);
      }
      expect(list.find((p) => p.pid !== child.pid)!.ppid).toBe(child.pid);
    } finally {
      process.kill(-child.pid!, 'SIGKILL');
    }
  });
});

describe('the offload pool over the window', () => {
  it('reads GET /stats blockingIo.pool, subtracts two readings, and says what the queue cost', () => {
    expect(parseOffloadPool({ stage: 'pooled', pid: 7 })).toBeNull();
    expect(parseOffloadPool({ pid: 7, blockingIo: { mode: 'async', pool: null } })).toEqual({ pid: 7, pool: null });
    const before = parseOffloadPool({ pid: 7, blockingIo: { mode: 'offloaded', pool: { size: 4, calls: 10, queued: 2, queuedMs: 30 } } })!;
    const after = parseOffloadPool({ pid: 7, blockingIo: { mode: 'offloaded', pool: { size: 4, calls: 110, queued: 82, queuedMs: 6030 } } })!;
    const w = offloadPoolWindow(before, after)!;
    expect(w).toEqual({ size: 4, calls: 100, queued: 80, queuedMs: 6000 });
    expect(summariseOffloadPool(w, 10_000)).toEqual({ ...w, queuedShare: 0.8, waitMsPerQueuedCall: 75, meanWaiting: 0.6 });
    // a pool made during the window counts from zero; another process or a restart gives nothing
    expect(offloadPoolWindow({ pool: null }, after)).toMatchObject({ calls: 110, queued: 82 });
    expect(offloadPoolWindow({ ...before, pid: 8 }, after)).toBeNull();
    expect(offloadPoolWindow(after, before)).toBeNull();
  });
});

describe('diagnose: a synchronous HTTP client', () => {
  const root = 'file:///srv/app/';
  const stack = [
    { functionName: 'callSync', url: `${root}dist/lib/blocking-bridge.js`, lineNumber: 39 },
    { functionName: 'httpGetSync', url: `${root}dist/blocking-io/http-sync.js`, lineNumber: 8 },
    { functionName: 'sync', url: `${root}dist/blocking-io/routes.js`, lineNumber: 30 },
    { functionName: '', url: `${root}dist/blocking-io/routes.js`, lineNumber: 45 },
    { functionName: 'preHandlerCallbackInner', url: `${root}node_modules/fastify/lib/handle-request.js`, lineNumber: 171 },
  ];

  it('is told from a synchronous database driver, whose Atomics.wait bridge it shares, and from CPU-bound code', () => {
    expect(classifyBlocker(stack, 'callSync (dist/lib/blocking-bridge.js:39)')).toBe('sync-http');
    expect(classifyBlocker([{ functionName: 'wait', url: '' }, ...stack], 'callSync (dist/lib/blocking-bridge.js:39)')).toBe('sync-http');
    expect(classifyBlocker([{ functionName: 'request', url: `${root}node_modules/sync-request/index.js` }, { functionName: 'get', url: `${root}a.js` }], 'get (a.js:1)')).toBe('sync-http');
    // not every *Sync near "get": a config read is fs, a driver's bridge is the database
    expect(classifyBlocker([{ functionName: 'getConfigSync', url: `${root}config.js` }], 'getConfigSync (config.js:1)')).toBe('cpu-loop');
    expect(classifyBlocker([{ functionName: 'wait', url: '' }, { functionName: 'querySync', url: `${root}db/sync-client.js` }], 'querySync (db/sync-client.js:1)')).toBe('sync-db-driver');
  });

  it('names the synchronous call, the app function that made it, and the offload/async fix', () => {
    const events = Array.from({ length: 10 }, (_, i) => blockingEvent('GET /blocking-io', 'callSync (dist/lib/blocking-bridge.js:39)', 52, stack, T0 + i * 100));
    const [f] = blockingCall.detect(new TraceBuilder().input({ blocking: { thresholdMs: 20, events }, summary: summaryWith({ 'GET /blocking-io': 10 }) }));
    expect(f!.evidence).toMatchObject({ function: 'httpGetSync', file: 'dist/blocking-io/http-sync.js', line: 8, blocker: 'sync-http', caller: 'sync (dist/blocking-io/routes.js:30)' });
    expect(f!.title).toMatch(/^httpGetSync \(dist\/blocking-io\/http-sync\.js:8\) blocks the event loop 52 ms per GET \/blocking-io \(synchronous HTTP client\)$/);
    expect(f!.fix).toMatch(/asynchronous client .*fetch/);
    expect(f!.fix).toMatch(/worker-thread pool .*queue/);
  });
});

describe('the story\'s stages', () => {
  it('are sync, offloaded, async, then sync on cores and 2 × cores workers; --stages picks, --workers sets the count', () => {
    const all = blockingIo.stages({ cores: 2 });
    expect(all.map((s) => [s.name, s.workers ?? 1, s.env?.BLOCKING_IO_MODE])).toEqual([
      ['sync', 1, 'sync'],
      ['offloaded', 1, 'offloaded'],
      ['async', 1, 'async'],
      ['sync-workers-2', 2, 'sync'],
      ['sync-workers-4', 4, 'sync'],
    ]);
    expect(blockingIo.stages({ cores: 2, workers: 3 }).map((s) => s.name)).toEqual(['sync', 'offloaded', 'async', 'sync-workers-3']);
    const plans = storyPlans(blockingIo, ['async', 'sync'], undefined);
    expect(plans.map((p) => [p.name, p.appStage])).toEqual([
      ['sync', 'pooled'],
      ['async', 'pooled'],
    ]);
    expect(() => storyPlans(blockingIo, ['asyn'], undefined)).toThrow(/unknown stage "asyn" in story blocking-io/);
  });
});

/** A story lab's stages, as lab.json holds them (summaries shaped like a real run's). */
function storyStages(): LabStage[] {
  const stats = (p50: number, p99: number, extra: Partial<Summary['overall']> = {}) => ({ requests: 100, rps: 10, latencyMs: { p50, p90: p99, p95: p99, p99, max: p99 }, non2xx: 0, errors: 0, ...extra });
  const proc = (pid: number, blocked: number, role: 'server' | 'primary' = 'server') => ({
    pid,
    role,
    requests: role === 'server' ? 100 : 0,
    rps: role === 'server' ? 34 : 0,
    blocks: role === 'server' ? 50 : 0,
    blockedMs: blocked * 100,
    blockedMsPerRequest: blocked,
    waitedMsPerRequest: role === 'server' ? 100 : 0,
    rssMb: { p50: role === 'server' ? 150 : 120, max: 160 },
  });
  const summary = (o: { rps: number; blocked: number; health: [number, number, number]; slow: [number, number]; processes: Summary['processes']; pool?: Summary['offloadPool'] }): Summary => ({
    overall: stats(100, 500, { rps: o.rps }),
    routes: {
      'GET /health': stats(o.health[0], o.health[1], { waitedMsPerRequest: o.health[2], blockedMsPerRequest: 0 }),
      'GET /blocking-io': stats(o.slow[0], o.slow[1], { blockedMsPerRequest: o.blocked * 2 }),
    },
    eventLoop: { delayMs: { p50: 1, p99: o.blocked ? 300 : 2, max: 400 }, utilization: 0.9 },
    blocking: { count: o.blocked ? 70 : 0, totalMs: o.blocked * 100, msPerRequest: o.blocked },
    processes: o.processes,
    ...(o.pool ? { offloadPool: o.pool } : {}),
  });
  return [
    { stage: 'sync', run: '01-sync', summary: summary({ rps: 34, blocked: 27.8, health: [226, 822, 226.7], slow: [327, 668], processes: [proc(1, 27.8)] }) },
    {
      stage: 'offloaded',
      run: '02-offloaded',
      summary: summary({ rps: 143, blocked: 0, health: [0.7, 19.9, 0], slow: [137, 206], processes: [proc(2, 0)], pool: { size: 4, calls: 301, queued: 301, queuedMs: 23_700, queuedShare: 1, waitMsPerQueuedCall: 78.8, meanWaiting: 5.9 } }),
    },
    { stage: 'async', run: '03-async', summary: summary({ rps: 366, blocked: 0, health: [0.5, 7, 0], slow: [52.5, 62], processes: [proc(3, 0)] }) },
    { stage: 'sync-workers-2', run: '04-sync-workers-2', workers: 2, summary: summary({ rps: 69, blocked: 27.2, health: [111, 508, 102], slow: [163, 337], processes: [proc(4, 27.1), proc(5, 25.7), proc(6, 0, 'primary')] }) },
  ];
}

const findings = new Map([
  [
    'sync',
    [
      {
        kind: 'blocking-call' as const,
        key: 'k',
        route: 'GET /blocking-io',
        title: 'httpGetSync (dist/target-app/blocking-io/http-sync.js:8) blocks the event loop 53.7 ms per GET /blocking-io (synchronous HTTP client)',
        evidence: { function: 'httpGetSync', file: 'dist/target-app/blocking-io/http-sync.js', line: 8, caller: 'sync (dist/target-app/blocking-io/routes.js:30)' },
        savingMsPerRequest: 53.7,
        fix: 'Call the service with an asynchronous client',
      },
    ],
  ],
  ['offloaded', []],
  ['async', []],
  ['sync-workers-2', []],
]);

describe('the story told', () => {
  it('lab.md opens with the story: the table, and the figures read out', () => {
    const stages = storyStages();
    const md = renderStoryMd({ story: blockingIo, stages, findings, labPath: 'profiles/x' });
    expect(md).toMatch(/^## One blocking call stops every request/);
    expect(md).toContain('| [sync](01-sync/summary.md) | 1 | 226 | 822 | 226.7 | 327 | 668 | 27.80 | 34 | 34 | 150 | 300 | blocking call |');
    expect(md).toContain('| [sync-workers-2](04-sync-workers-2/summary.md) | 2 | 111 | 508 | 102 | 163 | 337 | 27.20 | 69 | 34.5 | 420 (150) | 300 | none |');
    expect(md).toContain('its p99 is 822 ms in sync against 7 ms in async (117×): each of its requests waited 226.7 ms on average');
    expect(md).toContain('in `httpGetSync (dist/target-app/blocking-io/http-sync.js:8)`, called from `sync (dist/target-app/blocking-io/routes.js:30)`');
    expect(md).toContain('**Nothing blocks** in offloaded and async: 0 ms blocked per request; diagnose names nothing in offloaded, nothing in async.');
    expect(md).toContain('100 % of its 301 calls found every thread busy and waited 78.8 ms each for one (5.9 calls waiting at any moment). `GET /blocking-io` p50 137 ms against 52.5 ms in async');
    expect(md).toContain('throughput 34 → 69 req/s, yet blocked ms per request 27.8 → 27.2 — each worker still blocks (sync-workers-2: 27.1 / 25.7 ms per request)');
    expect(md).toContain('Memory, the RSS of every process in MiB: 150 → 420; async serves 366 req/s on one process in 150 MiB.');
    expect(md).toContain('`looplens compare profiles/x/01-sync profiles/x/03-async --fail-on p95:+10%,blocked:+20%`');
    expect(md).toContain('UV_THREADPOOL_SIZE');
    // the figures are the summaries' own
    const fig = storyFigures({ story: blockingIo, stages, findings });
    expect(fig.rows.map((r) => r.blockedMsPerRequest)).toEqual(stages.map((s) => s.summary.blocking.msPerRequest));
  });

  it('lab.md: the story replaces the generic headline, and the workers get a table of their own', () => {
    const stages = storyStages();
    const lead = renderStoryMd({ story: blockingIo, stages, findings });
    const md = renderLabMd({ id: 'x', stages, settingsLine: 'settings', lead });
    expect(md.split('\n## ')[1]).toMatch(/^One blocking call/);
    expect(md).not.toContain('## sync → sync-workers-2');
    expect(md).toContain('## Per worker');
    expect(md).toContain('| sync-workers-2 | 4 | server | 100 | 34 | 50 | 27.10 | 100 | – | – | 150 (160) |');
    expect(md).toContain('| sync-workers-2 | 6 | primary | 0 | 0 | 0 | 0 | 0 | – | – | 120 (160) |');
    // and the generic tables show each route's waiting
    expect(md).toMatch(/\| \[sync\]\(01-sync\/summary\.md\)\*? \| 226 \| 822 \| 822 \| 10 \| 0 \| 0 \| 226\.7 \|/);
  });

  it('the README block of a story lab: how it was measured, the table without links, its own markers', () => {
    const dir = join(tmp, 'story-lab');
    const stages = storyStages();
    for (const s of stages) {
      mkdirSync(join(dir, s.run), { recursive: true });
      writeJsonAtomic(join(dir, s.run, 'run.json'), {
        schemaVersion: 1,
        id: s.run,
        command: ['node', 'main.js'],
        stage: 'pooled',
        profiler: 'none',
        load: { durationS: 15, warmupS: 10, connections: 10, scenario: 'blocking-io' },
        node: 'v20.20.2',
        platform: 'linux-x64',
        cpu: { model: 'AMD EPYC', cores: 2 },
        memoryGiB: 24,
        startedAt: '2026-12-04T10:00:00.000Z',
        complete: true,
      });
      writeJsonAtomic(join(dir, s.run, 'findings.json'), { findings: findings.get(s.stage) ?? [] });
    }
    const lab: LabFile = {
      id: 'story-lab',
      startedAt: '2026-12-04T10:00:00.000Z',
      endedAt: '2026-12-04T10:02:00.000Z',
      complete: true,
      settings: { profiler: 'none', load: { durationS: 15, warmupS: 10, connections: 10, scenario: 'blocking-io' } },
      stages,
      story: { name: 'blocking-io', title: blockingIo.title, stages: stages.map((s) => ({ stage: s.stage, changes: 'x' })) },
      recorded: { command: ['looplens', 'lab', '--story', 'blocking-io'], loadAverageStart: [0.5, 0.4, 0.3], loadAverageEnd: [2, 1, 0.5], postgres: '15.20 (Debian)' },
    };
    writeJsonAtomic(join(dir, 'lab.json'), lab);
    const block = renderReadmeLabBlock(dir);
    expect(block).toMatch(/^Measured with `looplens lab --story blocking-io` \(lab `story-lab`\) on 2026-12-04: 2 × AMD EPYC, 24 GiB, linux-x64, Node v20\.20\.2, PostgreSQL 15\.20; load average \(1 \/ 5 \/ 15 min\) 0\.50 \/ 0\.40 \/ 0\.30 at the start, 2 \/ 1 \/ 0\.50 at the end;/);
    expect(block).toContain('| sync | 1 | 226 | 822 |');
    expect(block).not.toContain('](01-sync');
    expect(block).toContain('- **The innocent route pays.**');
    const markers = readmeMarkers(lab);
    expect(markers.begin).toMatch(/^<!-- story-figures:blocking-io:begin/);
    const readme = `# x\n\n${markers.begin}\nold\n${markers.end}\n`;
    expect(replaceReadmeBlock(readme, block, markers)).toBe(`# x\n\n${markers.begin}\n${block}${markers.end}\n`);
  });
});
