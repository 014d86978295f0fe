/**
 * Cache-aside in Redis for per-user answers (timelines, notifications), with versioned invalidation.
 *
 * Keys: `<ns>:<kind>:<userId>:<variant>` holds {g, e, v}: the answer v, cached while the user's generation for
 * that kind was g and the global epoch was e. A write that changes a user's answers INCRs their generation
 * (`<ns>:gen:<kind>:<userId>`), so every cached variant of theirs is stale at once, with one command per user
 * (one Lua script: one command and one round trip for a post's whole audience) and no key scans. A read is one MGET (entry, generation,
 * epoch); an entry counts only if both still match. The generation is read *before* the database, so an entry
 * computed from data older than a concurrent write is written under the old generation and never served.
 * Entries also expire after `ttlSeconds` as a safety net.
 *
 * Redis down: reads go to PostgreSQL (the caller's loader) and writes to the cache are skipped — never an error
 * for the client. ioredis is set not to queue commands while disconnected, so nothing waits for a dead Redis.
 * Invalidations that could not be sent are remembered; on reconnect the epoch is bumped, which retires every
 * entry written before the outage.
 */
import { Redis } from 'ioredis';
import type { Logger } from './lib/log.js';

export interface CacheStats {
  hits: number;
  misses: number;
  /** Misses whose entry was there but retired by a write (generation or epoch moved on): what invalidation costs. */
  stale: number;
  /** Redis commands that failed (Redis down or slow); the request was answered from PostgreSQL. */
  errors: number;
  invalidations: number;
  /** hits, misses and stale misses per kind of answer read ("timeline", "notifications"). */
  byKind: Record<string, KindStats>;
}

export interface KindStats {
  hits: number;
  misses: number;
  stale: number;
}

/**
 * The start of every key the reference app writes for the data in database `name` (its namespace is this plus when
 * that database was seeded): a database cloned per lab gets keys of its own, and `looplens lab` deletes them by it.
 */
export function cacheKeyPrefix(databaseName: string): string {
  return `looplens:${databaseName}:`;
}

export interface CacheOptions {
  url: string;
  /** Key prefix: tells apart datasets sharing one Redis (e.g. the database name and when it was seeded). */
  namespace: string;
  ttlSeconds?: number;
  log: Logger;
  /** Per-command timeout, ms: a slow Redis costs at most this before the database answers. */
  commandTimeoutMs?: number;
}

interface Entry<T> {
  g: string;
  e: string;
  v: T;
}

/** How long a generation counter outlives the last write to it (much longer than any entry). */
const GENERATION_TTL_S = 86_400;

/** INCR + EXPIRE every generation key given, in one command (a Lua script runs atomically in Redis). */
const BUMP_GENERATIONS = `for i = 1, #KEYS do
  redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[1])
end
return #KEYS`;

export class ResponseCache {
  readonly #redis: Redis;
  readonly #ns: string;
  readonly #ttl: number;
  readonly #log: Logger;
  readonly #stats: Omit<CacheStats, 'byKind'> = { hits: 0, misses: 0, stale: 0, errors: 0, invalidations: 0 };
  readonly #byKind = new Map<string, KindStats>();
  /** An invalidation was lost while Redis was unreachable: bump the epoch once it is back. */
  #dirty = false;

  constructor(options: CacheOptions) {
    this.#ns = options.namespace;
    this.#ttl = options.ttlSeconds ?? 60;
    this.#log = options.log;
    this.#redis = new Redis(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 1000,
      commandTimeout: options.commandTimeoutMs ?? 500,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    this.#redis.on('error', (err: Error) => this.#log.warn('redis', `Redis unavailable (${err.message}): answering from PostgreSQL`));
    this.#redis.on('ready', () => void this.#afterOutage());
  }

  /** The cached answer for (kind, userId, variant), else load() — stored for the next reader. */
  async read<T>(kind: string, userId: number, variant: string | number, load: () => Promise<T>): Promise<T> {
    const key = `${this.#ns}:${kind}:${userId}:${variant}`;
    let generation = '0';
    let epoch = '0';
    let counts = this.#byKind.get(kind);
    if (!counts) this.#byKind.set(kind, (counts = { hits: 0, misses: 0, stale: 0 }));
    try {
      const [raw, g, e] = await this.#redis.mget(key, this.#genKey(kind, userId), `${this.#ns}:epoch`);
      generation = g ?? '0';
      epoch = e ?? '0';
      if (this.#dirty) {
        void this.#afterOutage(); // Redis answers again: retire what was cached before the lost invalidation
      } else if (raw) {
        const entry = JSON.parse(raw) as Entry<T>;
        if (entry.g === generation && entry.e === epoch) {
          this.#stats.hits++;
          counts.hits++;
          return entry.v;
        }
        this.#stats.stale++;
        counts.stale++;
      }
    } catch (err) {
      this.#failed(err);
      return load(); // Redis is not answering: PostgreSQL does, and nothing is cached
    }
    this.#stats.misses++;
    counts.misses++;
    const value = await load();
    const entry: Entry<T> = { g: generation, e: epoch, v: value };
    this.#redis.set(key, JSON.stringify(entry), 'EX', this.#ttl).catch((err: unknown) => this.#failed(err));
    return value;
  }

  /**
   * Retires every cached answer of each kind for the users listed under it, in one round trip. Call it after the
   * database write has committed and before answering, so the writer's next read sees the write.
   */
  async invalidate(users: Record<string, readonly number[]>): Promise<void> {
    const keys: string[] = [];
    for (const [kind, ids] of Object.entries(users)) for (const id of new Set(ids)) keys.push(this.#genKey(kind, id));
    if (!keys.length) return;
    try {
      // One command for the whole audience (a post's author has ~70 followers): a pipeline of INCR + EXPIRE per user
      // is one round trip too, but ~140 commands for Redis to parse and ~140 client spans for a traced app to record.
      await this.#redis.eval(BUMP_GENERATIONS, keys.length, ...keys, GENERATION_TTL_S);
      this.#stats.invalidations += keys.length;
    } catch (err) {
      this.#dirty = true;
      this.#failed(err);
    }
  }

  /** Waits (at most `timeoutMs`) for the first connection, so the first requests do not all miss Redis. */
  async ready(timeoutMs: number): Promise<boolean> {
    if (this.#redis.status === 'ready') return true;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.#redis.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#redis.once('ready', onReady);
    });
  }

  stats(): CacheStats {
    return { ...this.#stats, byKind: Object.fromEntries([...this.#byKind].map(([k, v]) => [k, { ...v }])) };
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }

  #genKey(kind: string, userId: number): string {
    return `${this.#ns}:gen:${kind}:${userId}`;
  }

  #failed(err: unknown): void {
    this.#stats.errors++;
    this.#log.warn('redis', `Redis command failed (${(err as Error)?.message ?? err}): answering from PostgreSQL`);
  }

  async #afterOutage(): Promise<void> {
    if (!this.#dirty) return;
    try {
      await this.#redis.incr(`${this.#ns}:epoch`);
      this.#dirty = false;
    } catch (err) {
      this.#failed(err);
    }
  }
}
