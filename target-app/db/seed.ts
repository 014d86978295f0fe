/**
 * The seeder: a deterministic social network of `scale` users, generated inside PostgreSQL with set-based
 * INSERT … SELECT over generate_series. Every "random" choice is hashint8extended(key, salt), so the same scale
 * always gives the same rows, ids included, however the work is split between connections.
 *
 * Per user (scale 150,000 → about 0.6 M posts, 5.2 M follows, 4.5 M likes, 9.7 M notifications):
 * - follows: 20–50 followees, skewed towards low ids (the "popular" accounts): stratified samples of
 *   scale·q^1.5, one per stratum, so a user's followees are distinct by construction;
 * - posts: 4 per user on average (post i by user hash(i)), one every 90 days / posts, ids in time order;
 * - likes: 0–60, skewed towards the newest posts, distinct by the same stratified construction;
 * - notifications: one per follow received and per like received on one's posts (not for self-likes), so a
 *   typical user has 40–80 and the most followed or liked a few hundred to a few thousand.
 * Seeded rows are all dated before SEED_ANCHOR; anything the app writes later is newer, which is how `reset()`
 * tells them apart.
 */
import type pg from 'pg';
import { connectOnce, ensureDatabase } from './connection.js';
import type { Queryable } from './queries.js';
import { APP_TABLES, CONSTRAINTS, SCHEMA_LOCK, TABLES_SQL, existingConstraintNames, type Constraint } from './schema.js';

/** Bump when the generated data changes: a database seeded by another version is seeded again. */
export const GENERATOR_VERSION = 1;
export const DEFAULT_SCALE = 150_000;
/** Notification ids are (user · 64 + k), so the scale must keep 2 · scale · 64 inside a PostgreSQL integer. */
export const MAX_SCALE = 10_000_000;
export const SEED_ANCHOR = '2025-06-01T00:00:00.000Z';
export const POSTS_PER_USER = 4;

export interface SeedCounts {
  scale: number;
  users: number;
  posts: number;
  follows: number;
  likes: number;
  notifications: number;
}

export interface SeedResult extends SeedCounts {
  skipped: boolean;
  ms: number;
}

export interface SeedOptions {
  databaseUrl: string;
  scale?: number;
  /** One line per step ("seed: follows 75000/150000"). */
  onProgress?: (line: string) => void;
  /** Seed again even when the marker says this scale is there. */
  force?: boolean;
  /** Connections working at once (default 2: this is a 2-core lab). */
  connections?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Deterministic pseudo-random numbers, as SQL expressions.

/** An integer in [0, 2^31) from (key, salt). */
const h = (key: string, salt: number | string) => `(hashint8extended((${key})::bigint, ${salt}) & 2147483647)`;
/** A float in [0, 1) from (key, salt). */
const r = (key: string, salt: number | string) => `((hashint8extended((${key})::bigint, ${salt}) & 4294967295)::float8 / 4294967296.0)`;
const pick = (words: readonly string[], key: string, salt: number) =>
  `(ARRAY[${words.map((w) => `'${w.replace(/'/g, "''")}'`).join(',')}])[1 + ${h(key, salt)} % ${words.length}]`;

const FIRST = ['Aiko', 'Ben', 'Chen', 'Dana', 'Emi', 'Felix', 'Gita', 'Hana', 'Ivan', 'Jun', 'Kai', 'Lena', 'Mei', 'Nora', 'Omar', 'Pia', 'Quinn', 'Rin', 'Sara', 'Taro', 'Uma', 'Vik', 'Wen', 'Yuki', 'Zoe'];
const LAST = ['Abe', 'Brown', 'Chan', 'Diaz', 'Endo', 'Fujii', 'Garcia', 'Hayashi', 'Ito', 'Jones', 'Kato', 'Lee', 'Mori', 'Nakamura', 'Ono', 'Park', 'Rossi', 'Sato', 'Suzuki', 'Tanaka', 'Ueda', 'Wang', 'Yamada'];
const OPENERS = ['Just tried', 'Thinking about', 'Cannot stop talking about', 'Finally shipped', 'Loving', 'Not sure about', 'Reading up on', 'Back to', 'Quick note on', 'Still debugging'];
const TOPICS = ['ramen in Shibuya', 'the event loop', 'a new coffee place', 'our API latency', 'connection pools', 'the night train', 'Redis caching', 'a rainy Sunday', 'N+1 queries', 'the sunset at the pier', 'async/await', 'flame graphs'];
const TAILS = ['today.', 'again!', 'and it was worth it.', '#nodejs', 'with friends.', '— thoughts?', 'before lunch.', ':)'];

