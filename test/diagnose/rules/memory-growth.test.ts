import { describe, expect, it } from 'vitest';
import { memoryGrowth } from '../../../scripts/diagnose/rules/memory-growth.js';
import { memoryEvidence, times } from '../memory-builder.js';

const LEAK = ['server@server.js:5', 'handleLeak@routes.js:10', 'remember@store.js:3'];
const CHURN = ['server@server.js:5', 'handleReport@routes.js:20', 'buildRows@report.js:7'];
const ROUTES = { 'GET /leak': { 'handleLeak (routes.js:10)': 40, 'server (server.js:5)': 10 }, 'GET /report': { 'handleReport (routes.js:20)': 60, 'server (server.js:5)': 10 } };
const MIB = 1024 * 1024;

describe('rule: memory growth', () => {
  it('names the route that keeps memory, its allocation site and caller, and the growth per 1,000 of its requests', () => {
    // 400 GET /leak requests, 200 in the live half; 100 samples of 64 KiB kept there = 6.25 MiB → 32 KiB a request
    const e = memoryEvidence({
      allocated: [...times(100, LEAK, 65536), ...times(2000, CHURN, 131072)],
      live: times(100, LEAK, 65536),
      requests: { 'GET /leak': 400, 'GET /report': 400 },
      frameRoutes: ROUTES,
    });
    const [f, ...rest] = memoryGrowth.detect(e);
    expect(rest).toEqual([]);
    expect(f!.route).toBe('GET /leak');
    expect(f!.evidence).toMatchObject({ site: 'remember (store.js:3)', function: 'remember', file: 'store.js', line: 3 });
    expect((f!.evidence.sites as { callers: string[] }[])[0]!.callers[0]).toBe('handleLeak (routes.js:10)');
    expect(f!.evidence.requests).toBe(200);
    expect(f!.evidence.mbPer1kRequests).toBeCloseTo(((100 * 65536) / MIB / 200) * 1000, 0);
    expect(f!.title).toMatch(/^every GET \/leak request keeps 32 KiB live, allocated at remember \(store\.js:3\) \(from handleLeak \(routes\.js:10\)\)/);
    expect(f!.savingMsPerRequest).toBe(0);
  });

  it('finds nothing in churn: allocated in plenty, collected, nothing live', () => {
    const e = memoryEvidence({ allocated: times(5000, CHURN, 131072), live: [], requests: { 'GET /report': 800 }, frameRoutes: ROUTES });
    expect(memoryGrowth.detect(e)).toEqual([]);
  });

  it('leaves out what is too small to tell from sampling noise, and growth without a route is named by its site', () => {
    const few = memoryEvidence({ allocated: [], live: times(10, LEAK, 131072), requests: { 'GET /leak': 400 }, frameRoutes: ROUTES });
    expect(memoryGrowth.detect(few)).toEqual([]);
    const unrouted = memoryEvidence({ allocated: [], live: times(100, LEAK, 65536), requests: { 'GET /leak': 400 } });
    const [f] = memoryGrowth.detect(unrouted);
    expect(f!.route).toBeNull();
    expect(f!.key).toBe('memory-growth - remember (store.js)');
    expect(f!.evidence.requests).toBe(200);
  });

  it("leaves out looplens' own measuring (the probes and OpenTelemetry keeping spans for the trace files)", () => {
    const otel = ['server@server.js:5', 'onEnd@node_modules/@opentelemetry/sdk-trace-base/build/src/Span.js:40'];
    const e = memoryEvidence({ allocated: [], live: times(200, otel, 131072), requests: { 'GET /leak': 400 }, frameRoutes: ROUTES });
    expect(memoryGrowth.detect(e)).toEqual([]);
    expect(e.memory!.live!.measuringBytes).toBe(200 * 131072);
  });
});
