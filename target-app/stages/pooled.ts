/**
 * Stage 4 — pooled: the first half of the seed article's third fix.
 * - a pg.Pool sized for the machine (db/pool.ts): connections are opened once and reused, instead of a
 *   connect + authenticate + disconnect on every request;
 * - keep-alive connections to the external services, instead of a new TCP connection per call.
 * Unchanged: async pg and set-based SQL, concurrent external calls with background work, no cache.
 */
import pg from 'pg';
import { QueryCounter, countQueries } from '../db/counter.js';
import { poolSizeFor } from '../db/pool.js';
import { pgTimeoutOptions } from '../db/timeouts.js';
import { BackgroundWork } from '../lib/background.js';
import * as q from '../db/queries.js';
import { UpstreamClient } from '../upstream/client.js';
import type { Stage } from './types.js';

export const pooled: Stage = {
  name: 'pooled',
  summary: 'a pg.Pool sized for the machine and keep-alive connections to the external services',

  async start({ databaseUrl, upstreamUrl, log, upstreamTimeoutMs, workers, poolMax, dbTimeouts }) {
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
        await db.end();
      },
    };
  },
};