const ANCHOR = `timestamptz '${SEED_ANCHOR}'`;

/** Everything the generators need to know about the dataset's size. */
interface Dims {
  scale: number;
  posts: number;
  /** Milliseconds between consecutive posts: the posts span the 90 days before the anchor. */
  stepMs: number;
}

function dims(scale: number): Dims {
  const posts = scale * POSTS_PER_USER;
  return { scale, posts, stepMs: Math.max(1, Math.floor((90 * 86_400_000) / posts)) };
}

/** Milliseconds before the anchor at which post `key` was written (strictly decreasing in the post id). */
const postAgeMs = (d: Dims, key: string) => `((${d.posts} - (${key}))::bigint * ${d.stepMs} + ${h(key, 14)} % ${d.stepMs})`;
/** The author of post `key` (posts are not stored per user, so this is how anyone finds it without a join). */
const postAuthor = (d: Dims, key: string) => `(1 + ${h(key, 10)} % ${d.scale})`;

/** follows of users lo..hi ($1..$2): follower_id, followee_id, created_at, k (the follow's number, 1..50). */
function followsOf(d: Dims): string {
  return `
    SELECT u AS follower_id, b.lo + ${h('u', '1000 + k')} % (b.hi - b.lo + 1) AS followee_id,
           ${ANCHOR} - (${h('u', '2000 + k')} % (365 * 86400)) * interval '1 second' AS created_at, k
    FROM generate_series($1::int, $2::int) u
    CROSS JOIN LATERAL (SELECT 20 + ${h('u', 4)} % 31 AS n) c
    CROSS JOIN LATERAL generate_series(1, c.n) k
    CROSS JOIN LATERAL (SELECT floor(${d.scale} * power((k - 1)::float8 / c.n, 1.5))::int + 1 AS lo,
                               floor(${d.scale} * power(k::float8 / c.n, 1.5))::int AS hi) b
    WHERE b.hi >= b.lo`;
}

/** likes of users lo..hi ($1..$2): user_id, post_id, created_at, k (1..60). */
function likesOf(d: Dims): string {
  return `
    SELECT g.user_id, g.post_id, ${ANCHOR} - floor(${postAgeMs(d, 'g.post_id')} * ${r('g.user_id', '4000 + g.k')}) * interval '1 millisecond' AS created_at, g.k
    FROM (
      SELECT u AS user_id, ${d.posts} - b.lo - ${h('u', '3000 + k')} % (b.hi - b.lo + 1) AS post_id, k
      FROM generate_series($1::int, $2::int) u
      CROSS JOIN LATERAL (SELECT ${h('u', 5)} % 61 AS n) c
      CROSS JOIN LATERAL generate_series(1, c.n) k
      CROSS JOIN LATERAL (SELECT floor(${d.posts} * power((k - 1)::float8 / c.n, 2))::int AS lo,
                                 floor(${d.posts} * power(k::float8 / c.n, 2))::int - 1 AS hi) b
      WHERE b.hi >= b.lo
    ) g`;
}

interface Unit {
  /** What the progress line counts ("follows" counts the users whose follows are in). */
  label: string;
  lo: number;
  hi: number;
  /** One statement for rows lo..hi ($1, $2) that answers one row of counts, one column per table it filled. */
  sql: string;
}

