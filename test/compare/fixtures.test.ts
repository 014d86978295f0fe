/**
 * compare on real captured runs (fixtures/, from a two-stage lab: baseline with the synchronous PostgreSQL client,
 * async-db with the async pool; see fixtures/capture.ts). Pure and fast: no services.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSummary } from '../../profiles/contract/index.js';
import { compareRuns } from '../../scripts/compare/compare.js';
import { parseFolded } from '../../scripts/compare/folded.js';
import { evaluateGate, parseGateSpec } from '../../scripts/compare/gate.js';
import { renderMarkdown } from '../../scripts/compare/markdown.js';
import { runCompare } from '../../scripts/compare/run.js';

const FIX = new URL('./fixtures/', import.meta.url).pathname;
const BASELINE = join(FIX, 'baseline');
const ASYNC_DB = join(FIX, 'async-db');
const tmp = mkdtempSync(join(tmpdir(), 'looplens-compare-fx-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const forward = compareRuns(BASELINE, ASYNC_DB);
const backward = compareRuns(ASYNC_DB, BASELINE);

describe('captured stacks.folded', () => {
  it('parses with frames named relative to the project', () => {
    const p = parseFolded(readFileSync(join(BASELINE, 'stacks.folded'), 'utf8'));
    expect(p.total).toBeGreaterThan(1000);
    const frames = new Set([...p.stacks.keys()].flatMap((s) => s.split(';')));
    expect(frames).toContain('querySync (dist/target-app/db/sync-client.js)');
    expect(frames).toContain('callSync (dist/target-app/lib/blocking-bridge.js)');
    for (const f of frames) expect(f).not.toMatch(/:\d+\)$/); // no line numbers left
  });

  it('the blocking client\'s wait shrinks by self time, querySync by total time', () => {
    const f = forward.functions!;
    expect(f.shrank[0].function).toBe('callSync (dist/target-app/lib/blocking-bridge.js)');
    expect(f.shrank[0].baseSelf).toBeGreaterThan(0.5);
    expect(f.shrank[0].headSelf).toBe(0);
    const q = f.appTotal.find((c) => c.function === 'querySync (dist/target-app/db/sync-client.js)')!;
    expect(q.baseTotal).toBeGreaterThan(0.2);
    expect(q.headTotal).toBe(0);
    expect(f.grew.some((c) => /sync-client|blocking-bridge/.test(c.function))).toBe(false);
  });
});

describe('captured summary.json, blocking.json and findings.json', () => {
  it('async-db is better on throughput, timeline latency, loop delay and blocked time', () => {
    const s = forward.summary;
    expect(s.overall.metrics.rps).toMatchObject({ direction: 'up', verdict: 'better' });
    // (overall p95 is not: async-db also completes POST /posts, whose serial upstream calls baseline never reached)
    expect(s.routes.find((r) => r.route === 'GET /users/:id/timeline')!.metrics.p95).toMatchObject({ direction: 'down', verdict: 'better' });
    const run = Object.fromEntries(s.run.map((r) => [r.name, r.change]));
    expect(run.blocked).toMatchObject({ direction: 'down', verdict: 'better' });
    expect(run.delay).toMatchObject({ direction: 'down', verdict: 'better' });
    expect(run.queries).toMatchObject({ direction: 'down', verdict: 'better' });
  });

  it('the blocking hotspots on the synchronous client vanish, per route', () => {
    const gone = forward.hotspots!.filter((h) => h.status === 'gone');
    const routes = gone.filter((h) => h.topFrame === 'callSync (dist/target-app/lib/blocking-bridge.js)').map((h) => h.route);
    expect(routes).toEqual(expect.arrayContaining(['GET /users/:id/timeline', 'GET /users/:id/notifications']));
    expect(forward.hotspots!.find((h) => h.route === 'GET /users/:id/timeline')!.base.msPerRequest).toBeGreaterThan(20);
  });

  it('the diagnosis of the blocking call and the N+1 queries is resolved', () => {
    const resolved = forward.findings!.filter((d) => d.status === 'resolved').map((d) => d.kind);
    expect(resolved).toEqual(expect.arrayContaining(['blocking-call', 'n-plus-one']));
    expect(forward.findings!.some((d) => d.kind === 'blocking-call' && d.status !== 'resolved')).toBe(false);
  });

  it('swapping base and head flips every direction, verdict and list', () => {
    const flip = { up: 'down', down: 'up', flat: 'flat' } as const;
    const vflip = { better: 'worse', worse: 'better', same: 'same', noise: 'noise' } as const;
    for (const [name, c] of Object.entries(forward.summary.overall.metrics)) {
      expect(backward.summary.overall.metrics[name].direction, name).toBe(flip[c.direction]);
      expect(backward.summary.overall.metrics[name].verdict, name).toBe(vflip[c.verdict]);
    }
    for (const r of forward.summary.run) {
      const b = backward.summary.run.find((x) => x.name === r.name)!.change;
      expect(b.direction, r.name).toBe(flip[r.change.direction]);
      expect(b.verdict, r.name).toBe(vflip[r.change.verdict]);
    }
    const names = (l: { function: string }[]) => l.map((c) => c.function).sort();
    expect(names(backward.functions!.grew)).toEqual(names(forward.functions!.shrank));
    expect(names(backward.functions!.shrank)).toEqual(names(forward.functions!.grew));
    const status = { new: 'gone', gone: 'new', grew: 'shrank', shrank: 'grew', same: 'same' } as const;
    for (const h of forward.hotspots!) {
      expect(backward.hotspots!.find((x) => x.route === h.route && x.topFrame === h.topFrame)!.status).toBe(status[h.status]);
    }
    const fstatus = { new: 'resolved', resolved: 'new', still: 'still' } as const;
    for (const d of forward.findings!) expect(backward.findings!.find((x) => x.key === d.key)!.status).toBe(fstatus[d.status]);
  });

  it('the gate passes forward and fails backward, naming the rules', () => {
    const rules = parseGateSpec('rps:-10%,blocked:+20%,delay:+50%');
    expect(evaluateGate(rules, [{ scope: '', diff: forward.summary }]).failed).toBe(false);
    const back = evaluateGate(rules, [{ scope: '', diff: backward.summary }]);
    expect(back.failed).toBe(true);
    expect(back.checks.filter((c) => c.crossed).map((c) => c.rule.text)).toEqual(['rps:-10%', 'blocked:+20%', 'delay:+50%']);
    const md = renderMarkdown({ kind: 'runs', ...backward }, { gate: back });
    expect(md).toMatch(/Gate failed\*\* \(`rps:-10%`, `blocked:\+20%`, `delay:\+50%`\) — crossed:\n(> - ❌ .*\n){3}\n/);
  });
});

describe('runCompare on the fixtures', () => {
  it('writes compare.md, compare.json, diff.folded and the diff flamegraph', () => {
    const r = runCompare({ base: BASELINE, head: ASYNC_DB, outDir: join(tmp, 'out'), cwd: FIX });
    expect(r.markdown.length).toBeLessThan(60_000);
    expect(readFileSync(r.files.markdown, 'utf8')).toBe(r.markdown);
    expect(JSON.parse(readFileSync(r.files.json, 'utf8')).kind).toBe('runs');
    const folded = readFileSync(r.files.diffFolded[''], 'utf8').trim().split('\n');
    for (const line of folded) expect(line).toMatch(/^\S.* \d+ \d+$/);
    expect(folded.some((l) => /blocking-bridge\.js\) \d+ 0$/.test(l))).toBe(true); // the wait: only in base
    expect(readFileSync(r.files.diffFlamegraph[''], 'utf8')).toMatch(/^<!doctype html>/);
    // a path outside the working folder is shown whole rather than as ../../…
    expect(r.markdown).toContain(`diff flamegraph: <code>${join(tmp, 'out', 'diff-flamegraph.html')}</code>`);
    expect(readSummary(BASELINE).overall.requests).toBeGreaterThan(0);
  });
});
