/**
 * An app whose queries lose their request's async context (lost-context/app.cjs: pg behind bluebird promises) under
 * the real CLI at looplens' defaults (10 connections, closed loop). First that the fixture really loses it under the
 * probes — queries in other routes' traces, or in none — then the acceptance: looplens says so (summary.json,
 * summary.md) and draws no finding from those queries.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEvidence, type Evidence } from '../../scripts/analysis/evidence.js';
import { APPS, IDS, SCENARIOS, createBlogDb, dbUrl, describeFindings, describeRoutes, dropDb, ensureFixtures, profile, removeRoot, tempRoot, measureApp, type Profiled } from './harness.js';

const DB = 'looplens_test_apps_lost_context';
const APP = join(APPS, 'lost-context/app.cjs');
/** Each route's own statements (what its handler sends), by a piece of their text. */
const OWN: Record<string, RegExp> = {
  'GET /api/authors/:authorId/posts': /FROM authors WHERE id|FROM posts WHERE author_id/,
  'GET /api/posts/:postId/comments': /SELECT id, title FROM posts WHERE id|FROM comments WHERE post_id/,
  'GET /api/posts/:postId': /SELECT \* FROM posts WHERE id/,
};
const PATHS: Record<string, string> = {
  'GET /api/authors/:authorId/posts': '/api/authors/{id}/posts',
  'GET /api/posts/:postId/comments': '/api/posts/{id}/comments',
  'GET /api/posts/:postId': '/api/posts/{id}',
};

let root = '';
let run: Profiled;
let evidence: Evidence;
let truth: Record<string, number>;

beforeAll(async () => {
  ensureFixtures();
  root = tempRoot('lost-context');
  await createBlogDb(DB);
  const env = { DATABASE_URL: dbUrl(DB) };
  truth = Object.fromEntries(Object.entries(await measureApp(APP, env, Object.values(PATHS), { timed: 1 })).map(([p, t]) => [p, t.queries]));
  run = await profile(APP, ['--scenario', join(SCENARIOS, 'lost-context.json'), '--ids', String(IDS), '--duration', '6'], env, root, 'run');
  evidence = loadEvidence(run.dir);
}, 200_000);

afterAll(async () => {
  removeRoot(root);
  await dropDb(DB);
});

const context = () => `routes: ${describeRoutes(run.summary)}\n${describeFindings(run.findings)}`;

describe('the lost-context fixture', () => {
  it('runs 2, 3 and 1 statements on its routes (its own count)', () => {
    expect(Object.values(truth)).toEqual([2, 3, 1]);
    expect(run.code, run.output.slice(-1500)).toBe(0);
  });

  it('really loses the context under the probes: queries land in other routes\' traces, or in none', () => {
    let foreign = 0;
    let total = 0;
    for (const r of evidence.measured.requests) {
      const own = OWN[r.route];
      if (!own) continue;
      for (const q of r.queries) {
        total++;
        if (!own.test(q.statement)) foreign++;
      }
    }
    const orphan = evidence.measured.context.orphan;
    // share of the queries charged to a request of another route, or to none
    const share = (foreign + orphan) / (total + orphan);
    expect(share, `${foreign} foreign + ${orphan} orphan of ${total + orphan} queries`).toBeGreaterThan(0.05);
  });
});

describe('looplens on it, at default settings', () => {
  it('warns that the queries lost their request\'s context, in summary.json and summary.md, with the fix', () => {
    expect(run.summary?.lostContext, context()).toBeDefined();
    expect(run.summaryMd).toMatch(/lost (?:their |its )?(?:request'?s? )?(?:async )?context/i);
    expect(run.summaryMd).toMatch(/bluebird|LOOPLENS_OTEL_INSTRUMENTATIONS|native promises/);
  });

  it('draws no finding from the queries', () => {
    expect(run.findings, 'findings.json').not.toBeNull();
    expect(run.findings!.findings.map((f) => `${f.kind} ${f.route}: ${f.title}`), context()).toEqual([]);
  });
});
