import { describe, expect, it } from 'vitest';
import type { Finding } from '../../profiles/contract/index.js';
import type { Comparison, RunComparison } from '../../scripts/compare/compare.js';
import { diffFindings } from '../../scripts/compare/findings-diff.js';
import { diffBlocking } from '../../scripts/compare/blocking-diff.js';
import { diffFunctions, diffStacks, parseFolded } from '../../scripts/compare/folded.js';
import { evaluateGate, parseGateSpec } from '../../scripts/compare/gate.js';
import { comparisonToJson } from '../../scripts/compare/json.js';
import { code, renderMarkdown } from '../../scripts/compare/markdown.js';
import { diffSummaries } from '../../scripts/compare/summary-diff.js';
import { evidenceOf, stats, summary } from './helpers.js';

function runComparison(baseFolded: string, headFolded: string, over: { routes?: number; evil?: string; swap?: boolean } = {}): RunComparison {
  let base = summary();
  let head = summary({ overall: stats(40, 400), blocking: { count: 1, totalMs: 30, msPerRequest: 0.03 } });
  if (over.swap) [base, head] = [head, base];
  for (let i = 0; i < (over.routes ?? 0); i++) {
    base.routes[`GET /r${i}`] = stats(10 + i, 5);
    head.routes[`GET /r${i}`] = stats(12 + i, 5);
  }
  if (over.evil) head.routes[over.evil] = stats(1, 1);
  const b = parseFolded(baseFolded);
  const h = parseFolded(headFolded);
  const ev = (route: string, topFrame: string, durationMs: number) => ({ startMs: 0, durationMs, route, traceId: null, spanId: null, topFrame, frames: [] });
  return {
    base: { dir: '/p/base', id: 'base-run', stage: 'baseline' },
    head: { dir: '/p/head', id: 'head-run', stage: 'async-db', flamegraph: '/p/head/flamegraph.html' },
    summary: diffSummaries(base, head),
    functions: diffFunctions(b, h),
    stacks: diffStacks(b, h),
    hotspots: diffBlocking(
      evidenceOf({ thresholdMs: 20, events: [ev('GET /a', 'querySync (dist/db/sync.js:3)', 400)] }, base),
      evidenceOf({ thresholdMs: 20, events: [ev('GET /a', 'render (dist/view.js:3)', 30)] }, head),
    ),
    findings: diffFindings(
      { findings: [finding('blocking-call GET /a querySync', 'Synchronous query `querySync` blocks GET /a', 12), finding('n-plus-one GET /a posts', 'N+1 on GET /a', 3)] },
      { findings: [finding('n-plus-one GET /a posts', 'N+1 on GET /a', 2.5), finding('serial-external-calls GET /a', 'Serial calls on GET /a', 4)] },
    ),
    notes: [],
    warnings: [],
    unmeasured: [],
  };
}

function finding(key: string, title: string, saving: number): Finding {
  const kind = key.split(' ')[0] as Finding['kind'];
  return { key, kind, route: 'GET /a', title, evidence: {}, savingMsPerRequest: saving, fix: 'fix it' };
}

const BASE = 'main;handler;querySync (/app/dist/db/sync.js:1:1) 7000\nmain;handler;render 3000\n';
const HEAD = 'main;handler;render 3000\nmain;handler;queryAsync (/app/dist/db/async.js:1:1) 500\n(idle) 6500\n';