type TableName = (typeof APP_TABLES)[number];

function units(d: Dims): Unit[] {
  const out: Unit[] = [];
  const chunks = (label: string, total: number, size: number, sql: string) => {
    for (let lo = 1; lo <= total; lo += size) out.push({ label, lo, hi: Math.min(total, lo + size - 1), sql });
  };
  const userChunk = Math.max(1000, Math.ceil(d.scale / 8));
  chunks(
    'users',
    d.scale,
    Math.max(1000, Math.ceil(d.scale / 2)),
    `WITH ins AS (
       INSERT INTO users (id, name, email, created_at)
       SELECT u, ${pick(FIRST, 'u', 1)} || ' ' || ${pick(LAST, 'u', 2)}, 'user' || u || '@example.com',
              ${ANCHOR} - (${h('u', 3)} % (730 * 86400)) * interval '1 second'
       FROM generate_series($1::int, $2::int) u
       RETURNING 1)
     SELECT count(*)::int AS users FROM ins`,
  );
  chunks(
    'posts',
    d.posts,
    Math.max(4000, Math.ceil(d.posts / 4)),
    `WITH ins AS (
       INSERT INTO posts (id, user_id, content, image_url, created_at)
       SELECT i, ${postAuthor(d, 'i')}, ${pick(OPENERS, 'i', 11)} || ' ' || ${pick(TOPICS, 'i', 12)} || ' ' || ${pick(TAILS, 'i', 13)},
              CASE WHEN ${h('i', 15)} % 4 = 0 THEN 'https://images.example/seed/' || i || '.jpg' END,
              ${ANCHOR} - ${postAgeMs(d, 'i')} * interval '1 millisecond'
       FROM generate_series($1::int, $2::int) i
       RETURNING 1)
     SELECT count(*)::int AS posts FROM ins`,
  );
  // Each follow and each like is generated once and written twice: as itself and as its notification.
  // Notification ids are (sender · 64 + k) for follows and ((scale + 1 + sender) · 64 + k) for likes: unique and
  // deterministic without a shared counter, so the chunks can run in any order on any connection.
  chunks(
    'follows',
    d.scale,
    userChunk,
    `WITH f AS MATERIALIZED (SELECT * FROM (${followsOf(d)}) g WHERE followee_id <> follower_id),
     a AS (INSERT INTO follows (follower_id, followee_id, created_at) SELECT follower_id, followee_id, created_at FROM f RETURNING 1),
     b AS (INSERT INTO notifications (id, user_id, sender_id, kind, post_id, created_at)
           SELECT follower_id::bigint * 64 + k, followee_id, follower_id, 'follow', NULL, created_at FROM f RETURNING 1)
     SELECT (SELECT count(*)::int FROM a) AS follows, (SELECT count(*)::int FROM b) AS notifications`,
  );
  chunks(
    'likes',
    d.scale,
    userChunk,
    `WITH l AS MATERIALIZED (${likesOf(d)}),
     a AS (INSERT INTO likes (user_id, post_id, created_at) SELECT user_id, post_id, created_at FROM l RETURNING 1),
     b AS (INSERT INTO notifications (id, user_id, sender_id, kind, post_id, created_at)
           SELECT (${d.scale + 1} + user_id)::bigint * 64 + k, author, user_id, 'like', post_id, created_at
           FROM l CROSS JOIN LATERAL (SELECT ${postAuthor(d, 'l.post_id')} AS author) x
           WHERE author <> user_id
           RETURNING 1)
     SELECT (SELECT count(*)::int FROM a) AS likes, (SELECT count(*)::int FROM b) AS notifications`,
  );
  return out;
}

// ---------------------------------------------------------------------------------------------------------------

interface Marker extends SeedCounts {
  generator: number;
}

async function readMarker(db: pg.ClientBase): Promise<Marker | null> {
  const { rows } = await db.query<Marker>(
    `SELECT scale, generator, users, posts, follows::float8 AS follows, likes::float8 AS likes,
            notifications::float8 AS notifications
     FROM looplens_seed WHERE id = 1`,
  );
  return rows[0] ?? null;
}

