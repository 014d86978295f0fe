/**
 * traces.jaeger.json: the structure the Jaeger UI's offline upload needs (CHILD_OF references resolve inside their
 * trace, every span has a process, times in µs) and blocked stretches as span logs — on the synthetic fixture and on
 * a real captured run (test/dashboards/fixtures/fastify-blocking, trimmed from `looplens profile` of a Fastify app
 * with blocking routes) — and the report's waterfalls, built from the run's evidence.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  BLOCKED_EVENT,
  checkJaegerFile,
  readBlocking,
  readJaeger,
  spansFromJaeger,
  type BlockingEvent,
  type JaegerFile,
  type JaegerSpan,
  type JaegerTag,
  type JaegerTrace,
} from '../../profiles/contract/index.js';
import { buildEvidence, loadEvidence } from '../../scripts/analysis/evidence.js';
import { buildWaterfalls } from '../../dashboards/report/waterfall.js';
import { makeJaeger } from './fixtures.js';

const BLOCKED_EVENT_NAME = BLOCKED_EVENT;
const tagValue = (tags: JaegerTag[] | undefined, key: string) => tags?.find((t) => t.key === key)?.value;
/** The span logs of a trace that mark a blocked loop. */
function blockedLogs(trace: JaegerTrace): { span: JaegerSpan; timestampUs: number; durationMs: number }[] {
  return trace.spans.flatMap((span) =>
    span.logs
      .filter((l) => tagValue(l.fields, 'event') === BLOCKED_EVENT)
      .map((l) => ({ span, timestampUs: l.timestamp, durationMs: Number(tagValue(l.fields, 'duration_ms')) })),
  );
}
/** The evidence of a Jaeger file and its blocks (a run without a recorded window: all of it counts). */
const evidenceOf = (file: JaegerFile, blocking: BlockingEvent[] = []) =>
  buildEvidence({ info: null, load: null, blocking: { thresholdMs: 20, events: blocking }, traces: { spans: spansFromJaeger(file), source: 'traces.jaeger.json', droppedSpans: 0 }, eventLoop: [] });

const REAL = fileURLToPath(new URL('./fixtures/fastify-blocking', import.meta.url));
const LAB = fileURLToPath(new URL('./fixtures/real-lab', import.meta.url));
const LAB_STAGES = ['01-baseline', '02-async-db', '03-parallel', '04-pooled'];
const synthetic = () =>
  makeJaeger({ id: 'x', stage: 'baseline', speed: 1, routes: ['GET /a/:id', 'POST /b'], blocking: true, hostile: false, seed: 3, startMs: Date.UTC(2025, 0, 1) }, 4);

const real = (dir: string) => () => ({ file: readJaeger(dir), blocking: readBlocking(dir).events });

