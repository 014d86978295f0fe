/**
 * The seeder: a deterministic social network of `scale` users, generated inside PostgreSQL: one set-based
 * CREATE TABLE … AS SELECT over generate_series per table, the tables spread over two connections, then keys,
 * indexes, VACUUM (FREEZE, ANALYZE). Every "random" choice is hashint8extended(key, salt), so the same scale always
 * gives the same rows, ids included, however the work is split between connections.
 *
 * Where the time goes at 150,000 users (2-core VM, PostgreSQL 15, ~45 CPU-seconds in the server): writing the
 * 20 M rows, then the index builds — the notifications (user_id, created_at DESC, id DESC) sort alone is ~9 s.
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
import { connectOnce, ensureDatabase, maintenanceUrl } from './connection.js';
import type { Queryable } from './queries.js';
import { APP_TABLES, CONSTRAINTS, TABLES_SQL, existingConstraintNames, lockSchema } from './schema.js';

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

/** follows of every user: follower_id, followee_id, created_at, k (the follow's number, 1..50). */
function followsOf(d: Dims): string {
  return `
    SELECT u AS follower_id, b.lo + ${h('u', '1000 + k')} % (b.hi - b.lo + 1) AS followee_id,
           ${ANCHOR} - (${h('u', '2000 + k')} % (365 * 86400)) * interval '1 second' AS created_at, k
    FROM generate_series(1, ${d.scale}) u
    CROSS JOIN LATERAL (SELECT 20 + ${h('u', 4)} % 31 AS n) c
    CROSS JOIN LATERAL generate_series(1, c.n) k
    CROSS JOIN LATERAL (SELECT floor(${d.scale} * power((k - 1)::float8 / c.n, 1.5))::int + 1 AS lo,
                               floor(${d.scale} * power(k::float8 / c.n, 1.5))::int AS hi) b
    WHERE b.hi >= b.lo`;
}

/** likes of every user: user_id, post_id, created_at, k (1..60). */
function likesOf(d: Dims): string {
  return `
    SELECT g.user_id, g.post_id, ${ANCHOR} - floor(${postAgeMs(d, 'g.post_id')} * ${r('g.user_id', '4000 + g.k')}) * interval '1 millisecond' AS created_at, g.k
    FROM (
      SELECT u AS user_id, ${d.posts} - b.lo - ${h('u', '3000 + k')} % (b.hi - b.lo + 1) AS post_id, k
      FROM generate_series(1, ${d.scale}) u
      CROSS JOIN LATERAL (SELECT ${h('u', 5)} % 61 AS n) c
      CROSS JOIN LATERAL generate_series(1, c.n) k
      CROSS JOIN LATERAL (SELECT floor(${d.posts} * power((k - 1)::float8 / c.n, 2))::int AS lo,
                                 floor(${d.posts} * power(k::float8 / c.n, 2))::int - 1 AS hi) b
      WHERE b.hi >= b.lo
    ) g`;
}

type TableName = (typeof APP_TABLES)[number];

/** Casts to the column types of TABLES_SQL, so a table built by CREATE TABLE … AS has exactly their types. */
const int = (x: string) => `(${x})::integer`;
const ms3 = (x: string) => `(${x})::timestamptz(3)`;

interface Build {
  table: TableName;
  /** Rows it writes, roughly: the longest builds are started first. */
  weight: number;
  /** CREATE TABLE <table> AS SELECT …: the columns of TABLES_SQL, in its order, with its types. */
  sql: string;
  /** The NOT NULL, IDENTITY and DEFAULT clauses of TABLES_SQL, added after the load. */
  alter: string;
}

/**
 * One CREATE TABLE … AS SELECT per table. CREATE TABLE AS writes through a bulk-insert state (no free-space search
 * per row, a ring buffer), measured ~40 % cheaper per row than the INSERT … SELECT this seeder used before, and the
 * tables share nothing, so two connections never contend for one table's extension lock. Each follow and like is
 * generated twice, once for its own table and once for its notification, which is cheaper than reading it back.
 */
