/**
 * Stage 1 — baseline: the "before" of the seed article, in Node.
 * - a synchronous database driver: every query stops the event loop until PostgreSQL answers (querySync);
 * - N+1 queries: the author and the like count of every post, the sender of every notification, one by one;
 * - notifications loaded whole and cut to the page in JavaScript;
 * - the external calls (image upload, notification, search indexing) awaited one after another;
 * - a new database connection for every request; no cache.
 */
import { SyncPgClient } from '../db/sync-client.js';
import { QueryCounter } from '../db/counter.js';
import { NotFoundError } from '../errors.js';
import { toNotification, toPost, type NotificationRow, type PostRow, type UserRef } from '../model.js';
import { UpstreamClient } from '../upstream/client.js';
import type { Stage } from './types.js';

function findUser(db: SyncPgClient, id: number): UserRef {
  const user = db.querySync<UserRef>('SELECT id, name FROM users WHERE id = $1', [id]).rows[0];
  if (!user) throw new NotFoundError('user', id);
  return user;
}

export const baseline: Stage = {
  name: 'baseline',
  summary: 'synchronous DB driver, N+1 queries, notifications cut in JS, serial external calls, a connection per request',

  async start({ databaseUrl, upstreamUrl, log, upstreamTimeoutMs, dbTimeouts }) {
    const counter = new QueryCounter();
    const upstream = new UpstreamClient({ baseUrl: upstreamUrl, keepAlive: false, log, timeoutMs: upstreamTimeoutMs });
    SyncPgClient.connectSync(databaseUrl, { timeouts: dbTimeouts }).endSync(); // start the driver's thread now, not on the first request

    // a new connection for every request (the article's get_db(): SessionLocal() … close())
    const withDb = async <T>(fn: (db: SyncPgClient) => T | Promise<T>): Promise<T> => {
      const db = SyncPgClient.connectSync(databaseUrl, { counter, timeouts: dbTimeouts });
      try {
        return await fn(db);
      } finally {
        db.endSync();
      }
    };

    return {
      getTimeline: (userId, limit) =>
        withDb((db) => {
          findUser(db, userId);
          const followees = db.querySync<{ followee_id: number }>('SELECT followee_id FROM follows WHERE follower_id = $1', [userId]).rows;
          const posts = db.querySync<PostRow>(
            `SELECT id, user_id, content, image_url, created_at FROM posts
             WHERE user_id = ANY ($1::int[]) ORDER BY created_at DESC, id DESC LIMIT $2`,
            [[userId, ...followees.map((f) => f.followee_id)], limit],
          ).rows;
          // N+1: two more round trips for every post
          return posts.map((post) => {
            const author = findUser(db, post.user_id);
            const likes = db.querySync<{ n: number }>('SELECT count(*)::int AS n FROM likes WHERE post_id = $1', [post.id]).rows[0];
            return toPost(post, author, likes.n);
          });
        }),

      createPost: ({ userId, content, imageUrl }) =>
        withDb(async (db) => {
          const author = findUser(db, userId);
          const post = db.querySync<PostRow>(
            'INSERT INTO posts (user_id, content, image_url) VALUES ($1, $2, $3) RETURNING id, user_id, content, image_url, created_at',
            [userId, content, imageUrl ?? null],
          ).rows[0];
          // the external calls, one after another: the client waits for all of them
          if (imageUrl) {
            const hosted = await upstream.uploadImage(imageUrl); // ~300 ms
            if (hosted) {
              db.querySync('UPDATE posts SET image_url = $2 WHERE id = $1', [post.id, hosted]);
              post.image_url = hosted;
            }
          }
          await upstream.notify({ userId, postId: post.id }); // ~200 ms
          await upstream.index({ postId: post.id, content }); // ~150 ms
          return toPost(post, author, 0);
        }),

      getNotifications: (userId, limit) =>
        withDb((db) => {
          findUser(db, userId);
          // every notification the user ever got…
          const rows = db.querySync<NotificationRow>(
            'SELECT id, kind, post_id, sender_id, created_at FROM notifications WHERE user_id = $1 ORDER BY created_at DESC, id DESC',
            [userId],
          ).rows;
          // …each with its sender, one query per notification (N+1)…
          const all = rows.map((n) => toNotification(n, findUser(db, n.sender_id)));
          // …then cut to the page in JavaScript
          return all.slice(0, limit);
        }),

      likePost: (postId, userId) =>
        withDb((db) => {
          const post = db.querySync<{ user_id: number }>('SELECT user_id FROM posts WHERE id = $1', [postId]).rows[0];
          if (!post) throw new NotFoundError('post', postId);
          findUser(db, userId);
          const inserted = db.querySync<{ created_at: Date }>(
            'INSERT INTO likes (user_id, post_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING created_at',
            [userId, postId],
          ).rows[0];
          if (inserted && post.user_id !== userId) {
            db.querySync("INSERT INTO notifications (user_id, sender_id, kind, post_id, created_at) VALUES ($1, $2, 'like', $3, $4)", [
              post.user_id,
              userId,
              postId,
              inserted.created_at,
            ]);
          }
          const like = inserted ?? db.querySync<{ created_at: Date }>('SELECT created_at FROM likes WHERE user_id = $1 AND post_id = $2', [userId, postId]).rows[0];
          const count = db.querySync<{ n: number }>('SELECT count(*)::int AS n FROM likes WHERE post_id = $1', [postId]).rows[0];
          return { postId, userId, likeCount: count.n, createdAt: like.created_at.toISOString() };
        }),

      stats: () => ({ db: { queries: counter.queries, connections: counter.connections }, upstream: upstream.stats() }),

      close: async () => {
        upstream.close();
      },
    };
  },
};
