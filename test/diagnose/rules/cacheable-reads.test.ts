import { describe, expect, it } from 'vitest';
import { CACHE_LOOKUP_MAX_MS, CACHE_LOOKUP_MS, cacheableReads, repeatShareAt, WINDOW_MS } from '../../../scripts/diagnose/rules/cacheable-reads.js';
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
    expect(f!.evidence).toMatchObject({ reads: 40, absorbed: 36, absorbedShare: 90, distinctKeys: 4, parameters: 'recorded', requestsRepeating: 36, referenceRequests: 40 });
    expect(f!.evidence.repeatShare).toBe(90);
    // the reads a cache absorbs, less the lookup every request pays: the quickest read of the run (6 ms), at most
    // a fifth of the reads it replaces (1.2 ms)
    expect(f!.evidence.lookupMsPerRequest).toBe(1.2);
    expect(f!.savingMsPerRequest).toBeCloseTo((36 * 6) / 40 - 1.2, 1);
  });

  it('prices the lookup at the run\'s quickest read: a round trip to a local server', () => {
    const t = new TraceBuilder();
    t.requests(40, 'GET', '/users/:id/timeline', 50, 30, (r, i) => {
      r.query('SELECT id, name FROM users WHERE id = $1', 0, 1.5, { values: [String(i % 4)] });
      r.query('SELECT * FROM posts WHERE user_id = $1 ORDER BY id DESC LIMIT 20', 2, 12, { values: [String(i % 4)] });
    });
    const [f] = cacheableReads.detect(t.input());
    expect(f!.evidence.lookupMsPerRequest).toBe(1.5);
    expect(f!.savingMsPerRequest).toBeCloseTo((36 * 13.5) / 40 - 1.5, 1);
    expect(CACHE_LOOKUP_MS).toBeLessThan(1.5);
  });

  it('caps the lookup at a slow cache round trip when every read is slow (fresh backends: a connection per request)', () => {
    const t = new TraceBuilder();
    // the async-db stage of the lab: both reads of a request ~35 ms on a new connection; 40 requests over 4 users
    t.requests(40, 'GET', '/users/:id/timeline', 200, 80, (r, i) => {
      r.query('SELECT id, name FROM users WHERE id = $1', 0, 34, { values: [String(i % 4)] });
      r.query('SELECT * FROM posts WHERE user_id = $1 ORDER BY id DESC LIMIT 20', 35, 36, { values: [String(i % 4)] });
    });
    const [f] = cacheableReads.detect(t.input());
    expect(f!.evidence.lookupMsPerRequest).toBe(CACHE_LOOKUP_MAX_MS);
    expect(f!.savingMsPerRequest).toBeCloseTo((36 * 70) / 40 - CACHE_LOOKUP_MAX_MS, 0);
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
    t.requests(20, 'GET', '/slow', WINDOW_MS + 1000, 5, (r) => r.query('SELECT * FROM stats', 0, 2));
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

  it('judges repetition within 50 requests: a hot set fires, a couple of chance repeats do not', () => {
    const t = new TraceBuilder();
    // /hot: 60 requests, every other one asks for user 0 (29 repeats), the others are distinct
    t.requests(60, 'GET', '/hot', 50, 20, (r, i) => r.query('SELECT * FROM a WHERE id = $1', 0, 12, { values: [String(i % 2 === 0 ? 0 : 1000 + i)] }));
    // /chance: 300 requests, two of them repeat an earlier id
    t.requests(300, 'GET', '/chance', 20, 20, (r, i) => r.query('SELECT * FROM b WHERE id = $1', 0, 12, { values: [String(i === 100 || i === 200 ? 5 : i)] }));
    // /once: one repeat only
    t.requests(40, 'GET', '/once', 50, 20, (r, i) => r.query('SELECT * FROM c WHERE id = $1', 0, 12, { values: [String(i === 30 ? 3 : i)] }));
    const found = cacheableReads.detect(t.input());
    expect(found.map((f) => f.route)).toEqual(['GET /hot']);
    expect(found[0]!.evidence.repeatShare).toBeCloseTo(pctOf(repeatShareAt([30, ...Array(30).fill(1)], 60, 50)), 5);
  });

  it('does not depend on throughput: the same key mix fires alike at 2 and at 200 requests per second', () => {
    // ids from a fixed skewed mix: a few hot users and a long tail of distinct ones
    const id = (i: number) => String(i % 3 !== 2 ? [1, 2, 1, 3, 1, 2, 4, 1][i % 8]! : 1000 + i);
    const slow = new TraceBuilder();
    slow.requests(40, 'GET', '/users/:id/timeline', 500, 20, (r, i) => r.query('SELECT * FROM posts WHERE user_id = $1', 1, 8, { values: [id(i)] }));
    const fast = new TraceBuilder();
    fast.requests(2000, 'GET', '/users/:id/timeline', 5, 8, (r, i) => r.query('SELECT * FROM posts WHERE user_id = $1', 1, 6, { values: [id(i)] }));
    const [a] = cacheableReads.detect(slow.input());
    const [b] = cacheableReads.detect(fast.input());
    expect(a && b).toBeTruthy();
    // the share judged within 50 requests is the same; the share of the whole run is not
    expect(Math.abs((a!.evidence.repeatShare as number) - (b!.evidence.repeatShare as number))).toBeLessThan(5);
    expect(b!.evidence.absorbedShare as number).toBeGreaterThan(a!.evidence.absorbedShare as number);
  });

  it('computes the expected repeats of a subsample exactly', () => {
    // 4 requests, one key read by 2 of them and two keys read once: in all 4, 1 repeat of 4 reads
    expect(repeatShareAt([2, 1, 1], 4, 4)).toBeCloseTo(0.25, 10);
    // in 2 of the 4: the pair is drawn together with probability 1/6 → 1/6 repeat per 2 reads
    expect(repeatShareAt([2, 1, 1], 4, 2)).toBeCloseTo(1 / 12, 10);
    expect(repeatShareAt([1, 1, 1], 3, 50)).toBe(0);
  });

  it('counts a repeat inside one request once (that is N+1, not caching)', () => {
    const t = new TraceBuilder();
    t.requests(20, 'GET', '/n1', 50, 20, (r, i) => {
      for (let k = 0; k < 5; k++) r.query('SELECT * FROM users WHERE id = $1', k * 2, 2, { values: [String(i * 100 + k)] });
      r.query('SELECT * FROM users WHERE id = $1', 12, 2, { values: [String(i * 100)] });
    });
    expect(cacheableReads.detect(t.input())).toEqual([]);
  });
});

const pctOf = (share: number) => Math.round(share * 1000) / 10;
