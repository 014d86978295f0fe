/**
 * target-app/cache.ts on a real Redis (target-app's db 1, a namespace of its own): hits, cold and stale misses,
 * and a write's whole audience invalidated by one command.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResponseCache } from '../../target-app/cache.js';
import { silentLogger } from '../../target-app/lib/log.js';
import { REDIS_URL } from './helpers.js';

const ns = `looplens-test-cache:${randomUUID()}`;
let cache: ResponseCache;
let direct: Redis;

beforeAll(async () => {
  cache = new ResponseCache({ url: REDIS_URL, namespace: ns, log: silentLogger });
  expect(await cache.ready(2000)).toBe(true);
  direct = new Redis(REDIS_URL);
});

afterAll(async () => {
  await cache?.close();
  if (direct) {
    const keys = await direct.keys(`${ns}:*`);
    if (keys.length) await direct.del(...keys);
    direct.disconnect();
  }
});

describe('ResponseCache', () => {
  it('answers repeats from Redis, and a read after an invalidation from the loader (a stale miss)', async () => {
    let loads = 0;
    const load = async () => ({ n: ++loads });
    expect(await cache.read('timeline', 7, 20, load)).toEqual({ n: 1 });
    await new Promise((r) => setTimeout(r, 50)); // the entry is written after answering
    expect(await cache.read('timeline', 7, 20, load)).toEqual({ n: 1 });
    await cache.invalidate({ timeline: [7] });
    expect(await cache.read('timeline', 7, 20, load)).toEqual({ n: 2 });
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 2, stale: 1, errors: 0, invalidations: 1 });
  });

  it('invalidates a whole audience with one command: every generation bumped, with an expiry', async () => {
    const users = Array.from({ length: 120 }, (_, i) => 1000 + i);
    const before = await direct.info('commandstats');
    const calls = (info: string, cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
    await cache.invalidate({ timeline: [...users, users[0]!], notifications: [1000] });
    await cache.invalidate({ timeline: users });
    const after = await direct.info('commandstats');
    expect(calls(after, 'eval') - calls(before, 'eval')).toBeGreaterThanOrEqual(2);
    const gens = await direct.mget(...users.map((u) => `${ns}:gen:timeline:${u}`));
    expect(gens).toEqual(users.map(() => '2'));
    expect(await direct.get(`${ns}:gen:notifications:1000`)).toBe('1');
    expect(await direct.ttl(`${ns}:gen:timeline:1119`)).toBeGreaterThan(3600);
    expect(cache.stats().invalidations).toBe(1 + 121 + 120);
  });
});
