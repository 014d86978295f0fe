/**
 * Redis killed under load (cached stage), on a PRIVATE redis-server that this file kills and restarts on the same
 * port (with its data: append-only file, fsync always — the harder case, since the entries cached before the outage
 * come back with it):
 * - no 5xx and no hang while Redis is gone: the answers come from PostgreSQL (its query counter moves);
 * - caching resumes once Redis is back (hits count again, entries are written again);
 * - no stale read: a post and a like written while Redis was down show at once after it is back, although the
 *   entries cached before the outage are still in Redis.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabase } from '../../target-app/db/connection.js';
import { startUpstream } from '../target-app/helpers.js';
import {
  closeAgent,
  dbQuery,
  drive,
  getJson,
  jsonPost,
  prng,
  seeded,
  send,
  sharedDatabaseUrl,
  sleep,
  startAppChild,
  startPrivateRedis,
  statusCounts,
  type Answer,
  type AppChild,
  type PrivateRedis,
  type RawRequest,
} from './helpers-app.js';

const DB = sharedDatabaseUrl('redis');
let redis: PrivateRedis;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
let app: AppChild | undefined;
/** viewer V follows author A; P is A's newest post */
let V: number;
let A: number;
let P: number;
let vFollows: Set<number>;

interface Stats {
  db: { queries: number };
  cache: { hits: number; misses: number; errors: number; invalidations: number };
}
type Timeline = { posts: { id: number; content: string; likeCount: number }[] };
type Notifications = { notifications: { kind: string; postId: number | null; sender: { id: number } }[] };

beforeAll(async () => {
  await seeded(DB);
  redis = await startPrivateRedis({ persistent: true });
  upstream = await startUpstream();
  const [row] = await dbQuery<{ v: number; a: number }>(
    DB,
    `SELECT f.follower_id AS v, f.followee_id AS a FROM follows f
     WHERE f.follower_id BETWEEN 2 AND 40 AND f.followee_id <> f.follower_id AND f.followee_id > 40 ORDER BY f.follower_id, f.followee_id LIMIT 1`,
  );
  V = row.v;
  A = row.a;
  const [p] = await dbQuery<{ id: number }>(DB, 'SELECT id FROM posts WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1', [A]);
  P = p.id;
  vFollows = new Set((await dbQuery<{ id: number }>(DB, 'SELECT followee_id AS id FROM follows WHERE follower_id = $1', [V])).map((r) => r.id));
});

afterAll(async () => {
  await app?.stop();
  closeAgent();
  await upstream?.close();
  await redis?.destroy();
  await dropDatabase(DB).catch(() => {});
});

/** Reads over a small hot set (so the cache has hits), with an occasional post by a hot user. */
function hotLoad(seed: number): () => RawRequest {
  const rand = prng(seed);
  const hot = () => 1 + Math.floor(rand() * 40);
  // posted by hot users V does not follow, so V's newest timeline post stays the one this test writes
  const posters = Array.from({ length: 40 }, (_, i) => i + 1).filter((u) => u !== V && !vFollows.has(u));
  let n = 0;
  return () => {
    const r = rand();
    if (r < 0.6) return { method: 'GET', path: `/users/${hot()}/timeline?limit=10` };
    if (r < 0.95 || !posters.length) return { method: 'GET', path: `/users/${hot()}/notifications?limit=10` };
    return jsonPost('/posts', { userId: posters[Math.floor(rand() * posters.length)], content: `redis-outage background post #${n++}` });
  };
}