/** Run `work` for each item on `n` connections at once, in order of the list. */
async function runOn<T>(conns: pg.Client[], items: readonly T[], work: (db: pg.Client, item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown = null;
  await Promise.all(
    conns.map(async (db) => {
      while (failed === null && next < items.length) {
        const item = items[next++];
        try {
          await work(db, item);
        } catch (err) {
          failed ??= err;
        }
      }
    }),
  );
  if (failed !== null) throw failed;
}

function checkScale(scale: number): void {
  if (!Number.isInteger(scale) || scale < 10 || scale > MAX_SCALE) {
    throw new RangeError(`scale must be an integer between 10 and ${MAX_SCALE} (users), got ${scale}`);
  }
}

/**
 * Creates the database if needed, then seeds it at `scale` users unless the marker table says it already holds
 * exactly that (same scale, same generator version). Idempotent; a half-finished seed leaves no marker and is
 * redone from scratch.
 */
export async function seed(options: SeedOptions): Promise<SeedResult> {
  const scale = options.scale ?? DEFAULT_SCALE;
  checkScale(scale);
  const say = options.onProgress ?? (() => {});
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);

  await ensureDatabase(options.databaseUrl);
  const conns: pg.Client[] = [];
  for (let i = 0; i < Math.max(1, options.connections ?? 2); i++) conns.push(await connectOnce(options.databaseUrl));
  const [main] = conns;
  try {
    await main.query('SELECT pg_advisory_lock($1)', [SCHEMA_LOCK]);
    await main.query(TABLES_SQL);
    const marker = await readMarker(main);
    if (!options.force && marker && marker.scale === scale && marker.generator === GENERATOR_VERSION) {
      say(`seed: already seeded at scale ${scale} (generator ${GENERATOR_VERSION}), nothing to do`);
      const { generator: _generator, ...counts } = marker;
      return { ...counts, skipped: true, ms: ms() };
    }

    say(`seed: scale ${scale}: recreating the tables`);
    await main.query(`DELETE FROM looplens_seed; DROP TABLE IF EXISTS ${APP_TABLES.join(', ')} CASCADE`);
    await main.query(TABLES_SQL);
    for (const db of conns) {
      // this session only: the seed is redone from scratch if the server dies, so it need not wait for the disk
      await db.query(`SET synchronous_commit = off; SET work_mem = '64MB'; SET maintenance_work_mem = '256MB'; SET synchronize_seqscans = off`);
    }

    const d = dims(scale);
    const rows: Record<TableName, number> = { users: 0, posts: 0, follows: 0, likes: 0, notifications: 0 };
    const done = new Map<string, number>();
    const totals = new Map<string, number>();
    const work = units(d);
    for (const u of work) totals.set(u.label, (totals.get(u.label) ?? 0) + (u.hi - u.lo + 1));
    await runOn(conns, work, async (db, unit) => {
      const res = await db.query<Partial<Record<TableName, number>>>(unit.sql, [unit.lo, unit.hi]);
      for (const [table, n] of Object.entries(res.rows[0] ?? {})) rows[table as TableName] += n ?? 0;
      const n = (done.get(unit.label) ?? 0) + (unit.hi - unit.lo + 1);
      done.set(unit.label, n);
      say(`seed: ${unit.label} ${n}/${totals.get(unit.label)} (${(ms() / 1000).toFixed(1)} s)`);
    });

    // keys and indexes: the biggest table on one connection, the rest on the other
    const have = await existingConstraintNames(main);
    const todo = CONSTRAINTS.filter((c) => !have.has(c.name));
    const indexes = todo.filter((c) => c.kind === 'index' || c.name.endsWith('_pkey'));
    const byTable = (table: string): Constraint[] => indexes.filter((c) => c.table === table);
    const groups = [byTable('notifications'), byTable('likes'), byTable('follows'), [...byTable('users'), ...byTable('posts')]];
    let built = 0;
    await runOn(conns, groups, async (db, group) => {
      for (const c of group) {
        await db.query(c.sql);
        say(`seed: indexes ${++built}/${indexes.length} (${c.name}, ${(ms() / 1000).toFixed(1)} s)`);
      }
    });
    for (const c of todo.filter((c) => !indexes.includes(c))) await main.query(c.sql);
    say(`seed: constraints ${todo.length - indexes.length} added`);

    await main.query(`
      SELECT setval(pg_get_serial_sequence('users', 'id'), GREATEST((SELECT max(id) FROM users), 1));
      SELECT setval(pg_get_serial_sequence('posts', 'id'), GREATEST((SELECT max(id) FROM posts), 1));
      SELECT setval(pg_get_serial_sequence('notifications', 'id'), GREATEST((SELECT max(id) FROM notifications), 1));`);
    await runOn(conns, [...APP_TABLES], (db, table) => db.query(`ANALYZE ${table}`).then(() => {}));
    say(`seed: analyzed (${(ms() / 1000).toFixed(1)} s)`);

    const counts: SeedCounts = { scale, users: rows.users, posts: rows.posts, follows: rows.follows, likes: rows.likes, notifications: rows.notifications };
    await main.query(
      `INSERT INTO looplens_seed (id, scale, generator, users, posts, follows, likes, notifications, ms)
       VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8)`,
      [scale, GENERATOR_VERSION, counts.users, counts.posts, counts.follows, counts.likes, counts.notifications, ms()],
    );
    say(`seed: done: ${counts.users} users, ${counts.posts} posts, ${counts.follows} follows, ${counts.likes} likes, ${counts.notifications} notifications in ${(ms() / 1000).toFixed(1)} s`);
    return { ...counts, skipped: false, ms: ms() };
  } finally {
    await main.query('SELECT pg_advisory_unlock_all()').catch(() => {});
    await Promise.all(conns.map((c) => c.end().catch(() => {})));
  }
}

