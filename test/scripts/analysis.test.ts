import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readBlocking, readEventLoop, readJaeger } from '../../profiles/contract/read.js';
import { spansFromJaeger, type Span } from '../../profiles/contract/traces.js';
import type { BlockingFile, EventLoopSample, JaegerFile, JaegerSpan, LoadFile, RunInfo, Summary, TimeWindow } from '../../profiles/contract/types.js';
import { validateSummary } from '../../profiles/contract/validate.js';
import { buildEvidence } from '../../scripts/analysis/evidence.js';
import { foldCpuProfile, frameName, parseFolded, sumFolded, type CpuProfile } from '../../scripts/analysis/fold.js';
import { change, renderLabMd, renderSummaryMd } from '../../scripts/analysis/markdown.js';
import { fillBlockedIntervals, percentile, summarise, summariseEventLoop } from '../../scripts/analysis/summarise.js';
import { fillBody, idDraw, loadScenario, prng, requestPicker, routeKey, zipfRank } from '../../scripts/load/scenario.js';
import { pickMedianRun } from '../../scripts/lab/run.js';

// Captured from a real `looplens profile --path / --path /block` run of fixtures/blocking-app.mjs (trimmed).
const RUN = new URL('./fixtures/run-none/', import.meta.url).pathname;
const ROOT = new URL('../../', import.meta.url).pathname;
/** Where the fixture run was captured: its frame URLs are under this folder. */
const CAPTURED_ROOT = '/work/main';
const profile = JSON.parse(readFileSync(`${RUN}profile.cpuprofile`, 'utf8')) as CpuProfile;
const capturedSummary = JSON.parse(readFileSync(`${RUN}summary.json`, 'utf8')) as Summary;

describe('foldCpuProfile', () => {
  const folded = foldCpuProfile(profile, { root: CAPTURED_ROOT });
  const stacks = parseFolded(folded);

  it('writes valid folded lines that keep every non-idle sample', () => {
    for (const line of folded.trim().split('\n')) expect(line).toMatch(/^[^\n]+ \d+$/);
    const idleId = profile.nodes.find((n) => n.callFrame.functionName === '(idle)')?.id;
    const nonIdle = profile.samples!.filter((id) => id !== idleId).length;
    expect([...stacks.values()].reduce((a, b) => a + b, 0)).toBe(nonIdle);
    expect(folded).not.toContain('(root)');
    expect(folded).not.toContain('(idle)');
  });

  it('names frames "name (file:line)" with project-relative paths, and finds the blocking function', () => {
    const hot = [...stacks.entries()].filter(([k]) => k.endsWith('looplensFixtureBusyWait (test/scripts/fixtures/blocking-app.mjs:18)'));
    expect(hot.length).toBeGreaterThan(0);
    const busy = hot.reduce((a, [, v]) => a + v, 0);
    // the fixture spends most of its CPU time in the busy-wait
    expect(busy / profile.samples!.length).toBeGreaterThan(0.3);
  });

  it('escapes separators in untrusted names and sums folded texts', () => {
    expect(frameName({ functionName: 'a;b\nc', url: 'node:internal/x', lineNumber: 0 })).toBe('a b c (node:internal/x:1)');
    expect(frameName({ functionName: '', url: '', lineNumber: -1 })).toBe('(anonymous)');
    expect(sumFolded(['a;b 2\na 1\n', 'a;b 3\n'])).toBe('a 1\na;b 5\n');
  });
});

/** The evidence of spans (and blocks, a load) over a window; no window: a run that recorded none (all counts). */
function evidence(opts: { spans: Span[]; window?: TimeWindow; blocking?: BlockingFile | null; load?: LoadFile | null; eventLoop?: EventLoopSample[] }) {
  return buildEvidence({
    info: opts.window ? ({ window: opts.window } as RunInfo) : null,
    load: opts.load ?? null,
    blocking: opts.blocking ?? null,
    traces: { spans: opts.spans, source: 'traces.jaeger.json', droppedSpans: 0 },
    eventLoop: opts.eventLoop ?? [],
  });
}