describe('faults: Redis killed during load (cached stage)', () => {
  it('no 5xx or hang while Redis is gone (answers from PostgreSQL); caching resumes when it is back; no stale read of what was written during the outage', async () => {
    const seed = 42;
    app = await startAppChild({ STAGE: 'cached', DATABASE_URL: DB, UPSTREAM_URL: upstream.url, REDIS_URL: redis.url });
    const stats = () => getJson<Stats>(app!.url, '/stats');
    const t0 = performance.now();
    const marks = { down: 0, up: 0 };
    let stopping = false;

    // V's timeline and A's notifications are cached before the outage
    const vTimeline = `/users/${V}/timeline?limit=10`;
    const aNotifications = `/users/${A}/notifications?limit=10`;
    for (const path of [vTimeline, aNotifications, vTimeline, aNotifications]) expect((await send(app.url, { method: 'GET', path })).status).toBe(200);

    const load = drive({ base: app.url, concurrency: 6, next: hotLoad(seed), until: () => stopping, timeoutMs: 10_000 });
    try {
      await sleep(1500);
      const beforeOutage = await stats();
      expect(beforeOutage.cache.hits).toBeGreaterThan(20);

      await redis.kill();
      marks.down = performance.now();
      await sleep(300);
      const atOutage = await stats();
      const tAtOutage = performance.now();
      // written while Redis is down: a post by A (in V's timeline) and V's like of P (in A's notifications)
      const content = `written while Redis was down ${seed}`;
      const created = await send(app.url, jsonPost('/posts', { userId: A, content }));
      expect([created.status, created.text.slice(0, 200)]).toEqual([201, expect.any(String)]);
      const liked = await send(app.url, jsonPost(`/posts/${P}/likes`, { userId: V }));
      expect(liked.status).toBe(201);
      const fromDb = (await send(app.url, { method: 'GET', path: vTimeline })).json as Timeline;
      expect(fromDb.posts[0].content).toBe(content);
      await sleep(1500);
      const tEndOfOutage = performance.now();
      const endOfOutage = await stats();

      await redis.start();
      marks.up = performance.now();
      // the entry cached before the outage came back with Redis: only the app's epoch bump keeps it from being served
      const direct = new Redis(redis.url);
      try {
        const [staleKey] = await direct.keys(`*:timeline:${V}:10`);
        expect(staleKey, 'the pre-outage entry of V\'s timeline survived the restart').toBeDefined();

        // no stale read, from the first request after the restart on
        for (let i = 0; i < 10; i++) {
          const t = (await send(app.url, { method: 'GET', path: vTimeline })).json as Timeline;
          expect(t.posts[0]?.content, `read ${i} after Redis came back`).toBe(content);
          const n = (await send(app.url, { method: 'GET', path: aNotifications })).json as Notifications;
          expect(n.notifications.some((x) => x.kind === 'like' && x.postId === P && x.sender.id === V), `read ${i} of A's notifications`).toBe(true);
          await sleep(100);
        }
        await sleep(2000);
        const after = await stats();
        stopping = true;
        const answers = await load;
        const ctx = `seed ${seed}, down at ${Math.round(marks.down - t0)} ms, up at ${Math.round(marks.up - t0)} ms, statuses ${JSON.stringify(statusCounts(answers))}`;
        const at = (a: Answer) => `${Math.round(a.at - t0)} ms: ${a.req.method} ${a.req.path} → ${a.status} ${a.error ?? a.text.slice(0, 120)}`;

        // no 5xx, no transport error, ever
        expect(answers.filter((a) => a.status < 200 || a.status >= 300).slice(0, 5).map(at), ctx).toEqual([]);
        // no hang while Redis was gone
        const outage = answers.filter((a) => a.at >= marks.down && a.at < marks.up);
        expect(outage.length, ctx).toBeGreaterThan(20);
        expect(Math.max(...outage.map((a) => a.ms)), ctx).toBeLessThan(2000);
        // …answered by PostgreSQL: every read in the outage cost queries, and the cache counted its failures
        const readsInOutage = answers.filter((a) => a.req.method === 'GET' && a.at >= tAtOutage && a.at + a.ms <= tEndOfOutage).length;
        expect(readsInOutage, ctx).toBeGreaterThan(10);
        expect(endOfOutage.db.queries - atOutage.db.queries, ctx).toBeGreaterThanOrEqual(readsInOutage);
        expect(endOfOutage.cache.hits - atOutage.cache.hits, ctx).toBe(0);
        expect(endOfOutage.cache.errors, ctx).toBeGreaterThan(beforeOutage.cache.errors);

        // caching resumed: hits again, entries written again, the epoch bumped for the lost invalidations
        expect(after.cache.hits - endOfOutage.cache.hits, ctx).toBeGreaterThan(20);
        const [epochKey] = await direct.keys('*:epoch');
        expect(Number(await direct.get(epochKey)), ctx).toBeGreaterThanOrEqual(1);
        const fresh = JSON.parse((await direct.get((await direct.keys(`*:timeline:${V}:10`))[0]))!) as { e: string; v: { content: string }[] };
        expect([fresh.e, fresh.v[0].content], ctx).toEqual([await direct.get(epochKey), content]);

        expect(app.child.exitCode, ctx).toBeNull();
        expect(app.stderr(), ctx).not.toMatch(/unexpected error|unhandled|uncaught/i);
        expect(app.stderr(), ctx).toMatch(/Redis (unavailable|command failed)/); // the outage was noticed and said
      } finally {
        direct.disconnect();
      }
    } finally {
      stopping = true;
      await load;
      await app.stop();
      app = undefined;
    }
  });
});
