/**
 * The five stages against real PostgreSQL and Redis: the same JSON for the same requests, queries per request
 * (baseline grows with N, the others stay constant), bad input never a 500, every acknowledged write stored,
 * external-service failures absorbed, and the cached stage answering from PostgreSQL when Redis is down.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED_ANCHOR, reset } from '../../target-app/db/seed.js';
import { STAGE_NAMES } from '../../target-app/stages/index.js';
import { ensureRedis } from '../../scripts/services.js';
import { freePort } from '../../scripts/profile/process.js';
import { REDIS_URL, dropTestDatabase, expectWritesStored, query, seededDatabase, startStage, startUpstream, type StageApp } from './helpers.js';

const SUFFIX = 'stages';
let db: string;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
/** viewer V, author A (someone V follows, whose post P is V's newest timeline entry) */
let V: number;
let A: number;
let P: number;
let vNotifications: number;
let vTimelineCandidates: number;

async function flushRedis(): Promise<void> {
  const r = new Redis(REDIS_URL);
  await r.flushdb();
  r.disconnect();
}

interface Req {
  method: 'GET' | 'POST';
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
  payload?: string;
}

async function send(app: StageApp, r: Req) {
  const res = await app.app.inject({
    method: r.method,
    url: r.url,
    ...(r.payload !== undefined ? { payload: r.payload, headers: r.headers } : r.body !== undefined ? { payload: r.body as object } : { headers: r.headers }),
  });
  let json: unknown = null;
  try {
    json = res.json();
  } catch {
    json = res.body;
  }
  return { status: res.statusCode, json };
}

/** Timestamps the app wrote at run time differ between runs; everything else must not. */
function normalise(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value), (key, v) => (key === 'createdAt' && typeof v === 'string' && v > SEED_ANCHOR ? '<written now>' : v));
}

function sequence(): Req[] {
  return [
    { method: 'GET', url: `/users/${V}/timeline?limit=5` },
    { method: 'GET', url: `/users/${V}/timeline` },
    { method: 'GET', url: `/users/${V}/timeline?limit=100` },
    { method: 'GET', url: `/users/${V}/notifications?limit=10` },
    { method: 'GET', url: `/users/${A}/notifications` },
    { method: 'POST', url: '/posts', body: { userId: A, content: 'first light at the harbour', imageUrl: 'https://images.example/harbour.jpg' } },
    { method: 'POST', url: '/posts', body: { userId: A, content: "'; DROP TABLE posts; -- \" OR 1=1 😀" } },
    { method: 'GET', url: `/users/${V}/timeline?limit=5` },
    { method: 'GET', url: `/users/${A}/timeline?limit=5` },
    { method: 'POST', url: `/posts/${P}/likes`, body: { userId: V } },
    { method: 'POST', url: `/posts/${P}/likes`, body: { userId: V } },
    { method: 'POST', url: `/posts/${P}/likes`, body: { userId: A } },
    { method: 'GET', url: `/users/${V}/timeline?limit=5` },
    { method: 'GET', url: `/users/${A}/notifications?limit=5` },
    { method: 'GET', url: `/users/${V}/notifications?limit=200` },
    { method: 'GET', url: '/users/1999999/timeline' },
    { method: 'POST', url: '/posts/1999999/likes', body: { userId: V } },
  ];
}

async function runSequence(stage: string, redisUrl?: string) {
  await reset(db);
  await flushRedis();
  const app = await startStage(stage, { databaseUrl: db, upstreamUrl: upstream.url, redisUrl });
  try {
    const out = [];
    for (const r of sequence()) out.push({ request: `${r.method} ${r.url}`, ...(await send(app, r)) });
    return { out: normalise(out), stats: app.stage.stats() };
  } finally {
    await app.close();
  }
}

