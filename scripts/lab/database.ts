/**
 * Every lab starts from the same data: the seeded database is a template, and each lab runs on a clone of it
 * (`CREATE DATABASE <db>_lab_<pid>_<time> TEMPLATE <db>`, file copy), dropped when the lab ends. So one lab's writes
 * (posts, likes, notifications) never reach the next, two labs at once never share rows, and — since the reference
 * app's cache namespace starts with the database name (target-app/cache.ts, cacheKeyPrefix) — never share cache
 * entries either; the cached stage starts cold every time.
 *
 * A lab killed before it could drop its clone leaves it behind: while a lab runs, its session on the maintenance
 * database holds an advisory lock named after its clone, so the next lab drops every clone whose lock is free.
 * When cloning is impossible (no CREATEDB right, or the seeded database stays in use by another session), the lab
 * runs on the seeded database itself after removing what earlier runs wrote (reset()), and says so.
 */
import pg from 'pg';
import { connectOnce, databaseName, maintenanceUrl, redactUrl } from '../../target-app/db/connection.js';
import { reset } from '../../target-app/db/seed.js';
import { cacheKeyPrefix } from '../../target-app/cache.js';

export interface LabDatabase {
  /** DATABASE_URL for the stages. */
  url: string;
  /** Its database name (the reference app's cache namespace starts with it). */
  name: string;
  /** 'clone': a database of this lab's own; 'shared': the seeded one, reset first (see note). */
  kind: 'clone' | 'shared';
  /** For lab.md, when the lab could not have a clone. */
  note?: string;
  /** Drops the clone (nothing for 'shared'). Idempotent. */
  drop(): Promise<void>;
}

/** Clone names: `<db>_lab_<pid>_<base36 ms>`, at most 63 bytes (PostgreSQL's identifier limit). */
export function cloneName(seeded: string, pid = process.pid, now = Date.now()): string {
  const tail = `_lab_${pid}_${now.toString(36)}`;
  return seeded.slice(0, 63 - tail.length) + tail;
}

const LOCK = 'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok';
const UNLOCK = 'SELECT pg_advisory_unlock(hashtextextended($1, 0))';
/** "source database is being accessed by other users": the seeder's sessions may take a moment to go. */
const IN_USE = '55006';

/** Drops the clones of `seeded` no running lab holds (left by labs that were killed). Returns their names. */
export async function dropStaleClones(admin: pg.Client, seeded: string): Promise<string[]> {
  const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE '%\\_lab\\_%'`);
  const dropped: string[] = [];
  for (const { datname } of rows) {
    // a clone of exactly this database: <seeded, cut as cloneName cuts it>_lab_<pid>_<time>
    const tail = /_lab_\d+_[0-9a-z]+$/.exec(datname)?.[0];
    if (!tail || datname !== seeded.slice(0, 63 - tail.length) + tail) continue;
    const { rows: got } = await admin.query<{ ok: boolean }>(LOCK, [datname]);
    if (!got[0]?.ok) continue; // a live lab's
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
      dropped.push(datname);
    } finally {
      await admin.query(UNLOCK, [datname]);
    }
  }
  return dropped;
}

/** PostgreSQL's version as a number (150020 for 15.20). */
export async function serverVersionNum(db: pg.ClientBase): Promise<number> {
  return Number((await db.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]?.v ?? 0);
}

/**
 * `empty`: a lab whose routes never read the data (a story lab: `looplens lab --story`) gets an empty database of its
 * own instead of a copy of the seeded one (the app migrates it at start), named and dropped like a clone; nothing
 * needs seeding first.
 */
export async function labDatabase(seededUrl: string, log: (line: string) => void, options: { retryMs?: number; empty?: boolean } = {}): Promise<LabDatabase> {
  const seeded = databaseName(seededUrl);
  const admin = await connectOnce(maintenanceUrl(seededUrl));
  let keep = false;
  try {
    const stale = await dropStaleClones(admin, seeded).catch(() => []);
    if (stale.length) log(`dropped ${stale.length} lab database${stale.length === 1 ? '' : 's'} left by interrupted labs (${stale.join(', ')})`);
    const name = cloneName(seeded);
    await admin.query(LOCK, [name]);
    const version = await serverVersionNum(admin);
    // FILE_COPY (PostgreSQL 15+; the only way before): copies the files instead of writing them all to the WAL
    const create = options.empty
      ? `CREATE DATABASE ${pg.escapeIdentifier(name)}`
      : `CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE ${pg.escapeIdentifier(seeded)}${version >= 150000 ? ' STRATEGY FILE_COPY' : ''}`;
    // (each CREATE DATABASE itself waits up to 5 s for other sessions to leave before it fails)
    const until = Date.now() + (options.retryMs ?? 5000);
    let why = '';
    for (;;) {
      try {
        await admin.query(create);
        break;
      } catch (err) {
        const code = (err as { code?: string }).code;
        why = (err as Error).message;
        if (code === IN_USE && Date.now() < until) {
          await new Promise((r) => setTimeout(r, 250));
          continue;
        }
        await admin.query(UNLOCK, [name]).catch(() => {});
        if (options.empty) return unread(seededUrl, seeded, why);
        return await shared(seededUrl, seeded, why);
      }
    }
    const u = new URL(seededUrl);
    u.pathname = `/${encodeURIComponent(name)}`;
    keep = true;
    let dropped = false;
    return {
      url: u.toString(),
      name,
      kind: 'clone',
      drop: async () => {
        if (dropped) return;
        dropped = true;
        try {
          await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
        } finally {
          await admin.end().catch(() => {});
        }
      },
    };
  } finally {
    if (!keep) await admin.end().catch(() => {});
  }
}

/** An empty database could not be made: the lab runs on the configured one, which its routes never read. */
function unread(url: string, name: string, why: string): LabDatabase {
  return {
    url,
    name,
    kind: 'shared',
    note: `could not give this lab an empty database of its own (${why.split('\n')[0]}): the app ran on ${redactUrl(url)}, which its routes never read`,
    drop: async () => {},
  };
}

async function shared(seededUrl: string, seeded: string, why: string): Promise<LabDatabase> {
  await reset(seededUrl);
  return {
    url: seededUrl,
    name: seeded,
    kind: 'shared',
    note: `could not give this lab a copy of ${redactUrl(seededUrl)} (${why.split('\n')[0]}): it ran on that database itself, after removing what earlier runs wrote; a run there at the same time would share its rows and cache entries`,
    drop: async () => {},
  };
}

/**
 * Deletes the reference app's cache entries for database `name` (its keys only, by prefix, never a FLUSHDB), so a
 * lab's cached stage never meets an earlier lab's entries. Returns how many keys went; Redis errors are ignored
 * (the lab checked Redis already; a stage would say it runs without its cache).
 */
export async function clearCacheOf(redisUrl: string, name: string): Promise<number> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 });
  redis.on('error', () => {});
  let n = 0;
  try {
    await redis.connect();
    // glob characters in a database name match only themselves
    const pattern = cacheKeyPrefix(name).replace(/[*?[\]\\]/g, '\\$&') + '*';
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length) n += await redis.unlink(...keys);
    } while (cursor !== '0');
  } catch {
    /* see above */
  } finally {
    redis.disconnect();
  }
  return n;
}
