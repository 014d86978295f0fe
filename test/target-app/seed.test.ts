/**
 * The seeder: deterministic (same rows, ids included, however the work is split), idempotent (skips a database
 * already seeded at that scale), realistic in shape, and usable as a child process with a JSON result.
 */
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { SCHEMA_LOCK, migrate } from '../../target-app/db/schema.js';
import { GENERATOR_VERSION, SEED_ANCHOR, reset, seed, seedApplicationName, terminateSeed } from '../../target-app/db/seed.js';
import { distFile, dropTestDatabase, query, run, testDatabaseUrl } from './helpers.js';

const A = 'seed_a';
const B = 'seed_b';
const EMPTY = 'seed_schema';
const KILLED = 'seed_killed';

/** Columns, keys, checks and indexes of the public schema, as PostgreSQL describes them. */
async function schemaOf(url: string): Promise<Record<string, unknown>> {
  const columns = await query(
    url,
    `SELECT table_name, column_name, ordinal_position, data_type, datetime_precision, is_nullable, column_default, is_identity, identity_generation
     FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
  );
  const constraints = await query(
    url,
    `SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def, convalidated
     FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY conrelid::regclass::text, conname`,
  );
  const indexes = await query(url, `SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY tablename, indexname`);
  const persistence = await query(url, `SELECT relname, relpersistence FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY relname`);
  return { columns, constraints, indexes, persistence };
}

async function checksums(url: string): Promise<Record<string, string>> {
  const [row] = await query<Record<string, string>>(
    url,
    `SELECT (SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM users t) AS users,
            (SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM posts t) AS posts,
            (SELECT md5(string_agg(t::text, ',' ORDER BY follower_id, followee_id)) FROM follows t) AS follows,
            (SELECT md5(string_agg(t::text, ',' ORDER BY user_id, post_id)) FROM likes t) AS likes,
            (SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM notifications t) AS notifications`,
  );
  return row;
}

afterAll(async () => {
  for (const db of [A, B, EMPTY, KILLED]) await dropTestDatabase(db);
});

describe('seed', () => {
  it('is deterministic and idempotent, with progress, and reset() removes what the app wrote', async () => {
    const lines: string[] = [];
    const first = await seed({ databaseUrl: testDatabaseUrl(A), scale: 600, onProgress: (l) => lines.push(l) });
    expect(first).toMatchObject({ scale: 600, users: 600, posts: 2400, skipped: false });
    expect(lines.some((l) => /^seed: users 600 rows/.test(l))).toBe(true);
    expect(lines.some((l) => /^seed: indexes 10\/10/.test(l))).toBe(true);
    // the same rows from one connection as from two
    const other = await seed({ databaseUrl: testDatabaseUrl(B), scale: 600, connections: 1 });
    expect(other).toMatchObject({ ...first, ms: other.ms });
    expect(await checksums(testDatabaseUrl(B))).toEqual(await checksums(testDatabaseUrl(A)));

    const again = await seed({ databaseUrl: testDatabaseUrl(A), scale: 600 });
    expect(again).toMatchObject({ ...first, skipped: true, ms: again.ms });
    expect(again.ms).toBeLessThan(first.ms);

    // realistic shape: 20–50 follows each, no self-follows, likes after their post, notifications for follows and likes
    const [shape] = await query<Record<string, number>>(
      testDatabaseUrl(A),
      `SELECT (SELECT min(c)::int FROM (SELECT count(*) c FROM follows GROUP BY follower_id) x) AS min_follows,
              (SELECT max(c)::int FROM (SELECT count(*) c FROM follows GROUP BY follower_id) x) AS max_follows,
              (SELECT count(*) FROM follows WHERE follower_id = followee_id)::int AS self_follows,
              (SELECT count(*) FROM likes l JOIN posts p ON p.id = l.post_id WHERE l.created_at < p.created_at)::int AS early_likes,
              (SELECT count(*) FROM notifications n LEFT JOIN likes l ON l.user_id = n.sender_id AND l.post_id = n.post_id
                 WHERE n.kind = 'like' AND l.user_id IS NULL)::int AS orphan_like_notifications,
              (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY c) FROM (SELECT count(*) c FROM notifications GROUP BY user_id) x)::int AS median_notifications,
              (SELECT max(created_at) FROM posts) <= timestamptz '${SEED_ANCHOR}' AS before_anchor`,
    );
    expect(shape).toMatchObject({ self_follows: 0, early_likes: 0, orphan_like_notifications: 0, before_anchor: true });
    expect(shape.min_follows).toBeGreaterThanOrEqual(15);
    expect(shape.max_follows).toBeLessThanOrEqual(50);
    expect(shape.median_notifications).toBeGreaterThanOrEqual(40);

    // app writes, then reset: back to the seeded rows exactly
    await query(testDatabaseUrl(A), "INSERT INTO posts (user_id, content) VALUES (1, 'written by the app')");
    await query(testDatabaseUrl(A), "INSERT INTO likes (user_id, post_id) VALUES (1, 2400) ON CONFLICT DO NOTHING");
    await query(testDatabaseUrl(A), "INSERT INTO notifications (user_id, sender_id, kind, post_id) VALUES (2, 1, 'like', 2400)");
    await reset(testDatabaseUrl(A));
    expect(await checksums(testDatabaseUrl(A))).toEqual(await checksums(testDatabaseUrl(B)));
    const [next] = await query<{ id: number }>(testDatabaseUrl(A), "INSERT INTO posts (user_id, content) VALUES (1, 'after reset') RETURNING id");
    expect(next.id).toBe(2401);
  });

  it('seed-main.js: migrates, seeds or skips, and ends with one JSON line; bad arguments exit 2', async () => {
    const main = distFile('target-app/db/seed-main.js');
    const env = { DATABASE_URL: testDatabaseUrl(B) };
    const skipped = run([main, '--scale', '600'], env);
    expect((await skipped.exited).code).toBe(0);
    const result = JSON.parse(skipped.stdout().trim().split('\n').pop()!);
    expect(result).toEqual({ scale: 600, users: 600, posts: 2400, follows: expect.any(Number), likes: expect.any(Number), notifications: expect.any(Number), skipped: true, ms: expect.any(Number) });
    expect(skipped.stderr()).toMatch(/already seeded at scale 600/);

    const migrateOnly = run([main, '--migrate-only'], env);
    expect((await migrateOnly.exited).code).toBe(0);
    const [marker] = await query<{ generator: number }>(testDatabaseUrl(B), 'SELECT generator FROM looplens_seed');
    expect(marker.generator).toBe(GENERATOR_VERSION);

    for (const args of [['--scale', 'many'], ['--nope']]) {
      const bad = run([main, ...args], env);
      expect((await bad.exited).code).toBe(2);
      expect(bad.stderr().trim().split('\n')).toHaveLength(1);
    }
    const noServer = run([main, '--scale', '600'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/looplens' });
    expect((await noServer.exited).code).toBe(1);
    expect(noServer.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^seed: PostgreSQL is not reachable at postgres:\/\/postgres@127\.0\.0\.1:1\/looplens \(ECONNREFUSED\)/)]);
  });

  it('builds exactly the schema migrate() creates (types, NOT NULL, defaults, identity, keys, indexes), vacuumed', async () => {
    await migrate(testDatabaseUrl(EMPTY));
    const seeded = await schemaOf(testDatabaseUrl(A));
    expect(seeded).toEqual(await schemaOf(testDatabaseUrl(EMPTY)));
    expect((seeded.columns as unknown[]).length).toBeGreaterThan(20);
    // every seeded page frozen and visible to all (no autovacuum debt for the lab, no heap fetches for index-only scans)
    const pages = await query<{ relname: string; relpages: number; relallvisible: number }>(
      testDatabaseUrl(B), // seeded and never written to (A had app writes, then reset())
      `SELECT relname, relpages, relallvisible FROM pg_class WHERE relname IN ('users', 'posts', 'follows', 'likes', 'notifications')`,
    );
    expect(pages).toHaveLength(5);
    for (const p of pages) expect(p.relallvisible, p.relname).toBe(p.relpages);
  });

  it('a seeder killed mid-statement leaves nothing running in PostgreSQL: the next seed neither waits nor sees a half seed', async () => {
    const url = testDatabaseUrl(KILLED);
    const main = distFile('target-app/db/seed-main.js');
    // big enough that its statements run for seconds; SIGSTOP keeps its sockets open, so only terminateSeed can end them
    const child = run([main, '--scale', '60000'], { DATABASE_URL: url });
    const until = Date.now() + 60_000;
    while (!/seed: building/.test(child.stderr()) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(child.stderr()).toMatch(/seed: building/);
    await new Promise((r) => setTimeout(r, 500));
    const name = seedApplicationName(child.child.pid!);
    const active = () => query<{ n: number }>(testDatabaseUrl(A), `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`, [name]);
    expect((await active())[0].n).toBeGreaterThan(0);
    process.kill(child.child.pid!, 'SIGSTOP');
    const ended = await terminateSeed(url, child.child.pid!);
    expect(ended).toBeGreaterThan(0);
    expect((await active())[0].n).toBe(0);
    process.kill(child.child.pid!, 'SIGKILL');
    process.kill(child.child.pid!, 'SIGCONT');
    await child.exited;

    // the next seed takes the lock at once and seeds from scratch
    const lines: string[] = [];
    const t = Date.now();
    const again = await seed({ databaseUrl: url, scale: 600, onProgress: (l) => lines.push(l) });
    expect(lines.filter((l) => /waiting/.test(l))).toEqual([]);
    expect(again).toMatchObject({ skipped: false, users: 600 });
    expect(Date.now() - t).toBeLessThan(20_000);
  }, 90_000);

  it('a seeder that dies (SIGKILL) mid-statement has its statement cancelled by the server within seconds', async () => {
    const url = testDatabaseUrl(KILLED);
    const main = distFile('target-app/db/seed-main.js');
    const child = run([main, '--scale', '60000', '--force'], { DATABASE_URL: url });
    const until = Date.now() + 60_000;
    while (!/seed: building/.test(child.stderr()) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    const name = seedApplicationName(child.child.pid!);
    process.kill(child.child.pid!, 'SIGKILL');
    await child.exited;
    // client_connection_check_interval = 1 s: the server notices the closed socket mid-statement and stops
    const gone = Date.now() + 5000;
    let left = 1;
    while (left > 0 && Date.now() < gone) {
      left = (await query<{ n: number }>(testDatabaseUrl(A), `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`, [name]))[0].n;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(left).toBe(0);
  }, 90_000);

  it('waits for a seed already running on the database, saying so and naming it, never silently', async () => {
    const url = testDatabaseUrl(KILLED);
    const holder = new pg.Client({ connectionString: url, application_name: 'looplens-seed/424242' });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [SCHEMA_LOCK]);
      const lines: string[] = [];
      const seeding = seed({ databaseUrl: url, scale: 600, onProgress: (l) => lines.push(l) });
      const until = Date.now() + 5000;
      while (!lines.some((l) => /waiting/.test(l)) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(lines.find((l) => /waiting/.test(l))).toMatch(/^seed: waiting for another seed or migration of this database to finish \(PostgreSQL backend \d+, looplens-seed\/424242/);
      await holder.query('SELECT pg_advisory_unlock($1)', [SCHEMA_LOCK]);
      expect((await seeding).users).toBe(600);
    } finally {
      await holder.end();
    }
  });

  it('migrate() is idempotent on an existing schema', async () => {
    await migrate(testDatabaseUrl(A));
    await migrate(testDatabaseUrl(A));
    const [c] = await query<{ n: number }>(testDatabaseUrl(A), "SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = 'public'");
    expect(c.n).toBe(11); // 5 primary keys, 5 indexes, the marker's key
  });
});