beforeAll(async () => {
  db = await seededDatabase(SUFFIX);
  upstream = await startUpstream();
  // a viewer with a full timeline and plenty of notifications; their newest timeline post and its author
  const [v] = await query<{ id: number; n: number; c: number }>(
    db,
    `SELECT u.id, (SELECT count(*)::int FROM notifications WHERE user_id = u.id) AS n,
            (SELECT count(*)::int FROM posts WHERE user_id IN (SELECT followee_id FROM follows WHERE follower_id = u.id)) AS c
     FROM users u WHERE u.id BETWEEN 100 AND 400 ORDER BY n DESC LIMIT 1`,
  );
  V = v.id;
  vNotifications = v.n;
  vTimelineCandidates = v.c;
  const [p] = await query<{ id: number; user_id: number }>(
    db,
    `SELECT id, user_id FROM posts WHERE user_id IN (SELECT followee_id FROM follows WHERE follower_id = $1)
     ORDER BY created_at DESC, id DESC LIMIT 1`,
    [V],
  );
  P = p.id;
  A = p.user_id;
});

afterAll(async () => {
  await upstream?.close();
  await dropTestDatabase(SUFFIX);
});

describe('target-app stages', () => {
  it('lists the five stages in order', () => {
    expect(STAGE_NAMES).toEqual(['baseline', 'async-db', 'parallel', 'pooled', 'cached']);
  });

  it('answers the same JSON in every stage for the same requests on the same data', async () => {
    expect(vTimelineCandidates).toBeGreaterThan(100);
    expect(vNotifications).toBeGreaterThan(60);
    const results: Record<string, unknown> = {};
    for (const stage of STAGE_NAMES) results[stage] = (await runSequence(stage)).out;
    const base = results.baseline as { request: string; status: number; json: unknown }[];
    // the sequence did what it says
    expect(base.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 201, 201, 200, 200, 201, 201, 201, 200, 200, 200, 404, 404]);
    const timelineAfter = base[7].json as { posts: { content: string; author: { id: number }; likeCount: number; imageUrl: string }[] };
    expect(timelineAfter.posts[0].content).toBe("'; DROP TABLE posts; -- \" OR 1=1 😀");
    expect(timelineAfter.posts[1].imageUrl).toMatch(/^https:\/\/cdn\.looplens\.example\/i\//);
    const likedAfter = base[12].json as { posts: { id: number; likeCount: number }[] };
    const likedBefore = base[0].json as { posts: { id: number; likeCount: number }[] };
    expect(likedAfter.posts.find((p) => p.id === P)!.likeCount).toBe(likedBefore.posts.find((p) => p.id === P)!.likeCount + 2);
    expect(base[9].json).toMatchObject({ postId: P, userId: V });
    expect((base[13].json as { notifications: { kind: string; sender: { id: number } }[] }).notifications[0]).toMatchObject({ kind: 'like', sender: { id: V } });
    expect(base[15].json).toEqual({ error: 'Not Found', message: 'user 1999999 not found' });
    for (const stage of STAGE_NAMES) expect({ stage, out: results[stage] }).toEqual({ stage, out: results.baseline });
  });

  it('counts queries per request: baseline grows with N, the other stages stay constant', async () => {
    await reset(db);
    await flushRedis();
    const perRequest: Record<string, Record<string, number>> = {};
    for (const stage of STAGE_NAMES) {
      const app = await startStage(stage, { databaseUrl: db, upstreamUrl: upstream.url });
      try {
        const counts: Record<string, number> = {};
        for (const [label, url] of [
          ['timeline 5', `/users/${V}/timeline?limit=5`],
          ['timeline 20', `/users/${V}/timeline?limit=20`],
          ['timeline 20 again', `/users/${V}/timeline?limit=20`],
          ['notifications 10', `/users/${V}/notifications?limit=10`],
          ['notifications 50', `/users/${V}/notifications?limit=50`],
        ] as const) {
          const before = app.stage.stats().db.queries;
          const res = await send(app, { method: 'GET', url });
          expect(res.status).toBe(200);
          counts[label] = app.stage.stats().db.queries - before;
        }
        perRequest[stage] = counts;
      } finally {
        await app.close();
      }
    }
    // baseline: user + followees + posts, then author and like count per post; user + all notifications + a sender each
    expect(perRequest.baseline['timeline 5']).toBe(3 + 2 * 5);
    expect(perRequest.baseline['timeline 20']).toBe(3 + 2 * 20);
    expect(perRequest.baseline['notifications 10']).toBe(2 + vNotifications);
    expect(perRequest.baseline['notifications 50']).toBe(2 + vNotifications);
    for (const stage of ['async-db', 'parallel', 'pooled']) {
      expect({ stage, counts: perRequest[stage] }).toEqual({
        stage,
        counts: { 'timeline 5': 2, 'timeline 20': 2, 'timeline 20 again': 2, 'notifications 10': 2, 'notifications 50': 2 },
      });
    }
    // cached: the first read of each page goes to PostgreSQL, the repeat is a cache hit
    expect(perRequest.cached).toEqual({ 'timeline 5': 2, 'timeline 20': 2, 'timeline 20 again': 0, 'notifications 10': 2, 'notifications 50': 2 });
  });

  it('answers bad input with 400/404/413/415 and a JSON error, never a 500; injection strings are stored verbatim', async () => {
    const big = 'x'.repeat(70_000);
    const table: [Req, number][] = [
      [{ method: 'GET', url: '/users/abc/timeline' }, 400],
      [{ method: 'GET', url: '/users/0/timeline' }, 400],
      [{ method: 'GET', url: '/users/-1/timeline' }, 400],
      [{ method: 'GET', url: '/users/1.5/timeline' }, 400],
      [{ method: 'GET', url: '/users/99999999999/timeline' }, 400],
      [{ method: 'GET', url: '/users/1%20OR%201=1/timeline' }, 400],
      [{ method: 'GET', url: "/users/1';DROP%20TABLE%20users;--/notifications" }, 400],
      [{ method: 'GET', url: '/users/1/timeline?limit=0' }, 400],
      [{ method: 'GET', url: '/users/1/timeline?limit=abc' }, 400],
      [{ method: 'GET', url: '/users/1/timeline?limit=1000' }, 400],
      [{ method: 'GET', url: '/users/1/notifications?limit=-5' }, 400],
      [{ method: 'GET', url: '/users/2147483647/timeline' }, 404],
      [{ method: 'GET', url: '/users/1999999/notifications' }, 404],
      [{ method: 'GET', url: '/no/such/route' }, 404],
      [{ method: 'POST', url: '/posts' }, 400],
      [{ method: 'POST', url: '/posts', payload: '{"userId": 1, "content": ', headers: { 'content-type': 'application/json' } }, 400],
      [{ method: 'POST', url: '/posts', payload: 'userId=1&content=hi', headers: { 'content-type': 'text/plain' } }, 400],
      [{ method: 'POST', url: '/posts', payload: '<post user="1"/>', headers: { 'content-type': 'application/xml' } }, 415],
      [{ method: 'POST', url: '/posts', body: {} }, 400],
      [{ method: 'POST', url: '/posts', body: [] }, 400],
      [{ method: 'POST', url: '/posts', body: { userId: '1', content: 'typed as a string' } }, 400],
      [{ method: 'POST', url: '/posts', body: { userId: true, content: 'a boolean id' } }, 400],
      [{ method: 'POST', url: '/posts', body: { userId: 1.5, content: 'a fraction' } }, 400],
      [{ method: 'POST', url: '/posts', body: { userId: -1, content: 'negative' } }, 400],
      [{ method: 'POST', url: '/posts', body: { userId: 2147483648, content: 'past int' } }, 400],
      [{ method: 'POST', url: '/posts', body: { userId: 1 } }, 400],
      [{ method: 'POST', url: '/posts', body: { content: 'no user' } }, 400],
      [{ method: 'POST', url: '/posts', body: { userId: 1, content: '' } }, 400],
      [{ method: 'POST', url: '/posts', body: { userId: 1, content: 'x'.repeat(281) } }, 400],
      [{ method: 'POST', url: '/posts', body: { userId: 1, content: '😀'.repeat(281) } }, 400],
      [{ method: 'POST', url: '/posts', body: { userId: 1, content: ['an', 'array'] } }, 400],
      [{ method: 'POST', url: '/posts', body: { userId: 1, content: 'nul \u0000 byte' } }, 400],
      [{ method: 'POST', url: '/posts', body: { userId: 1, content: 'lone \ud800 surrogate' } }, 400],
      [{ method: 'POST', url: '/posts', body: { userId: 1, content: 'ok', admin: true } }, 400],
      [{ method: 'POST', url: '/posts', body: { userId: 1, content: 'ok', imageUrl: 'javascript:alert(1)' } }, 400],
      [{ method: 'POST', url: '/posts', body: { userId: 1, content: 'ok', imageUrl: 42 } }, 400],
      [{ method: 'POST', url: '/posts', body: { userId: 1, content: big } }, 413],
      [{ method: 'POST', url: '/posts', body: { userId: 1999999, content: 'nobody' } }, 404],
      [{ method: 'POST', url: '/posts/abc/likes', body: { userId: 1 } }, 400],
      [{ method: 'POST', url: '/posts/1/likes' }, 400],
      [{ method: 'POST', url: '/posts/1/likes', body: { userId: 'x' } }, 400],
      [{ method: 'POST', url: '/posts/1/likes', body: { userId: "1 OR 1=1" } }, 400],
      [{ method: 'POST', url: '/posts/1999999/likes', body: { userId: 1 } }, 404],
      [{ method: 'POST', url: '/posts/1/likes', body: { userId: 1999999 } }, 404],
    ];
    const injections = ["Robert'); DROP TABLE users;--", '1; DELETE FROM posts WHERE 1=1', '$1 $2 \\x00 %s {{7*7}} <script>alert(1)</script>', '😀'.repeat(280)];
    for (const stage of STAGE_NAMES) {
      await reset(db);
      const app = await startStage(stage, { databaseUrl: db, upstreamUrl: upstream.url });
      try {
        for (const [req, status] of table) {
          const res = await send(app, req);
          expect({ stage, request: `${req.method} ${req.url} ${JSON.stringify(req.body ?? req.payload ?? '').slice(0, 60)}`, status: res.status }).toEqual({
            stage,
            request: `${req.method} ${req.url} ${JSON.stringify(req.body ?? req.payload ?? '').slice(0, 60)}`,
            status,
          });
          expect(res.json).toEqual({ error: expect.any(String), message: expect.any(String) });
        }
        const stored: Record<number, string> = {};
        for (const content of injections) {
          const res = await send(app, { method: 'POST', url: '/posts', body: { userId: 7, content } });
          expect(res.status).toBe(201);
          expect((res.json as { content: string }).content).toBe(content);
          stored[(res.json as { id: number }).id] = content;
        }
        const rows = await query<{ id: number; content: string }>(db, 'SELECT id, content FROM posts WHERE id = ANY ($1::int[])', [Object.keys(stored)]);
        expect(Object.fromEntries(rows.map((r) => [r.id, r.content]))).toEqual(stored);
        expect((await query<{ n: number }>(db, 'SELECT count(*)::int AS n FROM users'))[0].n).toBe(2000);
      } finally {
        await app.close();
      }
    }
  });

  it('stores every acknowledged post and like, under concurrent requests', async () => {
    for (const stage of STAGE_NAMES) {
      await reset(db);
      const app = await startStage(stage, { databaseUrl: db, upstreamUrl: upstream.url });
      try {
        const writes: Req[] = [];
        for (let i = 0; i < 8; i++) {
          writes.push({ method: 'POST', url: '/posts', body: { userId: 10 + i, content: `${stage} concurrent post ${i}`, ...(i % 3 === 0 ? { imageUrl: `https://images.example/${i}.jpg` } : {}) } });
          writes.push({ method: 'POST', url: `/posts/${P - (i % 4)}/likes`, body: { userId: 20 + (i % 6) } });
        }
        const results = await Promise.all(writes.map((w) => send(app, w)));
        expect(results.map((r) => r.status)).toEqual(writes.map(() => 201));
        const bodies = results.map((r) => r.json as { id?: number; content?: string; postId?: number; userId?: number });
        const posts = bodies.filter((b) => b.content !== undefined) as { id: number; content: string }[];
        const likes = bodies.filter((b) => b.postId !== undefined) as { postId: number; userId: number }[];
        await expectWritesStored(query, db, posts, likes);
      } finally {
        await app.close();
      }
    }
  });

  it('absorbs external-service failures and timeouts: the post is stored and answered, failures counted', async () => {
    const failing = await startUpstream({ failureRate: { images: 1, notify: 1 }, timeoutRate: { index: 1 } });
    try {
      for (const stage of ['baseline', 'parallel'] as const) {
        await reset(db);
        const app = await startStage(stage, { databaseUrl: db, upstreamUrl: failing.url, upstreamTimeoutMs: 200 });
        try {
          const res = await send(app, { method: 'POST', url: '/posts', body: { userId: 5, content: 'despite the outage', imageUrl: 'https://images.example/o.jpg' } });
          expect(res.status).toBe(201);
          // the upload failed: the post keeps the image where it was
          expect(res.json).toMatchObject({ content: 'despite the outage', imageUrl: 'https://images.example/o.jpg' });
          await app.stage.close(); // lets the background work finish
          const s = app.stage.stats();
          expect(s.upstream.calls).toBe(3);
          expect(s.upstream.failures).toBe(3);
          if (stage === 'parallel') expect(s.background).toMatchObject({ running: 0, failed: 0, dropped: 0 });
          expect(await query(db, 'SELECT 1 FROM posts WHERE id = $1', [(res.json as { id: number }).id])).toHaveLength(1);
        } finally {
          await app.app.close();
        }
      }
    } finally {
      await failing.close();
    }
  });

  it('cached: answers from PostgreSQL when Redis is down from the start, with the same JSON', async () => {
    const closedPort = await freePort();
    const base = await runSequence('pooled');
    const down = await runSequence('cached', `redis://127.0.0.1:${closedPort}/1`);
    expect(down.out).toEqual(base.out);
    expect(down.stats.cache!.errors).toBeGreaterThan(0);
    expect(down.stats.cache!.hits).toBe(0);
  });

  it('cached: keeps answering, and answers fresh data, when Redis dies mid-run', async () => {
    await reset(db);
    const closedPort = await freePort();
    const redis = await ensureRedis({ url: `redis://127.0.0.1:${closedPort}/1`, log: () => {} });
    expect(redis.source).toBe('spawned');
    const app = await startStage('cached', { databaseUrl: db, upstreamUrl: upstream.url, redisUrl: redis.url });
    try {
      const url = `/users/${V}/timeline?limit=3`;
      expect((await send(app, { method: 'GET', url })).status).toBe(200);
      const before = app.stage.stats().db.queries;
      expect((await send(app, { method: 'GET', url })).status).toBe(200);
      expect(app.stage.stats().db.queries).toBe(before); // a hit
      await redis.stop();
      const created = await send(app, { method: 'POST', url: '/posts', body: { userId: A, content: 'posted while Redis was down' } });
      expect(created.status).toBe(201);
      const after = await send(app, { method: 'GET', url });
      expect(after.status).toBe(200);
      expect((after.json as { posts: { content: string }[] }).posts[0].content).toBe('posted while Redis was down');
      expect(app.stage.stats().cache!.errors).toBeGreaterThan(0);
    } finally {
      await app.close();
      await redis.stop();
    }
  });
});
