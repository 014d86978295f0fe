/**
 * Stage 3 — parallel: the seed article's second fix (asyncio.gather, then BackgroundTasks).
 * - the external calls start together instead of one after another;
 * - the client waits only for the image upload (the hosted URL is part of the answer); the notification and the
 *   search indexing finish after the response, as bounded background work whose failures are logged and counted.
 * Unchanged: async pg and set-based SQL, a new connection for every request, no cache.
 */
import pg from 'pg';
import { QueryCounter, countQueries } from '../db/counter.js';
import { pgTimeoutOptions } from '../db/timeouts.js';
import { BackgroundWork } from '../lib/background.js';
import * as q from '../db/queries.js';
import { UpstreamClient } from '../upstream/client.js';
import type { Stage } from './types.js';

export const parallel: Stage = {
  name: 'parallel',
  summary: 'external calls concurrent; notification and indexing finish after the response (bounded background work)',

  async start({ databaseUrl, upstreamUrl, log, upstreamTimeoutMs, dbTimeouts }) {
    const counter = new QueryCounter();
    const upstream = new UpstreamClient({ baseUrl: upstreamUrl, keepAlive: false, log, timeoutMs: upstreamTimeoutMs });
    const background = new BackgroundWork({ log });

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
          return post;
        }),

      getNotifications: (userId, limit) =>
        withDb(async (db) => {
          await q.findUser(db, userId);
          return q.notifications(db, userId, limit); // one statement: the page only, senders JOINed
        }),

      likePost: (postId, userId) => withDb((db) => q.likePost(db, postId, userId)),

      stats: () => ({
        db: { queries: counter.queries, connections: counter.connections },
        upstream: upstream.stats(),
        background: background.stats(),
      }),

      close: async () => {
        await background.drain(3000);
        upstream.close();
      },
    };
  },
};
