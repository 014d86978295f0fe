/**
 * The report's Findings section: every finding of findings.json with links to its evidence — the example trace
 * (an in-page link when that trace is drawn as a route's slowest, else its id to search in Jaeger), the run's
 * traces.jaeger.json, the flamegraph with what to search in it, and the evidence numbers.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_FILES, type Finding, type FindingsFile, type JaegerFile } from '../../profiles/contract/index.js';
import { loadRun } from '../../dashboards/report/model.js';
import { flamegraphSearch, renderRunPage } from '../../dashboards/report/render.js';
import { HOSTILE, buildRun } from './fixtures.js';

let root = '';
let runDir = '';
let drawnTrace = '';
const UNDRAWN = 'abcdef0123456789abcdef0123456789';

function finding(over: Partial<Finding>): Finding {
  return {
    kind: 'n-plus-one',
    key: 'n-plus-one GET /users/:id/timeline select',
    route: 'GET /users/:id/timeline',
    title: 'GET /users/:id/timeline runs SELECT … 20 times per request',
    evidence: { statement: 'SELECT id, name FROM users WHERE id = $1', queriesPerRequest: 20, estimate: 'wall-clock time of the repeats' },
    savingMsPerRequest: 12.5,
    fix: 'Fetch them in one query.',
    ...over,
  };
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'looplens-report-findings-'));
  runDir = join(root, 'run');
  buildRun(runDir, { id: 'run', stage: 'baseline', speed: 1, routes: ['GET /users/:id/timeline', 'POST /posts'], blocking: true, hostile: false, seed: 3, startMs: Date.UTC(2025, 0, 1), flamegraph: true });
  const jaeger = JSON.parse(readFileSync(join(runDir, RUN_FILES.tracesJaeger), 'utf8')) as JaegerFile;
  // the slowest request of the timeline route is the one the page draws
  const durations = jaeger.data
    .map((t) => t.spans.find((s) => s.references.length === 0)!)
    .filter((s) => s.operationName === 'GET /users/:id/timeline')
    .sort((a, b) => b.duration - a.duration);
  drawnTrace = durations[0]!.traceID;
  const file: FindingsFile = {
    generatedAt: '2025-01-01T00:00:00.000Z',
    findings: [
      finding({ traceId: drawnTrace }),
      finding({
        kind: 'blocking-call',
        key: 'blocking-call GET /users/:id/timeline querySync',
        title: 'querySync (db/sync-client.js) blocks the event loop 80 ms per GET /users/:id/timeline',
        evidence: { function: 'querySync', syncCalls: ['querySync', 'connectSync'], file: 'db/sync-client.js', line: 12, blocker: 'sync-db-driver' },
        traceId: UNDRAWN,
      }),
      finding({ kind: 'serial-external-calls', key: 'serial POST /posts', route: 'POST /posts', title: HOSTILE.fn, evidence: { calls: [{ call: 'POST 127.0.0.1/images' }, { call: HOSTILE.statement }] }, traceId: UNDRAWN }),
    ],
  };
  writeFileSync(join(runDir, RUN_FILES.findings), JSON.stringify(file));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

function findingRows(page: string): string[] {
  const section = /<section id="findings">([^]*?)<\/section>/.exec(page)?.[1] ?? '';
  return [...section.matchAll(/<tr class="finding"[^]*?<\/tr>/g)].map((m) => m[0]);
}

describe('report: findings with links to their evidence', () => {
  it('links each finding to its trace, the trace file and the flamegraph', () => {
    const page = renderRunPage(loadRun(runDir), { hrefTo: (p) => relative(root, p), generatedAt: '2025-01-02T00:00:00.000Z' });
    const rows = findingRows(page);
    expect(rows).toHaveLength(3);
    // a drawn trace: an in-page link to its waterfall, which exists on the page
    const anchor = new RegExp(`<a href="#(s0-wf-\\d+)" class="mono" title="drawn on this page">${drawnTrace}</a>`).exec(rows[0]!);
    expect(anchor, rows[0]).not.toBeNull();
    expect(page).toContain(`id="${anchor![1]}"`);
    // not drawn: the id to search in Jaeger
    expect(rows[1]).toContain(`<span class="mono" title="an example request: search this trace id in Jaeger">${UNDRAWN}</span>`);
    for (const row of rows) {
      expect(row).toContain('<a href="run/traces.jaeger.json" download');
      expect(row).toContain('<a href="run/flamegraph.html" target="_blank"');
      expect(row).toContain('<summary>evidence</summary>');
    }
    // what to search in the flamegraph: the blocking call's function; the statement shown for the N+1
    expect(rows[1]).toContain('<span class="empty">search</span> <code>querySync</code>');
    expect(rows[0]).not.toContain('<span class="empty">search</span>');
    expect(rows[0]).toContain('SELECT id, name FROM users WHERE id = $1');
    expect(rows[0]).toContain('estimate: wall-clock time of the repeats');
  });

  it('puts run data in as text', () => {
    const page = renderRunPage(loadRun(runDir), { hrefTo: (p) => relative(root, p) });
    const row = findingRows(page)[2]!;
    expect(row).not.toContain('<script>');
    expect(row).toContain('&lt;script&gt;window.__xss=2&lt;/script&gt;handler');
    expect(row).toContain('POST 127.0.0.1/images → &lt;/script&gt;');
  });

  it('says when the run has no trace file', () => {
    const run = loadRun(runDir);
    const page = renderRunPage({ ...run, evidence: { ...run.evidence, traces: { spans: [], source: null, droppedSpans: null } } }, { hrefTo: (p) => relative(root, p) });
    for (const row of findingRows(page)) expect(row).toContain('no traces.jaeger.json');
  });

  it('names the function to search for a blocking call only', () => {
    expect(flamegraphSearch(finding({ kind: 'blocking-call', evidence: { function: 'gzipSync (app.mjs:9)' } }))).toBe('gzipSync');
    expect(flamegraphSearch(finding({}))).toBeNull();
  });
});