type Case = [name: string, load: () => { file: JaegerFile; blocking: BlockingEvent[] }, blocked: boolean];
describe.each<Case>([
  ['synthetic', synthetic, true],
  ['real (looplens profile of a Fastify app)', real(REAL), true],
  // the real lab: baseline blocks the loop in traced requests; the other stages' few blocks fall outside the kept traces
  ...LAB_STAGES.map((st): Case => [`real lab stage ${st} (looplens lab, target-app)`, real(join(LAB, st)), st === '01-baseline']),
])('Jaeger file structure: %s', (_name, load, blocked) => {
  const { file, blocking } = load();

  it('is sound: CHILD_OF references resolve inside their trace, every span has a process, times in µs', () => {
    expect(file.data.length).toBeGreaterThan(0);
    expect(checkJaegerFile(file)).toEqual([]);
    for (const trace of file.data) {
      const ids = new Set(trace.spans.map((s) => s.spanID));
      for (const span of trace.spans) {
        expect(trace.processes[span.processID]?.serviceName).toBeTruthy();
        for (const ref of span.references.filter((r) => r.refType === 'CHILD_OF')) {
          expect(ref.traceID).toBe(trace.traceID);
          expect(ids.has(ref.spanID)).toBe(true);
        }
        // µs since the epoch: 16 digits today; a ms value would have 13, ns 19
        expect(String(span.startTime)).toHaveLength(16);
        expect(Number.isInteger(span.duration)).toBe(true);
      }
      // a trace has a request span at its root (other roots: spans whose parent never ended, e.g. unawaited work)
      expect(trace.spans.some((s) => !s.references.length && s.tags.some((g) => g.key === 'span.kind'))).toBe(true);
    }
  });

  it('carries each blocking event of a traced request as a span log named looplens.eventloop.blocked', () => {
    const logs = file.data.flatMap((t) => blockedLogs(t));
    if (blocked) expect(logs.length).toBeGreaterThan(0);
    for (const l of logs) {
      expect(tagValue(l.span.logs.find((x) => x.timestamp === l.timestampUs)!.fields, 'event')).toBe(BLOCKED_EVENT_NAME);
      expect(l.durationMs).toBeGreaterThan(0);
    }
    const spans = new Map(file.data.flatMap((t) => t.spans.map((s) => [s.spanID, s] as const)));
    const traced = blocking.filter((e) => e.spanId && spans.has(e.spanId));
    if (blocked) expect(traced.length).toBeGreaterThan(0);
    for (const ev of traced) {
      const span = spans.get(ev.spanId!)!;
      expect(span.traceID.toLowerCase()).toBe(ev.traceId!.toLowerCase());
      const log = span.logs.find((l) => tagValue(l.fields, 'event') === BLOCKED_EVENT_NAME && Math.abs(l.timestamp - ev.startMs * 1000) < 2000);
      expect(log, `blocking event at ${ev.startMs} on span ${ev.spanId}`).toBeDefined();
      expect(Number(tagValue(log!.fields, 'duration_ms'))).toBeCloseTo(ev.durationMs, 0);
    }
  });

  it('gives one waterfall per route: the slowest request, its spans, its blocked stretches once each', () => {
    const waterfalls = buildWaterfalls(evidenceOf(file, blocking));
    expect(waterfalls.length).toBeGreaterThan(1);
    for (const w of waterfalls) {
      expect(w.rows[0].depth).toBe(0);
      expect(w.rows[0].startUs).toBe(0);
      expect(w.rows[0].category).toBe('server');
      expect(w.route).toMatch(/^(GET|POST|PUT|DELETE|PATCH) \//);
      // the slowest of its route
      const entries = file.data.flatMap((t) => t.spans.filter((s) => tagValue(s.tags, 'span.kind') === 'server' && !s.references.length));
      const same = entries.filter((s) => `${tagValue(s.tags, 'http.request.method') ?? tagValue(s.tags, 'http.method')} ${tagValue(s.tags, 'http.route')}` === w.route);
      if (same.length) expect(w.durationUs).toBe(Math.max(...same.map((s) => s.duration)));
      // every stretch once: one mark per block of blocking.json
      const ids = w.marks.map((m) => m.blockId);
      expect(new Set(ids).size).toBe(ids.length);
    }
    if (blocked) expect(waterfalls.some((w) => w.marks.some((m) => m.kind === 'own'))).toBe(true);
  });
});

describe('the real run', () => {
  it("shows the time a request waited behind other requests' blocking, and whose blocks they were", () => {
    const waterfalls = buildWaterfalls(loadEvidence(REAL));
    const timer = waterfalls.find((w) => w.route === 'GET /timer')!;
    // /timer only awaits a 30 ms timer: its slowest request was slow because /busy and /sleep blocked the loop
    expect(timer.marks.filter((m) => m.kind === 'own')).toEqual([]);
    expect(timer.waitedMs).toBeGreaterThan(30);
    expect(timer.marks.filter((m) => m.kind === 'waited').map((m) => m.route)).toEqual(expect.arrayContaining([expect.stringMatching(/^GET \/(busy|sleep)/)]));
    expect(waterfalls.find((w) => w.route === 'GET /busy/:id')!.marks.filter((m) => m.kind === 'own').length).toBeGreaterThan(0);
  });
});

describe('checkJaegerFile finds broken files', () => {
  const base = (): JaegerFile => JSON.parse(JSON.stringify(synthetic().file));

  it('a CHILD_OF reference to a span of no trace', () => {
    const f = base();
    f.data[0].spans[1].references[0].spanID = 'ffffffffffffffff';
    expect(checkJaegerFile(f).join('\n')).toMatch(/CHILD_OF .* does not resolve inside its trace/);
  });

  it('a span whose process is missing', () => {
    const f = base();
    f.data[0].spans[0].processID = 'p9';
    expect(checkJaegerFile(f).join('\n')).toMatch(/process p9 not in processes/);
  });

  it('times in milliseconds or fractional microseconds', () => {
    const f = base();
    f.data[0].spans[0].startTime = Math.round(f.data[0].spans[0].startTime / 1000);
    f.data[0].spans[1].duration = 1.5;
    const problems = checkJaegerFile(f).join('\n');
    expect(problems).toMatch(/startTime \d+ is not epoch microseconds/);
    expect(problems).toMatch(/duration 1.5 is not whole microseconds/);
  });

  it('no data array', () => {
    expect(checkJaegerFile({} as JaegerFile)).toEqual(['no "data" array']);
  });
});

describe('buildWaterfalls', () => {
  it('caps the rows drawn and counts the rest', () => {
    const w = buildWaterfalls(evidenceOf(synthetic().file), { maxRows: 3 });
    for (const x of w) {
      expect(x.rows).toHaveLength(3);
      expect(x.rows.length + x.hiddenRows).toBeGreaterThan(3);
    }
  });

  it('marks the blocks of blocking.json only: a span log is what Jaeger shows, not a second source of blocks', () => {
    const { file, blocking } = synthetic();
    expect(buildWaterfalls(evidenceOf(file)).every((x) => x.marks.length === 0)).toBe(true);
    const marked = buildWaterfalls(evidenceOf(file, blocking)).flatMap((x) => x.marks.filter((m) => m.kind === 'own'));
    expect(marked.map((m) => m.blockId).sort()).toEqual(blocking.map((_, i) => `#${i}`).sort());
  });

  it('draws a run of same-named leaf spans (N+1 queries) as one row with a bar per span', () => {
    const { file, blocking } = synthetic();
    const w = buildWaterfalls(evidenceOf(file, blocking));
    for (const x of w) {
      const n1 = x.rows.find((r) => r.repeat);
      expect(n1, x.route).toBeDefined();
      expect(n1!.name).toBe('pg.query:SELECT looplens');
      expect(n1!.repeat).toHaveLength(6);
      expect(n1!.startUs).toBe(n1!.repeat![0].startUs);
      const last = n1!.repeat![5];
      expect(n1!.startUs + n1!.durationUs).toBe(last.startUs + last.durationUs);
      // every span of the request is counted, drawn in fewer rows
      expect(x.spanCount).toBe(10);
      expect(x.rows.length).toBe(5);
    }
    // single spans stay single rows
    expect(buildWaterfalls(evidenceOf(file, blocking), { minRepeat: 100 })[0].rows.length).toBe(10);
  });

  it('leaves out traces without a request span (startup queries, timers)', () => {
    const { file } = synthetic();
    const background = JSON.parse(JSON.stringify(file.data[0])) as (typeof file.data)[number];
    background.traceID = 'b'.repeat(32);
    background.spans = [{ ...background.spans[3], traceID: background.traceID, references: [], operationName: 'pg.connect' }];
    const w = buildWaterfalls(evidenceOf({ data: [...file.data, background] }));
    expect(w.map((x) => x.route)).not.toContain('pg.connect');
  });

  it('returns nothing without traces', () => {
    expect(buildWaterfalls(evidenceOf({ data: [] }))).toEqual([]);
  });
});