describe('summarise on a captured run', () => {
  const eventLoop = readEventLoop(RUN);
  const blocking = readBlocking(RUN);
  const spans = spansFromJaeger(readJaeger(RUN));
  const window = { startMs: eventLoop[0].t - 1000, endMs: eventLoop[eventLoop.length - 1].t };
  const routes = Object.fromEntries(Object.entries(capturedSummary.routes).map(([k, r]) => [k, { ...r, method: 'GET', paths: [k.slice(4)] }]));
  const load: LoadFile = { overall: capturedSummary.overall, routes };

  it('produces a summary.json that matches the schema', () => {
    const s = summarise(evidence({ spans, window, blocking, load, eventLoop }));
    expect(validateSummary(s)).toBeNull();
    expect(s.blocking.count).toBe(blocking.events.length);
    expect(s.blocking.totalMs).toBeCloseTo(blocking.events.reduce((a, e) => a + e.durationMs, 0), 0);
    expect(s.db).toBeUndefined(); // the fixture runs no queries
    expect(s.eventLoop.delayMs.max).toBeCloseTo(Math.max(...eventLoop.map((e) => e.delayMs.max)), 1);
  });

  it('counts only what happened inside the load window', () => {
    const late = { startMs: window.endMs + 60_000, endMs: window.endMs + 120_000 };
    expect(summarise(evidence({ spans, window: late, blocking, load, eventLoop })).blocking.count).toBe(0);
    const el = summariseEventLoop(eventLoop, window);
    expect(el.utilization).toBeGreaterThan(0.5);
    expect(el.delayMs.p99).toBeGreaterThanOrEqual(el.delayMs.p50);
  });

  it('percentile is nearest-rank', () => {
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4], 99)).toBe(4);
    expect(percentile([], 99)).toBe(0);
  });
});

// Hand-built spans in the shape the probes write (Jaeger JSON), for the query and upstream derivations.
function span(traceID: string, spanID: string, name: string, parent: string | null, tags: Record<string, string | number>, t = 1_000_000): JaegerSpan {
  return {
    traceID,
    spanID,
    operationName: name,
    references: parent ? [{ refType: 'CHILD_OF', traceID, spanID: parent }] : [],
    startTime: t,
    duration: 1000,
    tags: Object.entries(tags).map(([key, value]) => ({ key, type: typeof value === 'number' ? 'int64' : 'string', value })),
    logs: [],
    processID: 'p1',
  };
}

describe('requestFacts', () => {
  const server = (t: string, id: string, route: string, at = 1_000_000) => span(t, id, `GET ${route}`, null, { 'span.kind': 'server', 'http.request.method': 'GET', 'http.route': route }, at);
  const query = (t: string, id: string, parent: string) => span(t, id, 'pg.query:SELECT looplens', parent, { 'span.kind': 'client', 'db.system': 'postgresql', 'db.statement': 'SELECT 1' });
  const file: JaegerFile = {
    data: [
      {
        traceID: 't1',
        processes: { p1: { serviceName: 'app', tags: [] } },
        spans: [
          server('t1', 's1', '/users/:id/timeline'),
          span('t1', 'h1', 'handler', 's1', { 'span.kind': 'internal' }),
          query('t1', 'q1', 'h1'),
          query('t1', 'q2', 'h1'),
          query('t1', 'q3', 's1'),
          span('t1', 'r1', 'redis-GET', 's1', { 'span.kind': 'client', 'db.system': 'redis' }),
          span('t1', 'u1', 'POST', 'h1', { 'span.kind': 'client', 'http.request.method': 'POST', 'http.response.status_code': 503 }),
        ],
      },
      {
        traceID: 't2',
        processes: { p1: { serviceName: 'app', tags: [] } },
        spans: [server('t2', 's2', '/posts'), query('t2', 'q4', 's2'), span('t2', 'u2', 'GET', 's2', { 'span.kind': 'client', 'http.method': 'GET', 'http.status_code': 200 })],
      },
      { traceID: 't3', processes: {}, spans: [server('t3', 's3', '/posts', 99_000_000_000), query('t3', 'q5', 's3')] },
      // a query outside any request (start-up) is not charged to a request
      { traceID: 't4', processes: {}, spans: [query('t4', 'q6', 'nobody')] },
    ],
  };
  const spans = spansFromJaeger(file);

  const route = (e: ReturnType<typeof evidence>, r: string) => e.measured.routes.find((f) => f.route === r);

  it('charges each database query span to its enclosing request, per route (cache lookups are not queries)', () => {
    const e = evidence({ spans });
    expect(e.measured.requests).toHaveLength(3);
    expect(e.measured.queries).toBe(5);
    expect(e.measured.queriesPerRequest).toBe(1.67);
    expect(route(e, 'GET /users/:id/timeline')).toMatchObject({ traced: 1, queries: 3, queriesPerRequest: 3 });
    expect(route(e, 'GET /posts')).toMatchObject({ traced: 2, queries: 2, queriesPerRequest: 1 });
  });

  it('counts upstream calls and failures (error status or 5xx)', () => {
    expect(evidence({ spans }).measured.upstream).toEqual({ calls: 2, failures: 1 });
  });

  it('keeps to the window, and labels what lies outside it', () => {
    const e = evidence({ spans, window: { startMs: 0, endMs: 10_000 } });
    expect(e.measured.requests).toHaveLength(2);
    expect(e.measured.queries).toBe(4);
    expect(e.requests.map((r) => r.phase).sort()).toEqual(['after', 'measured', 'measured']);
  });
});

