/**
 * lab.md as a reader meets it (renderLabMd, renderLabNPlusOne): an unfinished or interrupted lab says so first; the
 * headline table stays the first section (the CLI prints it); each stage has one line on what it changes, linking
 * target-app/README.md; POST /posts' designed wait for its image upload is stated; routes with too few requests
 * for their percentiles are marked; and the N+1 rows name the query they repeat.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Finding, RequestStats, Summary } from '../../profiles/contract/types.js';
import { renderLabMd, renderLabNPlusOne, smallSample } from '../../scripts/analysis/markdown.js';

const base = JSON.parse(readFileSync(new URL('./fixtures/run-none/summary.json', import.meta.url), 'utf8')) as Summary;

const stats = (requests: number, p50: number, p95: number, p99: number, max: number): RequestStats => ({
  ...base.overall,
  requests,
  latencyMs: { ...base.overall.latencyMs, p50, p95, p99, max },
});

const summary = (routes: Record<string, RequestStats>): Summary => ({ ...base, routes });

const stages = [
  { stage: 'baseline', run: '01-baseline', summary: summary({ 'GET /users/:id/timeline': stats(400, 500, 900, 1000, 1200), 'POST /posts': stats(14, 4800, 5100, 5100, 5100) }) },
  { stage: 'pooled', run: '04-pooled', summary: summary({ 'GET /users/:id/timeline': stats(3000, 10, 20, 30, 60), 'POST /posts': stats(400, 316, 330, 340, 400) }) },
];
const summaries = {
  baseline: 'synchronous DB driver, N+1 queries, notifications cut in JS, serial external calls, a connection per request',
  pooled: 'a pg.Pool sized for the machine and keep-alive connections to the external services',
};

describe('lab.md', () => {
  it('says what each stage changes, linking target-app/README.md, after the headline table (which stays first)', () => {
    const md = renderLabMd({ id: 'lab', settingsLine: 'x', stages, stageChanges: { summaries, href: '../../target-app/README.md' } });
    expect(md).toContain('## What each stage changes ([target-app/README.md](../../target-app/README.md))');
    expect(md).toContain(`- **baseline**: ${summaries.baseline}`);
    expect(md).toContain(`- **pooled**: ${summaries.pooled}`);
    // the first "## " section is the headline table (looplens lab prints it)
    expect(md.split('\n## ')[1]).toMatch(/^baseline → pooled\n/);
    expect(md.indexOf('## baseline → pooled')).toBeLessThan(md.indexOf('## What each stage changes'));
  });

  it('states that POST /posts waits for its image upload by design', () => {
    const md = renderLabMd({ id: 'lab', settingsLine: 'x', stages, imageUploadMs: 300 });
    expect(md).toContain('POST /posts waits ~300 ms for its image upload in every stage, by design');
    const noPosts = stages.map((s) => ({ ...s, summary: summary({ 'GET /users/:id/timeline': s.summary.routes['GET /users/:id/timeline']! }) }));
    expect(renderLabMd({ id: 'lab', settingsLine: 'x', stages: noPosts, imageUploadMs: 300 })).not.toContain('image upload');
  });

  it('marks routes with too few requests for their percentiles (14 requests, p95 = p99 = max), and only those', () => {
    expect(smallSample(stats(14, 1, 2, 3, 4))).toBe(true);
    expect(smallSample(stats(400, 1, 5, 5, 5))).toBe(true);
    expect(smallSample(stats(400, 1, 2, 3, 4))).toBe(false);
    const md = renderLabMd({ id: 'lab', settingsLine: 'x', stages });
    expect(md).toContain('| POST /posts p50 ms | 4,800* | 316 |');
    expect(md).toContain('| GET /users/:id/timeline p50 ms | 500 | 10 |');
    expect(md).toContain('* few requests (fewer than 50, or p95 = p99 = max)');
    expect(md).toContain('| [baseline](01-baseline/summary.md)* |');
  });

  it('an interrupted lab says so at the top, with the reason; an unfinished one says how far it got', () => {
    const interrupted = renderLabMd({
      id: 'lab',
      settingsLine: 'x',
      stages: stages.slice(0, 1),
      status: { complete: false, reason: 'interrupted by Ctrl-C during stage 2/5 async-db load', endedAt: '2026-12-04T00:00:00Z', stagesPlanned: 5 },
    });
    expect(interrupted.split('\n')[2]).toBe(
      '> **Interrupted or incomplete:** interrupted by Ctrl-C during stage 2/5 async-db load. 1 of 5 stages finished; the tables below hold only those, and a stage marked incomplete in its run.json is not a measurement to compare.',
    );
    const running = renderLabMd({ id: 'lab', settingsLine: 'x', stages: [], status: { complete: false, stagesPlanned: 5 } });
    expect(running).toMatch(/^# Lab lab\n\n> \*\*Not finished:\*\* 0 of 5 stages done so far/);
    expect(renderLabMd({ id: 'lab', settingsLine: 'x', stages, status: { complete: true } })).not.toMatch(/Interrupted|Not finished/);
  });

  it('names the query each N+1 row repeats', () => {
    const f = (stage: string, route: string, statement: string, n: number): { stage: string; findings: Finding[] } => ({
      stage,
      findings: [
        {
          kind: 'n-plus-one',
          key: `n-plus-one ${route} x`,
          route,
          title: 't',
          evidence: { statement, queriesPerRequest: n },
          savingMsPerRequest: 10,
          fix: 'f',
        },
        { kind: 'blocking-call', key: 'b', route, title: 't', evidence: {}, savingMsPerRequest: 1, fix: 'f' },
      ],
    });
    const md = renderLabNPlusOne([f('baseline', 'GET /users/:id/timeline', 'SELECT id, name FROM users WHERE id = $1', 20), { stage: 'pooled', findings: [] }]);
    expect(md).toContain('## The N+1 queries');
    expect(md).toContain('| baseline | GET /users/:id/timeline | 20 × | <code>SELECT id, name FROM users WHERE id = $1</code> |');
    expect(md.match(/^\| baseline/gm)).toHaveLength(1);
    expect(renderLabNPlusOne([{ stage: 'pooled', findings: [] }])).toBe('');
    // statements are text, never markup
    expect(renderLabNPlusOne([f('b', 'GET /x', 'SELECT `a` FROM t WHERE x = \'<script>\' | 1', 5)])).not.toMatch(/<script>|`a`/);
  });
});