function builds(d: Dims): Build[] {
  const follows = `(${followsOf(d)}) f WHERE followee_id <> follower_id`;
  const likes = `(${likesOf(d)}) l`;
  const createdAt = `created_at SET NOT NULL, ALTER created_at SET DEFAULT now()`;
  return [
    {
      table: 'notifications',
      weight: 65 * d.scale,
      // Notification ids are (sender · 64 + k) for follows and ((scale + 1 + sender) · 64 + k) for likes: unique and
      // deterministic without a shared counter.
      sql: `CREATE TABLE notifications AS
        SELECT ${int('follower_id::bigint * 64 + k')} AS id, ${int('followee_id')} AS user_id, ${int('follower_id')} AS sender_id,
               'follow'::text AS kind, NULL::integer AS post_id, ${ms3('created_at')} AS created_at
        FROM ${follows}
        UNION ALL
        SELECT ${int(`(${d.scale + 1} + user_id)::bigint * 64 + k`)}, ${int('author')}, ${int('user_id')}, 'like', ${int('post_id')}, ${ms3('created_at')}
        FROM ${likes} CROSS JOIN LATERAL (SELECT ${postAuthor(d, 'l.post_id')} AS author) x
        WHERE author <> user_id`,
      alter: `ALTER TABLE notifications ALTER id SET NOT NULL, ALTER user_id SET NOT NULL, ALTER sender_id SET NOT NULL,
        ALTER kind SET NOT NULL, ALTER ${createdAt}, ALTER id ADD GENERATED BY DEFAULT AS IDENTITY`,
    },
    {
      table: 'follows',
      weight: 35 * d.scale,
      sql: `CREATE TABLE follows AS
        SELECT ${int('follower_id')} AS follower_id, ${int('followee_id')} AS followee_id, ${ms3('created_at')} AS created_at FROM ${follows}`,
      alter: `ALTER TABLE follows ALTER follower_id SET NOT NULL, ALTER followee_id SET NOT NULL, ALTER ${createdAt}`,
    },
    {
      table: 'likes',
      weight: 30 * d.scale,
      sql: `CREATE TABLE likes AS SELECT ${int('user_id')} AS user_id, ${int('post_id')} AS post_id, ${ms3('created_at')} AS created_at FROM ${likes}`,
      alter: `ALTER TABLE likes ALTER user_id SET NOT NULL, ALTER post_id SET NOT NULL, ALTER ${createdAt}`,
    },
    {
      table: 'posts',
      weight: d.posts,
      sql: `CREATE TABLE posts AS
        SELECT ${int('i')} AS id, ${int(postAuthor(d, 'i'))} AS user_id,
               ${pick(OPENERS, 'i', 11)} || ' ' || ${pick(TOPICS, 'i', 12)} || ' ' || ${pick(TAILS, 'i', 13)} AS content,
               CASE WHEN ${h('i', 15)} % 4 = 0 THEN 'https://images.example/seed/' || i || '.jpg' END AS image_url,
               ${ms3(`${ANCHOR} - ${postAgeMs(d, 'i')} * interval '1 millisecond'`)} AS created_at
        FROM generate_series(1, ${d.posts}) i`,
      alter: `ALTER TABLE posts ALTER id SET NOT NULL, ALTER user_id SET NOT NULL, ALTER content SET NOT NULL, ALTER ${createdAt},
        ALTER id ADD GENERATED BY DEFAULT AS IDENTITY`,
    },
    {
      table: 'users',
      weight: d.scale,
      sql: `CREATE TABLE users AS
        SELECT ${int('u')} AS id, ${pick(FIRST, 'u', 1)} || ' ' || ${pick(LAST, 'u', 2)} AS name, 'user' || u || '@example.com' AS email,
               ${ms3(`${ANCHOR} - (${h('u', 3)} % (730 * 86400)) * interval '1 second'`)} AS created_at
        FROM generate_series(1, ${d.scale}) u`,
      alter: `ALTER TABLE users ALTER id SET NOT NULL, ALTER name SET NOT NULL, ALTER email SET NOT NULL, ALTER ${createdAt},
        ALTER id ADD GENERATED BY DEFAULT AS IDENTITY`,
    },
  ];
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
  for (let i = 0; i < Math.max(1, options.connections ?? 2); i++) conns.push(await seedConnection(options.databaseUrl));
  const [main] = conns;
  try {
    await lockSchema(main, say);
    await main.query(TABLES_SQL);
    const marker = await readMarker(main);
    if (!options.force && marker && marker.scale === scale && marker.generator === GENERATOR_VERSION) {
      say(`seed: already seeded at scale ${scale} (generator ${GENERATOR_VERSION}), nothing to do`);
      const { generator: _generator, ...counts } = marker;
      return { ...counts, skipped: true, ms: ms() };
    }

    say(`seed: scale ${scale}: recreating the tables`);
    await main.query(`DELETE FROM looplens_seed; DROP TABLE IF EXISTS ${APP_TABLES.join(', ')} CASCADE`);
    // the largest index sort (notifications, ~65 entries per user at ~72 bytes each) fits in memory, up to 1 GB
    const sortMb = Math.min(1024, Math.max(64, Math.ceil((scale * 65 * 72) / 2 ** 20)));
    for (const db of conns) {
      // this session only: the seed is redone from scratch if the server dies, so it need not wait for the disk
      await db.query(`SET synchronous_commit = off; SET work_mem = '64MB'; SET maintenance_work_mem = '${sortMb}MB'; SET synchronize_seqscans = off`);
    }

    const d = dims(scale);
    const rows: Record<TableName, number> = { users: 0, posts: 0, follows: 0, likes: 0, notifications: 0 };
    const have = await existingConstraintNames(main);
    const todo = CONSTRAINTS.filter((c) => !have.has(c.name));
    const indexes = todo.filter((c) => c.kind === 'index' || c.name.endsWith('_pkey'));
    let built = 0;
    // per table: load, column clauses, its keys and indexes; the largest tables first, each on the next free connection
    const jobs = builds(d).sort((a, b) => b.weight - a.weight);
    say(`seed: building ${jobs.map((j) => j.table).join(', ')} on ${conns.length} connection${conns.length === 1 ? '' : 's'}`);
    await runOn(conns, jobs, async (db, job) => {
      rows[job.table] = (await db.query(job.sql)).rowCount ?? 0;
      await db.query(job.alter);
      say(`seed: ${job.table} ${rows[job.table]} rows (${fmtS(ms())} s)`);
      for (const c of indexes.filter((c) => c.table === job.table)) {
        await db.query(c.sql);
        say(`seed: indexes ${++built}/${indexes.length} (${c.name}, ${fmtS(ms())} s)`);
      }
    });
    for (const c of todo.filter((c) => !indexes.includes(c))) await main.query(c.sql);
    say(`seed: constraints ${todo.length - indexes.length} added`);

    await main.query(`
      SELECT setval(pg_get_serial_sequence('users', 'id'), GREATEST((SELECT max(id) FROM users), 1));
      SELECT setval(pg_get_serial_sequence('posts', 'id'), GREATEST((SELECT max(id) FROM posts), 1));
      SELECT setval(pg_get_serial_sequence('notifications', 'id'), GREATEST((SELECT max(id) FROM notifications), 1));`);
    // Frozen and all-visible now, once every table is loaded (an open load elsewhere would hold the horizon back):
    // otherwise autovacuum does this in the background during the first lab on this data — and on every database
    // cloned from it — and index-only scans fetch heap pages until it has.
    // VACUUM marks a page all-visible only once its rows' commits are on disk, and the loads committed with
    // synchronous_commit off: one synchronous commit flushes the WAL up to here first (it must write WAL of its own
    // and have an xid, or PostgreSQL commits it asynchronously too — hence the temporary table). From here on every
    // commit is synchronous: an asynchronous one (ANALYZE's) would mark its neighbours' commits in the commit log as
    // not yet flushed again, and VACUUM would skip their pages.
    for (const db of conns) await db.query('SET synchronous_commit = on');
    await main.query('CREATE TEMP TABLE looplens_seed_flush (); DROP TABLE looplens_seed_flush');
    await runOn(conns, [...APP_TABLES], (db, table) => db.query(`VACUUM (FREEZE, ANALYZE) ${table}`).then(() => {}));
    say(`seed: vacuumed and analyzed (${fmtS(ms())} s)`);

    const counts: SeedCounts = { scale, users: rows.users, posts: rows.posts, follows: rows.follows, likes: rows.likes, notifications: rows.notifications };
    await main.query(
      `INSERT INTO looplens_seed (id, scale, generator, users, posts, follows, likes, notifications, ms)
       VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8)`,
      [scale, GENERATOR_VERSION, counts.users, counts.posts, counts.follows, counts.likes, counts.notifications, ms()],
    );
    say(`seed: done: ${counts.users} users, ${counts.posts} posts, ${counts.follows} follows, ${counts.likes} likes, ${counts.notifications} notifications in ${fmtS(ms())} s`);
    return { ...counts, skipped: false, ms: ms() };
  } finally {
    await main.query('SELECT pg_advisory_unlock_all()').catch(() => {});
    await Promise.all(conns.map((c) => c.end().catch(() => {})));
  }
}

