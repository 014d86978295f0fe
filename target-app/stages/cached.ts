/**
 * Stage 5 — cached: the second half of the seed article's third fix.
 * - Redis cache-aside for timelines and notifications (../cache.ts), entries expire after 60 s;
 * - invalidation on every write that changes them, before the response: a new post retires the cached timelines
 *   of its author and the author's followers; a like, those of the post's author and followers (like counts) and
 *   the author's notifications. Versioned keys make that one INCR per affected user, all in one Lua script (one command).
 * - Redis down: answers come from PostgreSQL, never an error.
 * Unchanged: async pg and set-based SQL, concurrent external calls with background work, pool, keep-alive.
 *
 * A hit is one Redis round trip instead of two queries; a miss costs that round trip on top of the two queries.
 * Under the lab's Zipf load most misses are cold (a user nobody asked for yet in the run), not invalidations —
 * GET /stats counts hits, misses and `stale` misses (an entry a write retired). Running a miss's two reads
 * together was tried and left out: it doubled pool checkouts and made requests wait for a client under load.
 */
import pg from 'pg';
import { QueryCounter, countQueries } from '../db/counter.js';
import { databaseName } from '../db/connection.js';
import { poolSizeFor } from '../db/pool.js';
import { pgTimeoutOptions } from '../db/timeouts.js';
import { BackgroundWork } from '../lib/background.js';
import * as q from '../db/queries.js';
import { seedInfo } from '../db/seed.js';
import { ResponseCache, cacheKeyPrefix } from '../cache.js';
import { UpstreamClient } from '../upstream/client.js';
import type { Stage } from './types.js';

/** The route that reads each kind of cached answer: /stats reports the cache's figures per route too (looplens's summary.json `cache`). */
const ROUTE_OF_KIND: Record<string, string> = { timeline: 'GET /users/:id/timeline', notifications: 'GET /users/:id/notifications' };

export const cached: Stage = {
  name: 'cached',
  summary: 'Redis cache-aside for timelines and notifications, invalidated on every write; PostgreSQL when Redis is down',

  async start({ databaseUrl, redisUrl, upstreamUrl, log, upstreamTimeoutMs, workers, poolMax, dbTimeouts }) {
    const counter = new QueryCounter();
    const upstream = new UpstreamClient({ baseUrl: upstreamUrl, keepAlive: true, log, timeoutMs: upstreamTimeoutMs });
    const background = new BackgroundWork({ log });

    // connections opened once and reused by every request
    const db = new pg.Pool({
      connectionString: databaseUrl,
      max: poolSizeFor(workers, poolMax),
      idleTimeoutMillis: 30_000,
      ...pgTimeoutOptions(dbTimeouts), // a frozen server or an exhausted pool: a quick 503, not a hung request
    });
    db.on('connect', (client) => countQueries(client, counter));
    db.on('error', (err) => log.warn('pg-pool', `idle database connection failed: ${err.message}`));
    const withDb = <T>(fn: (db: pg.Pool) => Promise<T>): Promise<T> => fn(db);

    // cached answers, per dataset: a re-seeded database never meets the previous one's entries
    const seeded = await seedInfo(db);
    const cache = new ResponseCache({ url: redisUrl, namespace: `${cacheKeyPrefix(databaseName(databaseUrl))}${seeded?.seededAt ?? 'unseeded'}`, log });
    await cache.ready(1000);

    return {
      getTimeline: (userId, limit) =>
        cache.read('timeline', userId, limit, () =>
          withDb(async (db) => {
            await q.findUser(db, userId);
            return q.timeline(db, userId, limit); // one statement: posts JOIN authors, like counts, LIMIT
          }),
        ),

      createPost: ({ userId, content, imageUrl }) =>
        withDb(async (db) => {
          const post = await q.insertPost(db, { userId, content, imageUrl });
          // the external calls start together…
          const upload = imageUrl ? upstream.uploadImage(imageUrl) : null; // ~300 ms
          // …the client need not wait for the notification and the index: they finish after the response
          background.run('notify+index', () =>
            Promise.all([upstream.notify({ userId, postId: post.id }), upstream.index({ postId: post.id, content })]),
          );
          // …it waits only for the upload, whose URL is in the answer
          const hosted = await upload;
          if (hosted) {
            await q.setImageUrl(db, post.id, hosted);
            post.imageUrl = hosted;
          }
          // the post is in the timelines of its author and of everyone following them
          await cache.invalidate({ timeline: [userId, ...(await q.followerIds(db, userId))] });
          return post;
        }),

      getNotifications: (userId, limit) =>
        cache.read('notifications', userId, limit, () =>
          withDb(async (db) => {
            await q.findUser(db, userId);
            return q.notifications(db, userId, limit); // one statement: the page only, senders JOINed
          }),
        ),

      likePost: (postId, userId) =>
        withDb(async (db) => {
          const like = await q.likePost(db, postId, userId);
          // the like count shows in the timelines of the author and their followers; the author got a notification
          const audience = await q.postAudience(db, postId);
          if (audience) {
            await cache.invalidate({ timeline: [audience.authorId, ...audience.followerIds], notifications: [audience.authorId] });
          }
          return like;
        }),

      stats: () => ({
        db: { queries: counter.queries, connections: counter.connections },
        upstream: upstream.stats(),
        background: background.stats(),
        cache: ((s) => ({ ...s, byRoute: Object.fromEntries(Object.entries(s.byKind).map(([k, v]) => [ROUTE_OF_KIND[k] ?? k, v])) }))(cache.stats()),
      }),

      close: async () => {
        await background.drain(3000);
        upstream.close();
        await cache.close();
        await db.end();
      },
    };
  },
};