describe('renderMarkdown', () => {
  it('says what got better and worse, with arrows for the value and marks for the verdict', () => {
    const c: Comparison = { kind: 'runs', ...runComparison(BASE, HEAD) };
    const md = renderMarkdown(c, { outputs: { diffFlamegraph: { '': '/p/out/diff-flamegraph.html' }, diffFolded: { '': '/p/out/diff.folded' } }, cwd: '/p' });
    expect(md).toContain('## looplens compare');
    expect(md).toMatch(/\| \*\*overall\*\* \| 50\.0 → 20\.0 ▼ −60% 🟢 \| 100 → 40\.0 ▼ −60% 🟢 \|/);
    expect(md).toMatch(/\| blocked ms per request \| 5\.00 ms \| 0\.03 ms \| ▼ −99% 🟢 \|/);
    expect(md).toMatch(/\*\*Shrank\*\*[\s\S]*querySync[\s\S]*70\.0% \| 0\.0% \| −70\.0 pp 🟢/);
    expect(md).toMatch(/\*\*Grew\*\*[\s\S]*queryAsync/);
    expect(md).toMatch(/querySync.*vanished 🟢/);
    expect(md).toMatch(/render.*appeared 🔴/);
    expect(md).toContain('<code>out/diff-flamegraph.html</code>');
    expect(md).toContain('<code>head/flamegraph.html</code>');
    expect(md).toMatch(/#### Highlights\n\n- /);
    expect(md).toMatch(/Diagnosis no longer finds: Synchronous query &#96;querySync&#96; blocks GET \/a 🟢/);
    const diagnosis = md.slice(md.indexOf('#### Diagnosis'));
    expect(diagnosis).toMatch(/\| new 🔴 \| Serial calls on GET \/a \| <code>GET \/a<\/code> \| — \| 4\.00 \|/);
    expect(diagnosis).toMatch(/\| resolved 🟢 \| Synchronous query .* \| 12\.0 \| — \|/);
    expect(diagnosis).toMatch(/\| still there \| N\+1 on GET \/a .* \| 3\.00 \| 2\.50 \|/);
  });

  it('shows a crossed gate first, and which rule', () => {
    const rc = runComparison(HEAD, BASE, { swap: true });
    const gate = evaluateGate(parseGateSpec('p95:+10%,blocked:+20%'), [{ scope: '', diff: rc.summary }]);
    const md = renderMarkdown({ kind: 'runs', ...rc }, { gate });
    expect(gate.failed).toBe(true);
    expect(md.indexOf('Gate failed')).toBeLessThan(md.indexOf('#### Requests'));
    expect(md).toMatch(/❌ p95 latency grew by more than 10%: 40\.0 → 100 ▲ \+150% 🔴/);
    expect(md).toMatch(/❌ blocked ms per request grew by more than 20%/);
  });

  it('keeps untrusted names as inert text', () => {
    const evil = 'GET /x|<img src=x onerror=alert(1)>`@octocat` **bold** [l](javascript:x)';
    const c: Comparison = { kind: 'runs', ...runComparison(BASE, HEAD + `main;${evil} 3\n`, { evil }) };
    const md = renderMarkdown(c);
    expect(md).not.toContain('<img');
    expect(md).not.toContain('@octocat');
    expect(md).not.toContain('**bold**');
    expect(md).not.toMatch(/\|<img|x\|</);
    expect(code('a|b')).toBe('<code>a&#124;b</code>');
    const noted = renderMarkdown({ kind: 'runs', ...runComparison(BASE, HEAD), notes: [`The base run ${evil} is incomplete`] });
    expect(noted).toMatch(/> The base run GET \/x&#124;&#60;img/);
    expect(noted).not.toContain('<img');
    expect(noted).not.toContain('@octocat');
  });

  it('fits a PR comment however large the input, and says what was cut', () => {
    const many = Array.from({ length: 3000 }, (_, i) => `main;fn${i} (/app/dist/m${i}.js:1:1) ${i + 1}`).join('\n');
    const many2 = Array.from({ length: 3000 }, (_, i) => `main;fn${i} (/app/dist/m${i}.js:1:1) ${3000 - i}`).join('\n');
    const rc = runComparison(many, many2, { routes: 2000 });
    const labs: Comparison = {
      kind: 'labs',
      base: { dir: '/b', id: 'lab-b', complete: true },
      head: { dir: '/h', id: 'lab-h', complete: true },
      stages: Array.from({ length: 8 }, (_, i) => ({ stage: `s${i}`, comparison: rc })),
      onlyBase: [],
      onlyHead: [],
      notes: [],
      warnings: [],
    };
    const md = renderMarkdown(labs);
    expect(md.length).toBeLessThan(60_000);
    expect(md).toMatch(/more routes not shown/);
    expect(md).toMatch(/#### Stages/);
    const small = renderMarkdown({ kind: 'runs', ...rc }, { limit: 5000 });
    expect(small.length).toBeLessThanOrEqual(5000);
  });

  it('writes JSON without the per-stack counts and with null for changes from zero', () => {
    const rc = runComparison(BASE, HEAD);
    const json = JSON.parse(comparisonToJson({ kind: 'runs', ...rc }));
    expect(json.version).toBe(1);
    expect(json.stacks).toBeUndefined();
    expect(json.stackCount).toBe(4);
    const hot = json.hotspots.find((h: { status: string }) => h.status === 'new');
    expect(hot.relative).toBeNull();
  });
});
