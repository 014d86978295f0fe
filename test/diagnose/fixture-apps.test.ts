/**
 * End to end on an app that is not target-app: test/diagnose/fixtures/app.mjs (plain node:http, pg, fetch, zlib) runs
 * under the real probes, once with every mistake and once written well (VARIANT=clean). The bad run must show each
 * pattern on the right route with the right evidence; the clean run must show nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFindings, type Finding, type FindingsFile } from '../../profiles/contract/index.js';
import { writeFindings } from '../../scripts/diagnose/index.js';
import { FIXTURE_APP, UPSTREAM_DELAYS, profileApp, startUpstream, type Step } from './fixture-run.js';

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const DB = 'looplens_test_diagnose';
const DATABASE_URL = `postgres://postgres@127.0.0.1:5432/${DB}`;

const PLAN: Step[] = [
  { method: 'GET', path: (i) => `/authors/${1 + (i % 3)}/posts`, requests: 30, concurrency: 2 },
  { method: 'POST', path: () => '/publish', requests: 12, concurrency: 2 },
  { method: 'POST', path: () => '/signup', requests: 12, concurrency: 2 },
  { method: 'GET', path: () => '/report', requests: 8, concurrency: 2 },
  { method: 'GET', path: () => '/slow', requests: 24, concurrency: 4 },
];

async function admin(sql: string[], url = ADMIN_URL): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const s of sql) await client.query(s);
  } finally {
    await client.end();
  }
}

let root = '';
let upstream: Awaited<ReturnType<typeof startUpstream>> | null = null;
const runs: Record<string, FindingsFile> = {};

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'looplens-diagnose-'));
  await admin([`DROP DATABASE IF EXISTS ${DB}`, `CREATE DATABASE ${DB}`]);
  await admin(
    [
      'CREATE TABLE fx_users (id int PRIMARY KEY, name text NOT NULL)',
      'CREATE TABLE fx_posts (id serial PRIMARY KEY, user_id int NOT NULL REFERENCES fx_users(id), title text NOT NULL)',
      'CREATE INDEX ON fx_posts (user_id)',
      'CREATE TABLE fx_signups (id serial PRIMARY KEY, email text NOT NULL)',
      "INSERT INTO fx_users SELECT i, 'user ' || i FROM generate_series(1, 50) i",
      "INSERT INTO fx_posts (user_id, title) SELECT 1 + (i % 50), 'post ' || i FROM generate_series(1, 1000) i",
    ],
    DATABASE_URL,
  );
  upstream = await startUpstream();
  for (const variant of ['bad', 'clean']) {
    const out = join(root, variant);
    await profileApp({ app: FIXTURE_APP, out, env: { VARIANT: variant, UPSTREAM: upstream.url, DATABASE_URL }, plan: PLAN });
    runs[variant] = writeFindings(out);
  }
}, 180_000);

afterAll(async () => {
  await upstream?.close();
  if (root) rmSync(root, { recursive: true, force: true });
  await admin([`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`]);
});

const one = (findings: Finding[], kind: Finding['kind'], route: string): Finding => {
  const matches = findings.filter((f) => f.kind === kind && f.route === route);
  expect(matches, `${kind} on ${route}; got ${findings.map((f) => `${f.kind} ${f.route}`).join(', ')}`).toHaveLength(1);
  return matches[0]!;
};

describe('diagnose on a plain node:http app with every mistake', () => {
  it('finds each pattern on its route, and nothing else', () => {
    const { findings, notes } = runs.bad!;
    // a folder the probes wrote (no CLI): no measured window, all of it counts, and nothing else limits the diagnosis
    expect(notes!.filter((n) => !n.startsWith('run.json records no measured window'))).toEqual([]);
    expect(findings.map((f) => `${f.kind} ${f.route}`).sort()).toEqual(
      [
        'blocking-call GET /report',
        'cacheable-reads GET /authors/:id/posts',
        'connection-per-request GET /authors/:id/posts',
        'connection-per-request POST /signup',
        'n-plus-one GET /authors/:id/posts',
        'pool-starvation GET /slow',
        'serial-external-calls POST /publish',
        'unawaited-work-on-critical-path POST /signup',
      ].sort(),
    );
  });

  it('names the blocking function, its file:line and the kind of blocker', () => {
    const f = one(runs.bad!.findings, 'blocking-call', 'GET /report');
    expect(f.evidence).toMatchObject({ blocker: 'sync-zlib', file: expect.stringContaining('fixtures/app.mjs'), line: expect.any(Number) });
    expect(f.evidence.calls).toMatch(/node:zlib/);
    expect(f.evidence.events).toBeGreaterThanOrEqual(6);
    expect(f.savingMsPerRequest).toBeGreaterThan(10);
  });

  it('shows the N+1 statement and its count per request', () => {
    const f = one(runs.bad!.findings, 'n-plus-one', 'GET /authors/:id/posts');
    expect(f.evidence).toMatchObject({ statement: 'SELECT name FROM fx_users WHERE id = $1', queriesPerRequest: 10 });
    expect(f.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('estimates the serial calls\' saving as sum − max of the three calls', () => {
    const f = one(runs.bad!.findings, 'serial-external-calls', 'POST /publish');
    // the upstream listens on a random loopback port: left out, so the finding's key is the same in every run
    expect((f.evidence.calls as { call: string }[]).map((c) => c.call)).toEqual([
      'GET 127.0.0.1/profile',
      'GET 127.0.0.1/prices',
      'GET 127.0.0.1/stock',
    ]);
    const ideal = UPSTREAM_DELAYS['/prices']! + UPSTREAM_DELAYS['/stock']!; // sum − max of the upstream delays
    expect(f.savingMsPerRequest).toBeGreaterThanOrEqual(ideal * 0.9);
  });

  it('flags the awaited notification, not the reads', () => {
    const f = one(runs.bad!.findings, 'unawaited-work-on-critical-path', 'POST /signup');
    expect(f.evidence.calls).toEqual([expect.objectContaining({ call: expect.stringMatching(/^POST 127\.0\.0\.1\/notify$/), status: 202 })]);
    expect(f.savingMsPerRequest).toBeGreaterThanOrEqual(UPSTREAM_DELAYS['/notify']! * 0.9);
  });

  it('measures connects, repeated reads and pool waits', () => {
    const conn = one(runs.bad!.findings, 'connection-per-request', 'GET /authors/:id/posts');
    expect(conn.evidence).toMatchObject({ shareOfRequests: 100, connectSpan: 'pg.connect' });
    const cache = one(runs.bad!.findings, 'cacheable-reads', 'GET /authors/:id/posts');
    expect(cache.evidence.absorbedShare as number).toBeGreaterThan(80); // 3 authors, 30 requests
    const pool = one(runs.bad!.findings, 'pool-starvation', 'GET /slow');
    expect(pool.evidence.waitToQuery as number).toBeGreaterThan(0.5);
  });

  it('wrote findings.json into the run folder', () => {
    expect(readFindings(join(root, 'bad')).findings).toHaveLength(runs.bad!.findings.length);
  });
});

describe('diagnose on the same app written well', () => {
  it('finds nothing', () => {
    expect(runs.clean!.notes!.filter((n) => !n.startsWith('run.json records no measured window'))).toEqual([]);
    expect(runs.clean!.requests).toBe(PLAN.reduce((n, s) => n + s.requests, 0));
    expect(runs.clean!.findings.map((f) => `${f.kind} ${f.route}: ${f.title}`)).toEqual([]);
  });
});
