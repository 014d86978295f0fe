/**
 * Acceptance of the blocking detector: fixture apps (node:http and Fastify, ESM and CJS) with blocking functions of
 * known duration on known routes, under concurrent load. Scored against the fixture's own ground truth after the
 * child exits: ≥ 95 % of blocked ms on the right route and function, per-request durations within ±10 ms, nothing
 * on the timer-only route. Each case runs with the lab's defaults (tracing: the owner is the active span) and under
 * the production preset (LOOPLENS_PRESET=production: no spans, the request carried by AsyncLocalStorage).
 */
import { describe, expect, it } from 'vitest';
import { readBlocking } from '../../profiles/contract/read.js';
import { load, machineStalls, quantile, runFixture, score, type FixtureOptions } from './harness.js';

const THRESHOLD = 20;

interface Case {
  name: string;
  app: string;
  preload: FixtureOptions['preload'];
  routes: { busy: string; sleep: string; exec: string; late: string };
  env?: Record<string, string>;
}

const http = { busy: '/busy', sleep: '/sleep', exec: '/exec', late: '/late' };
const fastify = { busy: '/busy/1', sleep: '/sleep/2', exec: '/exec', late: '/late' };
const cases: Case[] = [
  { name: 'node:http ESM (--import)', app: 'http-app.mjs', preload: 'esm', routes: http },
  // This one times every callback from the first connection instead of arming on the first block, and takes its
  // stacks from the 5 ms sampling used when no whole-run profile is asked for.
  {
    name: 'node:http CJS (--require, LOOPLENS_BLOCK_DETECT=always, LOOPLENS_CPU_PROFILE=0)',
    app: 'http-app.cjs',
    preload: 'cjs',
    routes: http,
    env: { LOOPLENS_BLOCK_DETECT: 'always', LOOPLENS_CPU_PROFILE: '0' },
  },
  { name: 'Fastify ESM (--import)', app: 'fastify-app.mjs', preload: 'esm', routes: fastify },
  { name: 'Fastify CJS (--require)', app: 'fastify-app.cjs', preload: 'cjs', routes: fastify },
];
const presets: { preset: string; env: Record<string, string> }[] = [
  { preset: 'lab defaults', env: {} },
  { preset: 'production preset', env: { LOOPLENS_PRESET: 'production' } },
];
const matrix = presets.flatMap((p) => cases.map((c) => ({ ...c, name: `${p.preset}: ${c.name}`, env: { ...c.env, ...p.env } })));

describe.each(matrix)('blocking attribution: $name', ({ app, preload, routes, env }) => {
  it('charges each blocked request its own duration, on the right route and function', async () => {
    const paths = [routes.busy, routes.sleep, '/clean', routes.exec, '/timer', routes.late, '/clean', '/clean'];
    const run = await runFixture({
      app,
      preload,
      env,
      warmup: [...paths, ...paths],
      load: (port) => load(port, paths, { connections: 8, durationS: 5 }),
    });
    expect(run.signal ?? run.exitCode, run.stderr).toSatisfy((v) => v === 0 || v === 'SIGINT');
    const blocking = readBlocking(run.out);
    expect(blocking.thresholdMs).toBe(THRESHOLD);
    const acc = score(blocking.events, run.truth, run.loadStartMs, run.stopMs, THRESHOLD);
    const measured = blocking.events.filter((e) => e.startMs >= run.loadStartMs);
    const summary = {
      events: measured.length,
      truthCalls: run.truth.filter((t) => t.startMs >= run.loadStartMs).length,
      precision: acc.precision,
      recall: acc.recall,
      p50ErrMs: quantile(acc.durationErrors, 0.5),
      p95ErrMs: quantile(acc.durationErrors, 0.95),
      within10: acc.durationErrors.filter((e) => e <= 10).length / Math.max(1, acc.durationErrors.length),
      maxErrMs: Math.max(0, ...acc.durationErrors),
      missed: acc.missed.slice(0, 5).map((t) => `${t.route} ${t.fn} ${t.durationMs.toFixed(1)}ms`),
      descheduled: blocking.descheduled,
      wrong: acc.wrong.slice(0, 5).map((w) => `${w.event.route} ${w.event.topFrame} ${w.event.durationMs}ms vs ${w.truth?.route} ${w.truth?.fn}`),
    };
    console.log(`${app} (${preload}):`, JSON.stringify(summary));
    expect(summary.truthCalls).toBeGreaterThan(20);
    expect(acc.precision).toBeGreaterThanOrEqual(0.95);
    expect(acc.recall).toBeGreaterThanOrEqual(0.95);
    // Per-request durations: each request is charged its own part (a merged lump would be off by a whole request).
    // Both sides leave out the time the OS kept the thread off the CPU, so this holds on a loaded machine too.
    expect(summary.p50ErrMs).toBeLessThanOrEqual(3);
    expect(summary.within10).toBeGreaterThanOrEqual(0.95);
    // The route that only awaits timers, and the clean one, never block (short machine stalls aside, see machineStalls).
    const negatives = blocking.events.filter((e) => /\/(timer|clean)/.test(e.route ?? ''));
    const machine = machineStalls(negatives, THRESHOLD);
    expect(negatives.filter((e) => !machine.includes(e))).toEqual([]);
    expect(machine.length).toBeLessThanOrEqual(2);
  });
});