/**
 * Removes everything the app wrote since seeding (rows dated after the anchor, ids past the seeded ones) and
 * rewinds the id sequences, so every stage of a lab, and every test, starts from the same data.
 */
export async function reset(databaseUrl: string): Promise<void> {
  const db = await connectOnce(databaseUrl);
  try {
    const marker = await readMarker(db).catch(() => null);
    if (!marker) return;
    await db.query(
      `BEGIN;
       DELETE FROM notifications WHERE created_at > ${ANCHOR};
       DELETE FROM likes WHERE created_at > ${ANCHOR};
       DELETE FROM follows WHERE created_at > ${ANCHOR};
       DELETE FROM posts WHERE id > ${marker.posts};
       DELETE FROM users WHERE id > ${marker.users};
       SELECT setval(pg_get_serial_sequence('users', 'id'), GREATEST(${marker.users}, 1));
       SELECT setval(pg_get_serial_sequence('posts', 'id'), GREATEST(${marker.posts}, 1));
       SELECT setval(pg_get_serial_sequence('notifications', 'id'), GREATEST((SELECT max(id) FROM notifications), 1));
       COMMIT;`,
    );
  } finally {
    await db.end().catch(() => {});
  }
}

/** The seed marker as the app sees it (null when the database was never seeded). */
export async function seedInfo(db: Queryable): Promise<(SeedCounts & { seededAt: string }) | null> {
  const { rows } = await db
    .query<SeedCounts & { seededAt: Date }>(
      `SELECT scale, users, posts, follows::float8 AS follows, likes::float8 AS likes, notifications::float8 AS notifications,
              seeded_at AS "seededAt" FROM looplens_seed WHERE id = 1`,
    )
    .catch(() => ({ rows: [] as (SeedCounts & { seededAt: Date })[] }));
  const m = rows[0];
  return m ? { ...m, seededAt: m.seededAt.toISOString() } : null;
}
