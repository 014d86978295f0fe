/**
 * The production preset's bounds: with the profile cut every second (LOOPLENS_ROTATE_S=1) and at most 15 blocks kept
 * (LOOPLENS_MAX_BLOCKS), a run of the http fixture keeps the newest 15, says how many it dropped, and every block kept
 * has its stack resolved from the cut it fell in (none left pending) — what lets the probes run for days.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBlocking, readTraces } from '../../profiles/contract/index.js';
import { load, runFixture } from './harness.js';

describe('production preset, bounded', () => {
  it('keeps at most LOOPLENS_MAX_BLOCKS blocks, each with its stack resolved at a rotation', async () => {
    const run = await runFixture({
      app: 'http-app.mjs',
      preload: 'esm',
      env: { LOOPLENS_PRESET: 'production', LOOPLENS_ROTATE_S: '1', LOOPLENS_MAX_BLOCKS: '15', LOOPLENS_TRACE_SAMPLE_RATE: '0' },
      warmup: ['/clean', '/busy'],
      load: (port) => load(port, ['/busy', '/late', '/clean'], { connections: 4, durationS: 4 }),
    });
    expect(run.signal ?? run.exitCode, run.stderr).toSatisfy((v) => v === 0 || v === 'SIGINT');
    const blocking = readBlocking(run.out);
    expect(blocking.events.length).toBeLessThanOrEqual(15);
    expect(blocking.events.length).toBeGreaterThanOrEqual(10);
    expect(blocking.droppedBlocks ?? 0).toBeGreaterThan(0);
    // every stack resolved (none pending), nearly all of them naming the app's function (a cut can leave one block few
    // samples). A profile started after a cut names a callee TurboFan inlined before it by its caller: the route's
    // handler (cpu-profiler.ts rotate), still the app's own frame — seen on Node 24, and once on Node 20 (fresh-ci)
    const fn = /^(busyLoop|\(anonymous\)) \(test\/probes\/fixtures\/(work|http-app)\.mjs:\d+\)$/;
    const named = blocking.events.filter((e) => fn.test(e.topFrame));
    expect(named.length / blocking.events.length, blocking.events.map((e) => e.topFrame).join('; ')).toBeGreaterThanOrEqual(0.8);
    for (const e of blocking.events) {
      expect(e.topFrame).not.toMatch(/pending/);
      expect(e.route).toMatch(/^GET \/(busy|late)$/);
      // no span sampled (rate 0): no trace, no span
      expect(e.traceId).toBeNull();
    }
    // the newest are kept: the last block is near the end of the load
    expect(blocking.events.at(-1)!.startMs).toBeGreaterThan(run.stopMs - 2000);
    expect(existsSync(join(run.out, 'profile.cpuprofile'))).toBe(true);
    expect(readTraces(run.out).spans).toEqual([]);
  });
});
