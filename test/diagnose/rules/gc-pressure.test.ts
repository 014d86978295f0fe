import { describe, expect, it } from 'vitest';
import { gcPressure, MIN_GC_SHARE } from '../../../scripts/diagnose/rules/gc-pressure.js';
import { memoryEvidence, times, WINDOW_MS } from '../memory-builder.js';

const HEAVY = ['server@server.js:5', 'handleExport@routes.js:30', 'expandRows@export.js:12'];
const LIGHT = ['server@server.js:5', 'handleHealth@routes.js:40'];
const ROUTES = { 'GET /export': { 'handleExport (routes.js:30)': 80 }, 'GET /health': { 'handleHealth (routes.js:40)': 10 } };
/** `share` of the window in 100 equal pauses. */
const pauses = (share: number): [number, number][] => Array.from({ length: 100 }, (_, i) => [i * 100, (share * WINDOW_MS) / 100]);

describe('rule: GC pressure', () => {
  it('names the top allocating function and its route when GC takes more than its share of the window', () => {
    const e = memoryEvidence({
      allocated: [...times(900, HEAVY, 131072), ...times(100, LIGHT, 131072)],
      live: [],
      pauses: pauses(0.3),
      requests: { 'GET /export': 200, 'GET /health': 200 },
      frameRoutes: ROUTES,
    });
    const [f, ...rest] = gcPressure.detect(e);
    expect(rest).toEqual([]);
    expect(f!.route).toBe('GET /export');
    expect(f!.title).toBe('garbage collection takes 30 % of the window (7.5 ms per request): expandRows (export.js:12) in GET /export allocates 90 % of it');
    expect((f!.evidence.topAllocators as { site: string; share: number; route: string }[])[0]).toMatchObject({ site: 'expandRows (export.js:12)', share: 90, route: 'GET /export' });
    expect((f!.evidence.topRoutes as { route: string }[])[0]!.route).toBe('GET /export');
    // GC ms per request × the top site's share of the bytes
    expect(f!.savingMsPerRequest).toBeCloseTo(7.5 * 0.9, 1);
  });

  it(`says nothing below ${MIN_GC_SHARE * 100} % of the window, however much is allocated`, () => {
    const e = memoryEvidence({ allocated: times(5000, HEAVY, 131072), live: [], pauses: pauses(0.12), requests: { 'GET /export': 400 }, frameRoutes: ROUTES });
    expect(gcPressure.detect(e)).toEqual([]);
  });
});
