/**
 * Every block charged, the rare ones too: test/probes/fixtures/rare-blocks-app.mjs blocks for 100 ms after an await,
 * once every 6 s, so the detector has disarmed in between and each block is the one that arms it again — nothing
 * times its callbacks. The watchdog thread (probes/blocking/watchdog.ts) must see which request ran it, so every
 * block is charged to GET /rare and its function, its duration within ±10 %; and its span event lies inside its span.
 */
import { describe, expect, it } from 'vitest';
import { BLOCKED_EVENT, readBlocking, readJaeger } from '../../profiles/contract/index.js';
import { load, runFixture } from './harness.js';

const BLOCK_MS = 100;

describe('rare blocks after an await', () => {
  it('charges every one to its route and function, at its duration, found by the detector or recovered', async () => {
    const run = await runFixture({
      app: 'rare-blocks-app.mjs',
      preload: 'esm',
      // the on-demand detector, whose arming block is the one recovered (the default span profile times every callback)
      env: { BLOCK_MS: String(BLOCK_MS), BLOCK_EVERY_MS: '6000', LOOPLENS_BLOCK_DETECT: 'auto' },
      warmup: ['/fast', '/fast'],
      load: (port) => load(port, ['/rare', '/fast'], { connections: 2, durationS: 14 }),
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
