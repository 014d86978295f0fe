import { describe, expect, it } from 'vitest';
import { ABORTED_ATTRIBUTE, spansFromJaeger, spansFromOtlp } from '../../profiles/contract/index.js';
import { buildRequests } from '../../scripts/analysis/requests.js';
import { templatePath } from '../../scripts/analysis/routes.js';
import { isReadStatement, normaliseSql } from '../../scripts/analysis/sql.js';
import { TraceBuilder, T0 } from './builder.js';

function sample(): TraceBuilder {
  const t = new TraceBuilder();
  t.request('GET', '/users/:id/timeline', 0, 40, (r) => {
    r.connect(0, 3);
    r.query('SELECT * FROM posts WHERE user_id = $1', 3, 5, { values: ['7'] });
    r.call('POST', 'http://127.0.0.1:4001/notify', 10, 20, 202);
  }, '/users/7/timeline?limit=20');
  t.request('POST', '/posts', 50, 30, (r) => {
    const pool = r.poolConnect(0, 4, 3);
    r.query('INSERT INTO posts (user_id, body) VALUES ($1, $2)', 4, 2, { parent: pool });
  });
  return t;
}

describe('span model', () => {
  it('reads OTLP JSON and Jaeger JSON into the same requests', () => {
    const t = sample();
    for (const spans of [spansFromOtlp(t.toOtlp()), spansFromJaeger(t.toJaeger())]) {
      expect(spans).toHaveLength(t.spans.length);
      const requests = buildRequests(spans);
      expect(requests.map((r) => r.route)).toEqual(['GET /users/:id/timeline', 'POST /posts']);
      const [timeline, post] = requests;
      expect(timeline!.target).toBe('/users/7/timeline?limit=20');
      expect(timeline!.startMs).toBeCloseTo(T0, 3);
      expect(timeline!.durationMs).toBeCloseTo(40, 3);
      expect(timeline!.connects).toHaveLength(1);
      expect(timeline!.queries[0]).toMatchObject({ system: 'postgresql', shape: 'select * from posts where user_id = ?', read: true, values: '["7"]' });
      expect(timeline!.calls[0]).toMatchObject({ method: 'POST', endpoint: '127.0.0.1/notify', status: 202 });
      expect(post!.connects).toHaveLength(0); // opened by the pool, not by the request
      expect(post!.poolWaits[0]).toMatchObject({ opened: true });
      expect(post!.poolWaits[0]!.waitMs).toBeCloseTo(1, 3);
      expect(post!.queries[0]!.read).toBe(false);
    }
  });

  it('keeps nanosecond timestamps exact to the microsecond', () => {
    const spans = spansFromOtlp({
      resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'ab', spanId: 'cd', name: 'x', kind: 2, startTimeUnixNano: '1760000000123456789', endTimeUnixNano: '1760000000125456789', attributes: [] }] }] }],
    });
    expect(spans[0]!.startMs).toBe(1760000000123.456);
    expect(spans[0]!.endMs - spans[0]!.startMs).toBeCloseTo(2, 6);
    expect(spans[0]!.kind).toBe('server');
  });

  it('does not count a server span under a client span (an in-process upstream) as a request', () => {
    const t = new TraceBuilder();
    const r = t.request('POST', '/posts', 0, 50, (r) => r.call('POST', 'http://127.0.0.1:4001/upload', 5, 30));
    const call = t.spans.find((s) => s.kind === 'client')!;
    t.spans.push({ ...call, spanId: 'ffff000000000001', parentId: call.spanId, kind: 'server', name: 'POST /upload', attributes: { 'http.request.method': 'POST', 'http.route': '/upload' } });
    t.spans.push({ ...call, spanId: 'ffff000000000002', parentId: 'ffff000000000001', kind: 'client', name: 'pg.query:SELECT', attributes: { 'db.system': 'postgresql', 'db.statement': 'SELECT 1' } });
    const requests = buildRequests(t.spans);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.traceId).toBe(r.traceId);
    expect(requests[0]!.calls).toHaveLength(1);
    expect(requests[0]!.queries).toHaveLength(0); // the upstream's query belongs to the upstream
  });

  it('leaves out a request whose response was abandoned (the probes mark it)', () => {
    const t = new TraceBuilder();
    t.request('POST', '/posts', 0, 50);
    const cut = t.request('POST', '/posts', 100, 20);
    cut.server.attributes[ABORTED_ATTRIBUTE] = true;
    expect(buildRequests(t.spans).map((r) => r.traceId)).not.toContain(cut.traceId);
    expect(buildRequests(spansFromOtlp(t.toOtlp()))).toHaveLength(1);
  });

  it('takes the route from a framework span when the server span has none', () => {
    const t = new TraceBuilder();
    const r = t.request('GET', '/x', 0, 10);
    delete r.server.attributes['http.route'];
    r.server.attributes['url.path'] = '/users/42/notifications';
    expect(buildRequests(t.spans)[0]!.route).toBe('GET /users/:id/notifications');
    r.internal('request', 1, 5, { 'http.route': '/users/:userId/notifications' });
    expect(buildRequests(t.spans)[0]!.route).toBe('GET /users/:userId/notifications');
  });

  it('leaves the port out of a loopback endpoint (picked at start), not out of a remote one', () => {
    const endpoints = (urls: string[]) => {
      const t = new TraceBuilder();
      t.request('POST', '/posts', 0, 100, (r) => urls.forEach((u, i) => r.call('POST', u, 5 + i * 20, 10)));
      return buildRequests(t.spans)[0]!.calls.map((c) => c.endpoint);
    };
    const a = endpoints(['http://127.0.0.1:43817/notify', 'http://localhost:43817/index/7', 'http://[::1]:43817/x', 'https://api.example.com:8443/v1/charge']);
    const b = endpoints(['http://127.0.0.1:40001/notify', 'http://localhost:40001/index/8', 'http://[::1]:40001/x', 'https://api.example.com:8443/v1/charge']);
    expect(a).toEqual(['127.0.0.1/notify', 'localhost/index/:id', '[::1]/x', 'api.example.com:8443/v1/charge']);
    expect(b).toEqual(a);
  });

  it('templates ids in paths', () => {
    expect(templatePath('/users/123/posts/9f8e7d6c5b4a39281706f5e4d3c2b1a0')).toBe('/users/:id/posts/:id');
    expect(templatePath('/v1/index')).toBe('/v1/index');
  });
});

