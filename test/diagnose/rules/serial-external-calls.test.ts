import { describe, expect, it } from 'vitest';
import { serialExternalCalls } from '../../../scripts/diagnose/rules/serial-external-calls.js';
import { TraceBuilder } from '../builder.js';

const up = 'http://127.0.0.1:4001';

describe('rule: serial external calls', () => {
  it('finds calls awaited one after another and estimates sum − max plus the gaps between them', () => {
    const t = new TraceBuilder();
    t.requests(10, 'POST', '/posts', 1000, 660, (r) => {
      r.query('INSERT INTO posts (body) VALUES ($1)', 0, 5);
      r.call('POST', `${up}/upload`, 6, 300);
      r.call('POST', `${up}/notify`, 307, 200, 202);
      r.call('POST', `${up}/index`, 508, 150, 202);
    });
    const [f, ...rest] = serialExternalCalls.detect(t.input());
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ kind: 'serial-external-calls', route: 'POST /posts', savingMsPerRequest: 352 });
    expect(f!.evidence).toMatchObject({ serialMs: 650, longestMs: 300, gapsMs: 2, requestsAffected: 10 });
    expect((f!.evidence.calls as { call: string }[]).map((c) => c.call)).toEqual([
      'POST 127.0.0.1/upload',
      'POST 127.0.0.1/notify',
      'POST 127.0.0.1/index',
    ]);
  });

  it('does not count a query between the calls as a gap (it stays on the path)', () => {
    const t = new TraceBuilder();
    t.requests(10, 'POST', '/posts', 1000, 400, (r) => {
      r.call('POST', `${up}/upload`, 0, 100);
      r.query('UPDATE posts SET image_url = $1 WHERE id = $2', 105, 20);
      r.call('POST', `${up}/notify`, 130, 60, 202);
    });
    const [f] = serialExternalCalls.detect(t.input());
    expect(f!.evidence).toMatchObject({ gapsMs: 10 });
    expect(f!.savingMsPerRequest).toBe(70);
  });

  it('treats overlapping calls as one wave', () => {
    const t = new TraceBuilder();
    t.requests(10, 'GET', '/home', 1000, 200, (r) => {
      r.call('GET', `${up}/a`, 0, 100);
      r.call('GET', `${up}/b`, 1, 80);
      r.call('GET', `${up}/c`, 102, 50);
    });
    const [f] = serialExternalCalls.detect(t.input());
    expect(f!.savingMsPerRequest).toBe(52); // waves of 100 and 50 ms, 2 ms apart
  });

  it('stays quiet for concurrent calls, a single call, and calls finished after the response', () => {
    const t = new TraceBuilder();
    t.requests(10, 'POST', '/parallel', 1000, 310, (r) => {
      r.call('POST', `${up}/upload`, 5, 300);
      r.call('POST', `${up}/notify`, 5, 200);
      r.call('POST', `${up}/index`, 6, 150);
    });
    t.requests(10, 'POST', '/deferred', 1000, 305, (r) => {
      r.call('POST', `${up}/upload`, 2, 300);
      r.call('POST', `${up}/notify`, 304, 200); // after the response was sent
      r.call('POST', `${up}/index`, 504, 150);
    });
    t.requests(10, 'GET', '/one', 1000, 50, (r) => r.call('GET', `${up}/a`, 2, 40));
    expect(serialExternalCalls.detect(t.input())).toEqual([]);
  });
});