const fmtS = (ms: number) => (ms / 1000).toFixed(1);

/** application_name of the seeder's connections: `looplens-seed/<pid>` (see terminateSeed). */
export function seedApplicationName(pid = process.pid): string {
  return `looplens-seed/${pid}`;
}

/**
 * A connection for the seed. Named, so looplens can end its statements when it stops the seeder
 * (terminateSeed), and (PostgreSQL 14+, Linux) told to check every second that the seeder is still there: a seeder
 * that dies mid-statement — killed, Ctrl-C — gets its statement cancelled and its locks released within a second,
 * instead of the server running it to the end while the next seed waits on the lock.
 */
async function seedConnection(url: string): Promise<pg.Client> {
  const db = await connectOnce(url);
  await db.query(`SET application_name = '${seedApplicationName()}'`);
  await db.query(`SET client_connection_check_interval = '1s'`).catch(() => {}); // older servers: terminateSeed only
  return db;
}

/**
 * Ends the statements of seeder `pid` (its connections, by application_name) and waits until they are gone, up to
 * `timeoutMs`. For the process that started the seeder, once the seeder is stopped. Returns how many it ended.
 */
export async function terminateSeed(databaseUrl: string, pid: number, timeoutMs = 5000): Promise<number> {
  const admin = await connectOnce(maintenanceUrl(databaseUrl));
  try {
    const name = seedApplicationName(pid);
    const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()', [name]);
    if (rows.length === 0) return 0;
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()', [name]);
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const left = await admin.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [name]);
      if (!left.rowCount) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return rows.length;
  } finally {
    await admin.end().catch(() => {});
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
