import { describe, expect, it } from 'vitest';
import { poolStarvation } from '../../../scripts/diagnose/rules/pool-starvation.js';
import { TraceBuilder } from '../builder.js';

describe('rule: pool starvation', () => {
  it('finds long waits for a pooled client relative to query time', () => {
    const t = new TraceBuilder();
    t.requests(20, 'GET', '/users/:id', 10, 30, (r) => {
      r.poolConnect(0, 20);
      r.query('SELECT * FROM users WHERE id = $1', 20, 5);
    });
    const [f, ...rest] = poolStarvation.detect(t.input());
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ kind: 'pool-starvation', route: 'GET /users/:id', savingMsPerRequest: 20 });
    expect(f!.evidence).toMatchObject({ waitMsPerRequest: 20, queryMsPerRequest: 5, waitToQuery: 4, poolMax: 10 });
  });

  it('does not count a pool opening connections (warming up) or quick checkouts', () => {
    const t = new TraceBuilder();
    t.requests(20, 'GET', '/warm', 10, 30, (r, i) => {
      r.poolConnect(0, i < 10 ? 8 : 0.05, i < 10 ? 7.95 : 0);
      r.query('SELECT * FROM users WHERE id = $1', 8, 5);
    });
    expect(poolStarvation.detect(t.input())).toEqual([]);
  });
});
