/**
 * The set-based queries of the async stages (async-db onwards): each route is a constant number of statements,
 * whatever the number of posts, likes or notifications involved — JOINs and aggregates do in PostgreSQL what the
 * baseline does with one round trip per row, and LIMIT is applied in SQL, not in JavaScript.
 * Works with anything that has pg's query(): a Client, a Pool, a PoolClient.
 */
import { NotFoundError } from '../errors.js';
import { toNotification, toPost, type Like, type NewPost, type Notification, type NotificationRow, type Post, type PostRow, type UserRef } from '../model.js';

export interface Queryable {
  query<R extends object = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

type PostWithAuthor = PostRow & { author_name: string; like_count: number };
type NotificationWithSender = NotificationRow & { sender_name: string };

const post = (r: PostWithAuthor): Post => toPost(r, { id: r.user_id, name: r.author_name }, r.like_count);
const notification = (r: NotificationWithSender): Notification => toNotification(r, { id: r.sender_id, name: r.sender_name });

/** The user, or NotFoundError. */
export async function findUser(db: Queryable, id: number): Promise<UserRef> {
  const { rows } = await db.query<UserRef>('SELECT id, name FROM users WHERE id = $1', [id]);
  if (!rows[0]) throw new NotFoundError('user', id);
  return rows[0];
}

/** Newest posts of the user and of everyone they follow, with author and like count: one statement. */
export async function timeline(db: Queryable, userId: number, limit: number): Promise<Post[]> {
  const { rows } = await db.query<PostWithAuthor>(
    `SELECT p.id, p.user_id, p.content, p.image_url, p.created_at, u.name AS author_name,
            (SELECT count(*)::int FROM likes l WHERE l.post_id = p.id) AS like_count
     FROM (SELECT id, user_id, content, image_url, created_at FROM posts
           WHERE user_id = ANY (ARRAY(SELECT followee_id FROM follows WHERE follower_id = $1) || $1::int)
           ORDER BY created_at DESC, id DESC
           LIMIT $2) p
     JOIN users u ON u.id = p.user_id
     ORDER BY p.created_at DESC, p.id DESC`,
    [userId, limit],
  );
  return rows.map(post);
}

/** Newest notifications of the user with their sender: LIMIT in SQL, sender by JOIN. */
export async function notifications(db: Queryable, userId: number, limit: number): Promise<Notification[]> {
  const { rows } = await db.query<NotificationWithSender>(
    `SELECT n.id, n.kind, n.post_id, n.created_at, n.sender_id, s.name AS sender_name
     FROM (SELECT id, kind, post_id, sender_id, created_at FROM notifications
           WHERE user_id = $1
           ORDER BY created_at DESC, id DESC
           LIMIT $2) n
     JOIN users s ON s.id = n.sender_id
     ORDER BY n.created_at DESC, n.id DESC`,
    [userId, limit],
  );
  return rows.map(notification);
}

/** Stores a post by an existing user (NotFoundError otherwise) and answers it with its author. */
export async function insertPost(db: Queryable, input: NewPost): Promise<Post> {
  const { rows } = await db.query<PostWithAuthor>(
    `WITH p AS (
       INSERT INTO posts (user_id, content, image_url)
       SELECT id, $2, $3 FROM users WHERE id = $1
       RETURNING id, user_id, content, image_url, created_at)
     SELECT p.*, u.name AS author_name, 0 AS like_count FROM p JOIN users u ON u.id = p.user_id`,
    [input.userId, input.content, input.imageUrl ?? null],
  );
  if (!rows[0]) throw new NotFoundError('user', input.userId);
  return post(rows[0]);
}

/** Points a post at its hosted image. */
export async function setImageUrl(db: Queryable, postId: number, url: string): Promise<void> {
  await db.query('UPDATE posts SET image_url = $2 WHERE id = $1', [postId, url]);
}

interface LikeRow {
  post_id: number | null;
  user_id: number | null;
  created_at: Date | null;
  like_count: number;
}

/**
 * Likes a post (idempotent: liking twice keeps one like and one notification) and notifies the post's author,
 * unless they liked their own post. One statement; it sees the database as it was when it started, so the new like
 * is added to the count by hand.
 */
export async function likePost(db: Queryable, postId: number, userId: number): Promise<Like> {
  for (let attempt = 0; ; attempt++) {
    const { rows } = await db.query<LikeRow>(
      `WITH p AS (SELECT id, user_id FROM posts WHERE id = $1),
            u AS (SELECT id FROM users WHERE id = $2),
            ins AS (INSERT INTO likes (user_id, post_id) SELECT u.id, p.id FROM p, u
                    ON CONFLICT DO NOTHING RETURNING user_id, post_id, created_at),
            n AS (INSERT INTO notifications (user_id, sender_id, kind, post_id, created_at)
                  SELECT p.user_id, ins.user_id, 'like', ins.post_id, ins.created_at FROM ins, p WHERE p.user_id <> ins.user_id)
       SELECT (SELECT id FROM p) AS post_id, (SELECT id FROM u) AS user_id,
              COALESCE((SELECT created_at FROM ins), (SELECT created_at FROM likes WHERE user_id = $2 AND post_id = $1)) AS created_at,
              (SELECT count(*)::int FROM likes WHERE post_id = $1) + (SELECT count(*)::int FROM ins) AS like_count`,
      [postId, userId],
    );
    const r = rows[0];
    if (r.post_id === null) throw new NotFoundError('post', postId);
    if (r.user_id === null) throw new NotFoundError('user', userId);
    // created_at is null only when a concurrent request inserted the same like after this statement's snapshot
    if (r.created_at === null && attempt < 3) continue;
    return { postId, userId, likeCount: r.like_count, createdAt: (r.created_at ?? new Date()).toISOString() };
  }
}

/** Who follows the user (whose timelines a new post or like of theirs changes). */
export async function followerIds(db: Queryable, userId: number): Promise<number[]> {
  const { rows } = await db.query<{ follower_id: number }>('SELECT follower_id FROM follows WHERE followee_id = $1', [userId]);
  return rows.map((r) => r.follower_id);
}

/** The author of a post and their followers: whose timelines (and notifications) a like on it changes. */
export async function postAudience(db: Queryable, postId: number): Promise<{ authorId: number; followerIds: number[] } | null> {
  const { rows } = await db.query<{ author_id: number; follower_ids: number[] }>(
    `SELECT p.user_id AS author_id, ARRAY(SELECT follower_id FROM follows WHERE followee_id = p.user_id) AS follower_ids
     FROM posts p WHERE p.id = $1`,
    [postId],
  );
  return rows[0] ? { authorId: rows[0].author_id, followerIds: rows[0].follower_ids } : null;
}
