import { describe, expect, it } from 'vitest';
import { connectionPerRequest } from '../../../scripts/diagnose/rules/connection-per-request.js';
import { TraceBuilder } from '../builder.js';

describe('rule: connection per request', () => {
  it('finds a connect span in most requests, with its median, the teardown after the last query and the share of latency', () => {
    const t = new TraceBuilder();
    // connect 4 ms, query 1 ms, then 3 ms until the response: the connection is closed there
    t.requests(10, 'GET', '/users/:id', 100, 8, (r, i) => {
      r.connect(0, i === 0 ? 20 : 4);
      r.query('SELECT * FROM users WHERE id = $1', 4, 1);
    });
    const [f, ...rest] = connectionPerRequest.detect(t.input());
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ kind: 'connection-per-request', route: 'GET /users/:id', savingMsPerRequest: 7 });
    expect(f!.evidence).toMatchObject({ connectMedianMs: 4, teardownMedianMs: 3, shareOfRequests: 100, medianLatencyMs: 8, shareOfLatency: 87.5 });
  });

  it('stays quiet for a pool (connects inside pool checkouts) and for occasional connects', () => {
    const t = new TraceBuilder();
    t.requests(10, 'GET', '/pooled', 100, 10, (r, i) => {
      r.poolConnect(0, i < 3 ? 4.2 : 0.1, i < 3 ? 4 : 0);
      r.query('SELECT 1', 5, 1);
    });
    t.requests(10, 'GET', '/rare', 100, 10, (r, i) => {
      if (i < 3) r.connect(0, 4);
      r.query('SELECT 1', 5, 1);
    });
    expect(connectionPerRequest.detect(t.input())).toEqual([]);
  });
});