describe('scenarios', () => {
  it('sns mirrors the SNS mix and fills ids from the seeded range', () => {
    const sns = loadScenario('sns', '.');
    expect(sns.requests.map((r) => [routeKey(r), r.weight])).toEqual([
      ['GET /users/:id/timeline', 60],
      ['GET /users/:id/notifications', 25],
      ['POST /posts', 10],
      ['POST /posts/:id/likes', 5],
    ]);
    expect(sns.distribution).toBe('zipf');
    const next = requestPicker(sns, { default: 50, postId: 7 }, 42);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 4000; i++) {
      const r = next();
      counts[r.key] = (counts[r.key] ?? 0) + 1;
      const id = Number(/\/(?:users|posts)\/(\d+)/.exec(r.path)?.[1] ?? 1);
      expect(id).toBeGreaterThanOrEqual(1);
      expect(id).toBeLessThanOrEqual(r.key.startsWith('POST /posts/:id') ? 7 : 50);
      if (r.body) expect(typeof JSON.parse(r.body).userId).toBe('number');
    }
    expect(counts['GET /users/:id/timeline'] / 4000).toBeCloseTo(0.6, 1);
    expect(counts['POST /posts/:id/likes'] / 4000).toBeCloseTo(0.05, 1);
  });

  it('fills placeholders inside bodies', () => {
    const draw = idDraw({ default: 10 }, () => 0.5);
    expect(fillBody({ a: '{userId}', b: 'x-{n}', c: [1, '{postId}'] }, draw)).toEqual({ a: 6, b: 'x-6', c: [1, 6] });
  });

  it('zipf ids: a few users get most requests, spread over the whole range', () => {
    const n = 150_000;
    const draw = idDraw({ default: n }, prng(3), 'zipf');
    const counts = new Map<number, number>();
    const draws = 50_000;
    for (let i = 0; i < draws; i++) {
      const id = draw('userId');
      expect(id).toBeGreaterThanOrEqual(1);
      expect(id).toBeLessThanOrEqual(n);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1]);
    const top100 = sorted.slice(0, 100).reduce((a, [, c]) => a + c, 0) / draws;
    // Zipf(1) over 150,000: the 100 hottest ids take H(100)/H(150000) ≈ 41 % of the draws
    expect(top100).toBeGreaterThan(0.33);
    expect(top100).toBeLessThan(0.5);
    // the hottest ids are spread over the range, not the lowest ids
    expect(Math.max(...sorted.slice(0, 10).map(([id]) => id))).toBeGreaterThan(n / 10);
    expect(zipfRank(n, 0)).toBe(1);
    expect(zipfRank(n, 1 - 1e-12)).toBe(n);
    // ranks are a bijection of 1..n
    const small = idDraw({ default: 12 }, prng(1), 'zipf');
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) seen.add(small('x'));
    expect([...seen].every((id) => id >= 1 && id <= 12)).toBe(true);
    expect(seen.size).toBe(12);
  });

  it('rejects unknown scenarios and invalid files with their codes', () => {
    expect(() => loadScenario('nope', '.')).toThrow(expect.objectContaining({ code: 'UNKNOWN_SCENARIO' }));
    expect(() => loadScenario('package.json', ROOT)).toThrow(expect.objectContaining({ code: 'SCENARIO_INVALID' }));
  });
});