describe('SQL shapes', () => {
  it('normalises literals, placeholders and lists', () => {
    expect(normaliseSql('SELECT name FROM users WHERE id = $1')).toBe(normaliseSql("select name  from users where id = 42"));
    expect(normaliseSql("SELECT * FROM t WHERE a IN (1, 2, 3) AND b = 'x'")).toBe('select * from t where a in (?) and b = ?');
    expect(normaliseSql('INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)')).toBe('insert into t (a, b) values (?)');
    expect(normaliseSql('SELECT c1 FROM t2 WHERE x::int = 1 -- c')).toBe('select c1 from t2 where x::int = ?');
    expect(normaliseSql('SELECT count(*) FROM likes WHERE post_id = $1')).not.toBe(normaliseSql('SELECT count(*) FROM posts WHERE id = $1'));
  });

  it('tells reads from writes', () => {
    expect(isReadStatement('SELECT 1')).toBe(true);
    expect(isReadStatement('  with x as (select 1) select * from x')).toBe(true);
    expect(isReadStatement('SELECT * FROM t FOR UPDATE')).toBe(false);
    expect(isReadStatement('WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x')).toBe(false);
    expect(isReadStatement("INSERT INTO t VALUES ('select')")).toBe(false);
    expect(isReadStatement("SELECT nextval('s')")).toBe(false);
  });
});
