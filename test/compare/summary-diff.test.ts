import { describe, expect, it } from 'vitest';
import { stats, summary } from './helpers.js';
import { formatRelative, makeChange, rangesOverlap, relativeChange } from '../../scripts/compare/change.js';
import { diffSummaries } from '../../scripts/compare/summary-diff.js';

describe('makeChange', () => {
  it('gives the direction of the value and whether that is better or worse', () => {
    expect(makeChange(100, 150, 'lower')).toMatchObject({ direction: 'up', verdict: 'worse', relative: 0.5, delta: 50 });
    expect(makeChange(100, 50, 'lower')).toMatchObject({ direction: 'down', verdict: 'better' });
    expect(makeChange(100, 150, 'higher')).toMatchObject({ direction: 'up', verdict: 'better' });
    expect(makeChange(100, 50, 'higher')).toMatchObject({ direction: 'down', verdict: 'worse' });
    expect(makeChange(100, 100.5, 'lower')).toMatchObject({ direction: 'up', verdict: 'same' });
  });
  it('marks a change inside the repeated runs\' spread as noise', () => {
    expect(makeChange(100, 110, 'lower', { base: [90, 112], head: [105, 118] }).verdict).toBe('noise');
    expect(makeChange(100, 130, 'lower', { base: [90, 112], head: [125, 140] }).verdict).toBe('worse');
    expect(makeChange(100, 103, 'lower', { head: [99, 110] }).verdict).toBe('noise');
  });
  it('handles zero bases', () => {
    expect(relativeChange(0, 0)).toBe(0);
    expect(relativeChange(0, 3)).toBe(Infinity);
    expect(formatRelative(makeChange(0, 3, 'lower'))).toBe('from 0');
    expect(formatRelative(makeChange(3, 0, 'lower'))).toBe('−100%');
    expect(formatRelative(makeChange(100, 134.2, 'lower'))).toBe('+34%');
    expect(formatRelative(makeChange(100, 96.4, 'lower'))).toBe('−3.6%');
  });
  it('overlap is symmetric and order-insensitive', () => {
    expect(rangesOverlap([1, 2], [2, 3])).toBe(true);
    expect(rangesOverlap([3, 2], [1, 1.5])).toBe(false);
  });
});

describe('diffSummaries', () => {
  it('diffs overall, routes (new and gone too) and run metrics; latency down and rps up are both better', () => {
    const base = summary();
    const head = summary({
      overall: stats(40, 400),
      routes: { 'GET /a': stats(40, 300), 'POST /c': stats(10, 100) },
      blocking: { count: 2, totalMs: 40, msPerRequest: 0.02 },
    });
    const d = diffSummaries(base, head);
    expect(d.overall.metrics.p95).toMatchObject({ base: 100, head: 40, direction: 'down', verdict: 'better' });
    expect(d.overall.metrics.rps).toMatchObject({ direction: 'up', verdict: 'better' });
    expect(d.routes.map((r) => [r.route, r.presence])).toEqual([
      ['GET /a', 'both'],
      ['POST /c', 'new'],
      ['GET /b', 'gone'],
    ]);
    const blocked = d.run.find((r) => r.name === 'blocked')!;
    expect(blocked.change).toMatchObject({ direction: 'down', verdict: 'better' });
    expect(d.run.find((r) => r.name === 'queries')).toBeUndefined(); // not measured
  });

  it('treats a route without requests as absent from that run', () => {
    const base = summary({ routes: { 'GET /a': stats(100, 150), 'POST /p': stats(0, 0, 0) } });
    const d = diffSummaries(base, summary({ routes: { 'GET /a': stats(100, 150), 'POST /p': stats(50, 2, 10) } }));
    expect(d.routes.find((r) => r.route === 'POST /p')).toMatchObject({ presence: 'new', metrics: {} });
    const neither = diffSummaries(base, base);
    expect(neither.routes.map((r) => r.route)).toEqual(['GET /a']);
  });

  it('reads spreads by dotted path, per route too', () => {
    const base = summary({ spread: { 'overall.latencyMs.p95': [90, 120], 'routes.GET /a.latencyMs.p95': [95, 105] } });
    const head = summary({ overall: stats(110, 200), routes: { 'GET /a': stats(130, 150) }, spread: { 'overall.latencyMs.p95': [100, 125], 'routes.GET /a.latencyMs.p95': [125, 140] } });
    const d = diffSummaries(base, head);
    expect(d.overall.metrics.p95.verdict).toBe('noise');
    expect(d.routes[0].metrics.p95.verdict).toBe('worse');
  });

  it('a route without a spread of its own borrows the overall metric\'s relative spread', () => {
    // overall p95 ranged 80..120 around 100 in base: ±40 % is noise for every route's p95
    const base = summary({ spread: { 'overall.latencyMs.p95': [80, 120] } });
    const head = summary({ routes: { 'GET /a': stats(130, 150), 'GET /b': stats(80, 50) } });
    const d = diffSummaries(base, head);
    expect(d.routes.find((r) => r.route === 'GET /a')!.metrics.p95.verdict).toBe('noise'); // +30 %
    expect(d.routes.find((r) => r.route === 'GET /b')!.metrics.p95.verdict).toBe('worse'); // +60 %
    expect(d.routes.find((r) => r.route === 'GET /b')!.metrics.p50.verdict).toBe('worse'); // no overall p50 spread
  });

  it('swapping base and head flips every direction and verdict', () => {
    const a = summary();
    const b = summary({ overall: stats(40, 400), blocking: { count: 2, totalMs: 40, msPerRequest: 0.02 }, eventLoop: { delayMs: { p50: 1, p99: 5, max: 9 }, utilization: 0.4 } });
    const ab = diffSummaries(a, b);
    const ba = diffSummaries(b, a);
    const flip = { up: 'down', down: 'up', flat: 'flat' } as const;
    const vflip = { better: 'worse', worse: 'better', same: 'same', noise: 'noise' } as const;
    for (const [name, c] of Object.entries(ab.overall.metrics)) {
      expect(ba.overall.metrics[name].direction).toBe(flip[c.direction]);
      expect(ba.overall.metrics[name].verdict).toBe(vflip[c.verdict]);
    }
    for (const r of ab.run) {
      const s = ba.run.find((x) => x.name === r.name)!;
      expect(s.change.direction).toBe(flip[r.change.direction]);
    }
  });
});
