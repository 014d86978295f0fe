import { describe, expect, it } from 'vitest';
import type { BlockingEvent, BlockingFile } from '../../profiles/contract/index.js';
import { diffBlocking } from '../../scripts/compare/blocking-diff.js';
import { evidenceOf, summary } from './helpers.js';

const event = (route: string | null, topFrame: string, durationMs: number): BlockingEvent => ({
  startMs: 0,
  durationMs,
  route,
  traceId: null,
  spanId: null,
  topFrame,
  frames: [],
});
const file = (events: BlockingEvent[]): BlockingFile => ({ thresholdMs: 20, events });

describe('diffBlocking', () => {
  it('keys hotspots by route and top frame (line numbers ignored) and normalises per request of the route', () => {
    const base = file([
      event('GET /a', 'querySync (dist/db/sync.js:10)', 30),
      event('GET /a', 'querySync (dist/db/sync.js:10)', 50),
      event('GET /b', 'render (dist/view.js:3)', 40),
      event(null, 'boot (dist/main.js:1)', 100),
    ]);
    const head = file([event('GET /b', 'render (dist/view.js:7)', 25), event('GET /b', 'hash (dist/auth.js:2)', 60)]);
    // GET /a has 1000 requests, GET /b 1000, overall 1000 in the sample summary; make head twice as long
    const headSummary = summary();
    headSummary.routes['GET /b'] = { ...headSummary.routes['GET /b'], requests: 500 };
    const d = diffBlocking(evidenceOf(base, summary()), evidenceOf(head, headSummary));
    const byKey = Object.fromEntries(d.map((h) => [`${h.route} ${h.topFrame}`, h]));
    expect(byKey['GET /a querySync (dist/db/sync.js)']).toMatchObject({ status: 'gone', base: { count: 2, totalMs: 80, msPerRequest: 0.08 } });
    expect(byKey['GET /b render (dist/view.js)']).toMatchObject({ status: 'grew', base: { msPerRequest: 0.04 }, head: { msPerRequest: 0.05 } });
    expect(byKey['GET /b render (dist/view.js)'].relative).toBeCloseTo(0.25);
    expect(byKey['GET /b hash (dist/auth.js)']).toMatchObject({ status: 'new', head: { count: 1, msPerRequest: 0.12 } });
    expect(byKey['null boot (dist/main.js)']).toMatchObject({ route: null, status: 'gone', base: { msPerRequest: 0.1 } });
    // biggest movement first
    expect(d[0].topFrame).toBe('hash (dist/auth.js)');
  });
});
