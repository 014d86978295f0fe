import { describe, expect, it } from 'vitest';
import { cacheableReads, WINDOW_MS } from '../../../scripts/diagnose/rules/cacheable-reads.js';
import { TraceBuilder } from '../builder.js';

describe('rule: cacheable repeated reads', () => {
  it('finds identical reads repeated across requests and counts what a cache absorbs', () => {
    const t = new TraceBuilder();
    // 40 requests over 4 users: 4 misses, 36 absorbed.
    t.requests(40, 'GET', '/users/:id/timeline', 50, 20, (r, i) => {
      r.query('SELECT * FROM posts WHERE user_id = $1 ORDER BY id DESC LIMIT 20', 1, 6, { values: [String(i % 4)] });
      r.query('INSERT INTO visits (user_id) VALUES ($1)', 8, 1, { values: [String(i % 4)] });
    });
    const [f, ...rest] = cacheableReads.detect(t.input());
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ kind: 'cacheable-reads', route: 'GET /users/:id/timeline' });
    expect(f!.evidence).toMatchObject({ reads: 40, absorbed: 36, absorbedShare: 90, distinctKeys: 4, parameters: 'recorded' });
    expect(f!.savingMsPerRequest).toBeCloseTo((36 * 6) / 40, 5);
  });

  it('uses the request target when parameters were not recorded', () => {
    const t = new TraceBuilder();
    t.requests(20, 'GET', '/users/:id', 50, 5, (r) => r.query('SELECT * FROM users WHERE id = $1', 0, 2), (i) => `/users/${i % 2}`);
    const [f] = cacheableReads.detect(t.input());
    expect(f!.evidence).toMatchObject({ absorbed: 18, parameters: 'request target' });
  });

  it('stays quiet when every read is different, when reads are far apart, and when an app already caches', () => {
    const t = new TraceBuilder();
    t.requests(30, 'GET', '/unique', 50, 5, (r, i) => r.query('SELECT * FROM users WHERE id = $1', 0, 2, { values: [String(i)] }));
    t.requests(12, 'GET', '/slow', WINDOW_MS + 1000, 5, (r) => r.query('SELECT * FROM stats', 0, 2));
    // Cached app: only the first request per key reaches the database.
    t.requests(40, 'GET', '/cached', 50, 5, (r, i) => {
      r.query('GET timeline:' + (i % 4), 0, 0.2, { system: 'redis' });
      if (i < 4 || i % 13 === 0) r.query('SELECT * FROM posts WHERE user_id = $1', 0.3, 3, { values: [String(i % 4)] });
    });
    expect(cacheableReads.detect(t.input())).toEqual([]);
  });

  it('still flags a route whose Redis lookups never answer a request (e.g. a session read, then the query)', () => {
    const t = new TraceBuilder();
    t.requests(40, 'GET', '/feed', 50, 10, (r, i) => {
      r.query('GET session:' + (i % 4), 0, 0.2, { system: 'redis' });
      r.query('SELECT * FROM posts WHERE user_id = $1', 0.3, 3, { values: [String(i % 4)] });
    });
    expect(cacheableReads.detect(t.input())[0]!.evidence).toMatchObject({ absorbed: 36, reads: 40 });
  });

  it('flags from a quarter of the reads, not below', () => {
    const t = new TraceBuilder();
    // 40 requests: 10 repeats (25 %) on /some, 9 (22.5 %) on /few
    t.requests(40, 'GET', '/some', 50, 10, (r, i) => r.query('SELECT * FROM a WHERE id = $1', 0, 4, { values: [String(i <= 10 ? 0 : i)] }));
    t.requests(40, 'GET', '/few', 50, 10, (r, i) => r.query('SELECT * FROM b WHERE id = $1', 0, 4, { values: [String(i <= 9 ? 0 : i)] }));
    expect(cacheableReads.detect(t.input()).map((f) => [f.route, f.evidence.absorbedShare])).toEqual([['GET /some', 25]]);
  });

  it('counts a repeat inside one request once (that is N+1, not caching)', () => {
    const t = new TraceBuilder();
    t.requests(12, 'GET', '/n1', 50, 20, (r, i) => {
      for (let k = 0; k < 5; k++) r.query('SELECT * FROM users WHERE id = $1', k * 2, 2, { values: [String(i * 100 + k)] });
      r.query('SELECT * FROM users WHERE id = $1', 12, 2, { values: [String(i * 100)] });
    });
    expect(cacheableReads.detect(t.input())).toEqual([]);
  });
});
