/**
 * CPU spent in one library on every request, found from the span profile under the real CLI at looplens' defaults:
 * cpu-hotspot/app.cjs (Express + bluebird with long stack traces on) must get a cpu-hotspot finding naming bluebird on
 * its report route — and nothing on its ping route — and the same app with the setting off (FIXED=1) none at all.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRouteFlamegraphs } from '../../profiles/contract/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPS, SCENARIOS, describeFindings, describeRoutes, ensureFixtures, profile, removeRoot, tempRoot, type Profiled } from './harness.js';

const APP = join(APPS, 'cpu-hotspot/app.cjs');
const LOAD = ['--scenario', join(SCENARIOS, 'cpu-hotspot.json'), '--ids', '50', '--duration', '5'];
const REPORT = 'GET /api/report/:id';
const PING = 'GET /api/ping';

let root = '';
let slow: Profiled;
let fixed: Profiled;

beforeAll(async () => {
  ensureFixtures();
  root = tempRoot('cpu-hotspot');
  slow = await profile(APP, LOAD, {}, root, 'slow');
  fixed = await profile(APP, LOAD, { FIXED: '1' }, root, 'fixed');
}, 200_000);

afterAll(() => removeRoot(root));

describe('CPU in one library on every request', () => {
  it('profiles both versions', () => {
    expect(slow.code, slow.output.slice(-1500)).toBe(0);
    expect(fixed.code, fixed.output.slice(-1500)).toBe(0);
  });

  it('charges the CPU to the route that spent it (span profile)', () => {
    const routes = slow.summary!.routes;
    expect(routes[REPORT]?.cpuMsPerRequest, describeRoutes(slow.summary)).toBeGreaterThan(5 * (routes[PING]?.cpuMsPerRequest ?? Infinity));
    // the fix takes the library's CPU away from the report route
    expect(fixed.summary!.routes[REPORT]!.cpuMsPerRequest!).toBeLessThan(routes[REPORT]!.cpuMsPerRequest! / 3);
  });

  it('names bluebird on the report route, and nothing on the ping route', () => {
    const hot = slow.findings!.findings.filter((f) => f.kind === 'cpu-hotspot');
    expect(hot.map((f) => `${f.route} ${f.evidence.owner}`), describeFindings(slow.findings)).toEqual([`${REPORT} bluebird`]);
    expect(hot[0]!.title).toMatch(/^the bluebird package takes \d+(\.\d+)? % of the route's CPU, [\d.]+ ms per request$/);
    expect(hot[0]!.savingMsPerRequest).toBeGreaterThan(1);
  });

  it('draws a flamegraph of each route from its own samples, the busiest first', () => {
    const graphs = readRouteFlamegraphs(slow.dir);
    expect(graphs.map((g) => g.route)).toEqual([REPORT, PING]);
    for (const g of graphs) expect(g.cpuMsPerRequest).toBeCloseTo(slow.summary!.routes[g.route]!.cpuMsPerRequest!, 1);
    const report = readFileSync(graphs[0]!.path, 'utf8');
    expect(report).toContain('longStackTracesCaptureStackTrace');
    // the ping route's own samples hold none of the report route's bluebird work
    expect(readFileSync(graphs[1]!.path, 'utf8')).not.toContain('longStackTracesCaptureStackTrace');
  });

  it('finds no hotspot once the setting is off', () => {
    expect(fixed.findings!.findings.filter((f) => f.kind === 'cpu-hotspot'), describeFindings(fixed.findings)).toEqual([]);
  });
});
