/** lab.json's `recorded`: what a figure quoted from the lab must say about how it was measured (LabRecord). */
import { loadavg } from 'node:os';
import type { LabRecord } from '../../profiles/contract/types.js';
import { connectOnce } from '../../target-app/db/connection.js';

/** The 1-, 5- and 15-minute load averages, two decimals. */
export function loadAverage(): number[] {
  return loadavg().map((n) => Math.round(n * 100) / 100);
}

export function startRecord(command: readonly string[]): LabRecord {
  return { command: [...command], loadAverageStart: loadAverage() };
}

/**
 * PostgreSQL's and Redis's version strings (Redis's only when the lab used it: `redisUrl` given); a service that does
 * not answer in time is left out.
 */
export async function serviceVersions(pgUrl: string, redisUrl: string | undefined): Promise<Pick<LabRecord, 'postgres' | 'redis'>> {
  const out: Pick<LabRecord, 'postgres' | 'redis'> = {};
  try {
    const db = await connectOnce(pgUrl, 2000);
    try {
      out.postgres = (await db.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v;
    } finally {
      await db.end().catch(() => {});
    }
  } catch {
    /* not recorded */
  }
  if (redisUrl === undefined) return out;
  try {
    const { Redis } = await import('ioredis');
    const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 });
    redis.on('error', () => {});
    try {
      await redis.connect();
      out.redis = /redis_version:([^\r\n]+)/.exec(await redis.info('server'))?.[1];
    } finally {
      redis.disconnect();
    }
  } catch {
    /* not recorded */
  }
  return out;
}
