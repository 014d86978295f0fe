import { describe, expect, it } from 'vitest';
import { nPlusOne } from '../../../scripts/diagnose/rules/n-plus-one.js';
import { TraceBuilder } from '../builder.js';

describe('rule: N+1 queries', () => {
  it('finds a loop of same-shape queries per request, with count, time and statement', () => {
    const t = new TraceBuilder();
    t.requests(20, 'GET', '/users/:id/timeline', 100, 60, (r) => {
      r.query('SELECT * FROM posts WHERE user_id = $1 LIMIT 20', 0, 4);
      for (let i = 0; i < 20; i++) r.query('SELECT name FROM users WHERE id = $1', 4 + i * 2, 2, { values: [String(i)] });
    });
    const [f, ...rest] = nPlusOne.detect(t.input());
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ kind: 'n-plus-one', route: 'GET /users/:id/timeline' });
    expect(f!.evidence).toMatchObject({ queriesPerRequest: 20, statement: 'SELECT name FROM users WHERE id = $1', medianQueryMs: 2, msPerRequest: 40, requestsAffected: 20 });
    expect(f!.savingMsPerRequest).toBeCloseTo(38, 5); // 40 ms of queries − one 2 ms query
    expect(f!.traceId).toBeTruthy();
  });

  it('counts concurrent (Promise.all) loops by wall-clock time, not the sum', () => {
    const t = new TraceBuilder();
    t.requests(10, 'GET', '/feed', 100, 30, (r) => {
      for (let i = 0; i < 10; i++) r.query('SELECT count(*) FROM likes WHERE post_id = $1', 1 + i * 0.5, 5);
    });
    const [f] = nPlusOne.detect(t.input());
    expect(f!.savingMsPerRequest).toBeCloseTo(9.5 - 5, 5);
  });

  it('stays quiet for a JOIN, a few repeats, repeats in a minority of requests, or cache lookups', () => {
    const t = new TraceBuilder();
    t.requests(10, 'GET', '/join', 100, 10, (r) => r.query('SELECT p.*, u.name FROM posts p JOIN users u ON u.id = p.user_id WHERE p.user_id = $1', 0, 5));
    t.requests(10, 'GET', '/few', 100, 10, (r) => {
      for (let i = 0; i < 4; i++) r.query('SELECT * FROM users WHERE id = $1', i * 2, 2);
    });
    t.requests(10, 'GET', '/rare', 100, 30, (r, i) => {
      for (let k = 0; k < (i < 4 ? 10 : 1); k++) r.query('SELECT * FROM users WHERE id = $1', k * 2, 2);
    });
    t.requests(10, 'GET', '/redis', 100, 30, (r) => {
      for (let k = 0; k < 10; k++) r.query('GET post:1', k, 1, { system: 'redis' });
    });
    expect(nPlusOne.detect(t.input())).toEqual([]);
  });
});
