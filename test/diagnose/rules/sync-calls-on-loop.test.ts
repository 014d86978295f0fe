/**
 * Synchronous calls that hold the loop in stretches under the block threshold, found in the span profile: on the
 * captured per-route CPU samples of a real baseline stage (target-app's synchronous driver; only one route's blocks
 * passed the 20 ms threshold there), and the cpu-hotspot rule leaving those samples to the blocking rule.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { RouteCpu } from '../../../scripts/analysis/cpu.js';
import { syncCallsOnLoop, syncKindOfStack } from '../../../scripts/diagnose/rules/blocking-call.js';
import { hotOwners } from '../../../scripts/diagnose/rules/cpu-hotspot.js';

interface Captured {
  blockedRoutes: string[];
  routes: Record<string, { requests: number; ms: number; stacks: [string, number][] }>;
}
const captured = JSON.parse(gunzipSync(readFileSync(new URL('../fixtures/baseline-route-cpu.json.gz', import.meta.url))).toString('utf8')) as Captured;
const routes = new Map<string, RouteCpu>(
  Object.entries(captured.routes).map(([route, r]) => [route, { stacks: new Map(r.stacks), ms: r.ms, requests: r.requests, msPerRequest: r.ms / r.requests }]),
);
/** The samples inside the synchronous driver, by route: the truth the findings must give back. */
const syncMs = (route: string) => [...routes.get(route)!.stacks].filter(([s]) => /sync-client\.ts/.test(s)).reduce((n, [, ms]) => n + ms, 0);

describe('synchronous calls on the loop, from the span profile', () => {
  const findings = syncCallsOnLoop(routes, routes.keys(), new Set(captured.blockedRoutes));

  it('names the driver on every route that uses it but has no blocking-call finding from blocks', () => {
    expect(findings.map((f) => f.route).sort()).toEqual(Object.keys(captured.routes).filter((r) => !captured.blockedRoutes.includes(r)).sort());
    for (const f of findings) {
      expect(f.kind).toBe('blocking-call');
      expect(f.evidence).toMatchObject({ file: 'target-app/db/sync-client.ts', blocker: 'sync-db-driver', source: 'span profile' });
      expect(f.evidence.syncCalls).toEqual(expect.arrayContaining(['querySync']));
      expect(f.title).toMatch(/^(\w+Sync\/)*\w+Sync \(target-app\/db\/sync-client\.ts\) holds the event loop [\d.]+ ms per /);
      // the route's samples inside the driver ÷ its traced requests
      expect(f.savingMsPerRequest).toBeCloseTo(syncMs(f.route!) / routes.get(f.route!)!.requests, 1);
      // the key a block of the same call would have (its innermost app frame)
      expect(f.key).toBe(`blocking-call ${f.route} callSync (blocking-bridge.ts)`);
      expect(f.evidence.caller).toMatch(/\(target-app\/stages\/baseline\.ts:\d+\)$/);
    }
  });

  it('says nothing of a route whose blocks the blocking rule already names', () => {
    expect(findings.some((f) => captured.blockedRoutes.includes(f.route!))).toBe(false);
    expect(syncCallsOnLoop(routes, routes.keys(), new Set(routes.keys()))).toEqual([]);
  });

  it('recognises the synchronous stacks, and not the framework\'s', () => {
    const stacks = [...routes.get('POST /posts')!.stacks.keys()];
    expect(stacks.filter((s) => syncKindOfStack(s) !== null).every((s) => /Sync \(/.test(s))).toBe(true);
    expect(syncKindOfStack('emit (node:events:471);preHandlerCallback (node_modules/fastify/lib/handle-request.js:149);parse (node_modules/ajv/dist/x.js:3)')).toBeNull();
    expect(syncKindOfStack('handler (src/app.ts:3);readFileSync (node:fs:441)')).toBe('sync-fs');
  });

  it('cpu-hotspot leaves the synchronous driver to the blocking rule', () => {
    for (const [route, rc] of routes) {
      const { hot } = hotOwners(rc.stacks, rc.requests, []);
      expect(hot.map((h) => h.name).filter((n) => /callSync|Sync \(/.test(n)), route).toEqual([]);
    }
  });
});