describe('markdown', () => {
  const base = capturedSummary;
  const faster: Summary = { ...base, overall: { ...base.overall, rps: base.overall.rps * 3, latencyMs: { ...base.overall.latencyMs, p95: base.overall.latencyMs.p95 / 4 } } };

  it('renders summary.md and the lab table with changes', () => {
    const md = renderSummaryMd(base, { id: 'r', command: ['node', 'a|b.js'], profiler: 'none', load: { durationS: 1, warmupS: 0, connections: 1 }, complete: true });
    expect(md).toContain('| GET /block |');
    expect(md).toContain('**overall**');
    const lab = renderLabMd({ id: 'lab', settingsLine: 'x', stages: [{ stage: 'baseline', run: '01-baseline', summary: base }, { stage: 'cached', run: '02-cached', summary: faster }] });
    expect(lab).toContain('| throughput req/s |');
    expect(lab).toContain('+200 %');
    expect(lab).toContain('−75 %');
    expect(change(100, 32)).toBe('−68 %');
    expect(change(0, 3)).toBe('–');
  });

  it('picks the median run of repeated runs and records the spread', () => {
    const mk = (rps: number) => ({ dir: `/x/${rps}`, info: {} as never, summary: { ...base, overall: { ...base.overall, rps } } });
    const { result, summary } = pickMedianRun([mk(10), mk(30), mk(20)]);
    expect(result.dir).toBe('/x/20');
    expect(summary.spread?.['overall.rps']).toEqual([10, 30]);
    expect(validateSummary(summary)).toBeNull();
  });
});

describe('queries per request on captured target-app traces (baseline stage: synchronous driver, N+1 queries)', () => {
  const spans = spansFromJaeger(readJaeger(new URL('./fixtures/target-app-baseline/', import.meta.url).pathname));

  it('counts the query spans the synchronous client created under each request', () => {
    const e = evidence({ spans });
    expect(e.measured.routes.map((r) => r.route).sort()).toEqual(['GET /users/:id/notifications', 'GET /users/:id/timeline', 'POST /posts/:id/likes']);
    expect(e.measured.routes.find((r) => r.route === 'GET /users/:id/timeline')!.queriesPerRequest).toBe(43);
    expect(e.measured.routes.find((r) => r.route === 'GET /users/:id/notifications')!.queriesPerRequest).toBe(40);
    expect(e.measured.routes.find((r) => r.route === 'POST /posts/:id/likes')!.queriesPerRequest).toBe(5);
    expect(e.measured.requests).toHaveLength(3);
  });
});

describe('fillBlockedIntervals', () => {
  it('gives a sample that recorded nothing while the loop was busy throughout the lateness of its timer', () => {
    const zero = { min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    const some = { min: 1, mean: 2, p50: 2, p90: 3, p99: 5, max: 6 };
    // shape captured from target-app's baseline stage (synchronous driver): 0 ms at utilization 1, 2.5 s apart
    const samples = [
      { t: 1000, delayMs: some, utilization: 0.9 },
      { t: 3550, delayMs: zero, utilization: 1 },
      { t: 4560, delayMs: zero, utilization: 0.2 }, // an idle second: really 0
    ];
    const filled = fillBlockedIntervals(samples);
    expect(filled[1].delayMs.p99).toBe(1550);
    expect(filled[2].delayMs.p99).toBe(0);
    expect(summariseEventLoop(samples, { startMs: 0, endMs: 5000 }).delayMs.max).toBe(1550);
  });
});
