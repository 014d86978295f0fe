/**
 * Every block charged, the rare ones too: test/probes/fixtures/rare-blocks-app.mjs blocks for 100 ms after an await,
 * once every 6 s, so the detector has disarmed in between and each block is the one that arms it again — nothing
 * times its callbacks. The watchdog thread (probes/blocking/watchdog.ts) must see which request ran it, so every
 * block is charged to GET /rare and its function, its duration within ±10 %; and its span event lies inside its span.
 * Also under the production preset (no spans: the request carried by AsyncLocalStorage), every request sent with a
 * traceparent header and every one sampled (LOOPLENS_TRACE_SAMPLE_RATE=1): each block carries the incoming trace id,
 * and its event lies inside the one server span the preset writes for the request.
 */
import { describe, expect, it } from 'vitest';
import { BLOCKED_EVENT, BLOCKED_EVENT_FIELDS, readBlocking, readJaeger, readTraces } from '../../profiles/contract/index.js';
import { load, runFixture } from './harness.js';

const BLOCK_MS = 100;
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

describe.each<{ mode: string; env: Record<string, string>; headers: Record<string, string> }>([
  { mode: 'lab defaults', env: {}, headers: {} },
  { mode: 'production preset', env: { LOOPLENS_PRESET: 'production', LOOPLENS_TRACE_SAMPLE_RATE: '1' }, headers: { traceparent: TRACEPARENT } },
])('rare blocks after an await ($mode)', ({ mode, env, headers }) => {
  it('charges every one to its route and function, at its duration, found by the detector or recovered', async () => {
    const run = await runFixture({
      app: 'rare-blocks-app.mjs',
      preload: 'esm',
      // the on-demand detector, whose arming block is the one recovered (the default span profile times every callback)
      env: { BLOCK_MS: String(BLOCK_MS), BLOCK_EVERY_MS: '6000', LOOPLENS_BLOCK_DETECT: 'auto', ...env },
      warmup: ['/fast', '/fast'],
      load: (port) => load(port, ['/rare', '/fast'], { connections: 2, durationS: 14, headers }),
      timeoutMs: 60_000,
    });
    expect(run.signal ?? run.exitCode, run.stderr).toSatisfy((v) => v === 0 || v === 'SIGINT');
    const blocking = readBlocking(run.out);
    const truth = run.truth.filter((t) => t.durationMs >= 20);
    expect(truth.length, JSON.stringify(run.truth)).toBeGreaterThanOrEqual(2);
    const report = blocking.events.map((e) => `${e.found} ${e.route} ${e.topFrame} ${e.durationMs}`);
    console.log('rare blocks:', report, 'truth:', truth.map((t) => t.durationMs.toFixed(1)));
    for (const t of truth) {
      const e = blocking.events.find((x) => Math.abs(x.startMs - t.startMs) < 20);
      expect(e, `no event for the block at ${t.startMs}: ${report.join('; ')}`).toBeDefined();
      expect(e!.route).toBe('GET /rare');
      expect(e!.topFrame).toMatch(/^busyLoop \(test\/probes\/fixtures\/work\.mjs:\d+\)$/);
      expect(Math.abs(e!.durationMs - t.durationMs) / t.durationMs).toBeLessThanOrEqual(0.1);
    }
    // the blocks that armed the detector were recovered, and charged like the others
    expect(blocking.events.filter((e) => e.found === 'recovered' && e.route === 'GET /rare').length).toBeGreaterThanOrEqual(1);
    expect(blocking.events.filter((e) => e.route === null)).toEqual([]);

    if (mode === 'production preset') {
      // no span per request: the incoming trace, and the one server span of each sampled request
      const spans = readTraces(run.out).spans;
      for (const e of blocking.events) {
        expect(e.traceId).toBe(TRACE_ID);
        const span = spans.find((s) => s.spanId === e.spanId);
        expect(span, e.id).toBeDefined();
        expect(span!.parentId).toBe('00f067aa0ba902b7');
        expect(span!.kind).toBe('server');
        const event = span!.events.find((x) => x.name === BLOCKED_EVENT && x.attributes[BLOCKED_EVENT_FIELDS.blockId] === e.id);
        expect(event, `${e.id} has no event`).toBeDefined();
        expect(event!.timeMs).toBeGreaterThanOrEqual(span!.startMs);
        expect(event!.timeMs).toBeLessThanOrEqual(span!.endMs);
      }
      // nothing of the request but its method, path and status
      expect(JSON.stringify(spans)).not.toMatch(/SECRET/);
      return;
    }

    // in the Jaeger file, each block is a log of its span, inside it, carrying the block's id
    const spans = readJaeger(run.out).data.flatMap((t) => t.spans);
    for (const e of blocking.events) {
      const span = spans.find((s) => s.spanID === e.spanId);
      expect(span, e.id).toBeDefined();
      const log = span!.logs.find((l) => l.fields.some((f) => f.key === 'block_id' && f.value === e.id));
      expect(log, `${e.id} has no log`).toBeDefined();
      expect(log!.fields.find((f) => f.key === 'event')!.value).toBe(BLOCKED_EVENT);
      expect(log!.timestamp).toBeGreaterThanOrEqual(span!.startTime);
      expect(log!.timestamp).toBeLessThanOrEqual(span!.startTime + span!.duration);
    }
  }, 90_000);
});
