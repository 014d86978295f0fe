/**
 * Stage 2 — async-db: the seed article's first fix.
 * - the async `pg` driver: while PostgreSQL works, the event loop serves other requests;
 * - set-based SQL (db/queries.ts): JOINs and an aggregate instead of a query per row, LIMIT in SQL — a constant
 *   number of queries per request, whatever the number of posts or notifications.
 * Unchanged: external calls one after another, a new connection for every request, no cache.
 */
import pg from 'pg';
import { QueryCounter, countQueries } from '../db/counter.js';
import { pgTimeoutOptions } from '../db/timeouts.js';
import * as q from '../db/queries.js';
import { UpstreamClient } from '../upstream/client.js';
import type { Stage } from './types.js';

export const asyncDb: Stage = {
  name: 'async-db',
  summary: 'async pg driver and set-based SQL (JOIN, aggregate, LIMIT in SQL): constant queries per request',

  async start({ databaseUrl, upstreamUrl, log, upstreamTimeoutMs, dbTimeouts }) {
    const counter = new QueryCounter();
    const upstream = new UpstreamClient({ baseUrl: upstreamUrl, keepAlive: false, log, timeoutMs: upstreamTimeoutMs });

    // still a new connection for every request, now an asynchronous one
    const withDb = async <T>(fn: (db: pg.Client) => Promise<T>): Promise<T> => {
      const db = countQueries(new pg.Client({ connectionString: databaseUrl, ...pgTimeoutOptions(dbTimeouts) }), counter);
      db.on('error', () => {}); // a connection lost mid-request fails that request's query, not the process
      await db.connect();
      try {
        return await fn(db);
      } finally {
        await db.end();
      }
    };

    return {
      getTimeline: (userId, limit) =>
        withDb(async (db) => {
          await q.findUser(db, userId);
          return q.timeline(db, userId, limit); // one statement: posts JOIN authors, like counts, LIMIT
        }),

      createPost: ({ userId, content, imageUrl }) =>
        withDb(async (db) => {
          const post = await q.insertPost(db, { userId, content, imageUrl });
          // the external calls, one after another: the client waits for all of them
          if (imageUrl) {
            const hosted = await upstream.uploadImage(imageUrl); // ~300 ms
            if (hosted) {
              await q.setImageUrl(db, post.id, hosted);
              post.imageUrl = hosted;
            }
          }
          await upstream.notify({ userId, postId: post.id }); // ~200 ms
          await upstream.index({ postId: post.id, content }); // ~150 ms
          return post;
        }),

      getNotifications: (userId, limit) =>
        withDb(async (db) => {
          await q.findUser(db, userId);
          return q.notifications(db, userId, limit); // one statement: the page only, senders JOINed
        }),

      likePost: (postId, userId) => withDb((db) => q.likePost(db, postId, userId)),

      stats: () => ({ db: { queries: counter.queries, connections: counter.connections }, upstream: upstream.stats() }),

      close: async () => {
        upstream.close();
      },
    };
  },
};
