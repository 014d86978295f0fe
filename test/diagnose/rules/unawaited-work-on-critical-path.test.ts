import { describe, expect, it } from 'vitest';
import { unawaitedWork } from '../../../scripts/diagnose/rules/unawaited-work-on-critical-path.js';
import { TraceBuilder } from '../builder.js';

const up = 'http://127.0.0.1:4001';

describe('rule: work the client need not wait for', () => {
  it('flags side-effect calls at the end of the request, with the time they add', () => {
    const t = new TraceBuilder();
    t.requests(10, 'POST', '/posts', 1000, 660, (r) => {
      r.query('INSERT INTO posts (body) VALUES ($1)', 0, 5);
      r.call('POST', `${up}/upload`, 6, 300, 201);
      r.call('POST', `${up}/notify`, 307, 200, 202);
      r.call('POST', `${up}/index`, 508, 150, 202);
    });
    const [f, ...rest] = unawaitedWork.detect(t.input());
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ kind: 'unawaited-work-on-critical-path', route: 'POST /posts', savingMsPerRequest: 351 }); // 200 + 150 ms and the 1 ms between
    expect((f!.evidence.calls as { call: string }[]).map((c) => c.call)).toEqual(['POST 127.0.0.1/index', 'POST 127.0.0.1/notify']);
  });

  it('recognises 202/204 answers without a telling name', () => {
    const t = new TraceBuilder();
    t.requests(10, 'PUT', '/items/:id', 1000, 60, (r) => {
      r.query('UPDATE items SET x = $1 WHERE id = $2', 0, 5);
      r.call('POST', `${up}/v2/things`, 6, 50, 204);
    });
    expect(unawaitedWork.detect(t.input())[0]!.savingMsPerRequest).toBe(50);
  });

  it('does not flag calls whose answer is used, reads, concurrent side effects, or calls after the response', () => {
    const t = new TraceBuilder();
    t.requests(10, 'POST', '/uses-answer', 1000, 100, (r) => {
      r.call('POST', `${up}/notify`, 0, 50, 202);
      r.query('UPDATE posts SET notified = true WHERE id = $1', 51, 5); // a query after it: its answer fed more work
    });
    t.requests(10, 'POST', '/reads', 1000, 100, (r) => r.call('GET', `${up}/index/search?q=x`, 0, 50));
    t.requests(10, 'POST', '/upload', 1000, 310, (r) => r.call('POST', `${up}/upload`, 0, 300, 201));
    t.requests(10, 'POST', '/gathered', 1000, 310, (r) => {
      r.call('POST', `${up}/upload`, 5, 300, 201);
      r.call('POST', `${up}/notify`, 5, 200, 202);
      r.call('POST', `${up}/index`, 6, 150, 202);
    });
    t.requests(10, 'POST', '/after-reply', 1000, 305, (r) => {
      r.call('POST', `${up}/upload`, 2, 300, 201);
      r.call('POST', `${up}/notify`, 303, 200, 202);
      r.call('POST', `${up}/index`, 303, 150, 202);
    });
    expect(unawaitedWork.detect(t.input())).toEqual([]);
  });
});
