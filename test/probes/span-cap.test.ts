/**
 * The span cap (LOOPLENS_MAX_SPANS) keeps memory bounded without leaving part of the run untraced: past the cap the
 * probes keep one trace in a stride chosen by trace id, so the traces kept spread over the whole load — the last
 * second as much as the first — and every kept trace is whole (its server span with its children).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readJaeger, type JaegerFile } from '../../profiles/contract/index.js';
import { load, runFixture, type FixtureRun } from './harness.js';

const CAP = 400;
let run: FixtureRun;
let jaeger: JaegerFile;

beforeAll(async () => {
  run = await runFixture({
    app: 'fastify-app.mjs',
    preload: 'esm',
    env: { LOOPLENS_MAX_SPANS: String(CAP) },
    load: (port) => load(port, ['/clean', '/timer'], { connections: 4, durationS: 3 }),
  });
  jaeger = readJaeger(run.out);
}, 60_000);

describe('the span cap', () => {
  it('holds the cap and says how many spans it dropped', () => {
    const spans = jaeger.data.flatMap((t) => t.spans);
    expect(spans.length).toBeLessThanOrEqual(CAP);
    expect(spans.length).toBeGreaterThan(CAP / 4);
    expect(jaeger.looplens?.droppedSpans ?? 0).toBeGreaterThan(0);
    expect(spans.length + jaeger.looplens!.droppedSpans).toBeGreaterThan(1.5 * CAP);
  });

  it('keeps traces from the whole load, its last second included', () => {
    const starts = jaeger.data.flatMap((t) => t.spans.filter((s) => s.references.length === 0).map((s) => s.startTime / 1000));
    const loadMs = run.stopMs - run.loadStartMs;
    const thirds = [0, 1, 2].map((k) => starts.filter((t) => t >= run.loadStartMs + (k * loadMs) / 3 && t < run.loadStartMs + ((k + 1) * loadMs) / 3).length);
    for (const n of thirds) expect(n, `root spans per third of the load: ${thirds.join(', ')}`).toBeGreaterThan(0);
    expect(Math.min(...thirds) / Math.max(...thirds), `root spans per third of the load: ${thirds.join(', ')}`).toBeGreaterThan(0.4);
  });
});
