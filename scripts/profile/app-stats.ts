/**
 * The app's own cache counters from its GET /stats (target-app answers one; any other app may not): read before and
 * after the measured load, so summary.json `cache` counts only the measured window — and, the same way, its offload
 * pool's (`offloadPool`). Never throws: an app without /stats, or with one of another shape, simply gets neither.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { parseCacheStats, type CacheReading } from '../analysis/cache.js';
import { parseOffloadPool, type OffloadPoolReading } from '../analysis/offload.js';

async function getStats(url: string, timeoutMs: number): Promise<unknown> {
  try {
    const res = await fetch(`${url}/stats`, { signal: AbortSignal.timeout(timeoutMs), headers: { connection: 'close' } });
    if (!res.ok || !(res.headers.get('content-type') ?? '').includes('json')) {
      await res.body?.cancel();
      return null;
    }
    return await res.json();
  } catch {
    return null;
  }
}

/**
 * The cache counters once the app has settled: requests the load generator abandoned when it stopped may still be
 * finishing inside the app, so /stats is read again (up to `settleMs`) until its answered-request count stops moving.
 * Null when the app has no /stats or it reports no cache.
 */
export async function readCacheCounters(url: string, opts: { timeoutMs?: number; settleMs?: number } = {}): Promise<CacheReading | null> {
  const timeoutMs = opts.timeoutMs ?? 1000;
  const deadline = Date.now() + (opts.settleMs ?? 1500);
  let reading = parseCacheStats(await getStats(url, timeoutMs));
  if (!reading) return null;
  while (reading.requests !== undefined && Date.now() < deadline) {
    await delay(50);
    const next = parseCacheStats(await getStats(url, timeoutMs));
    if (!next) return reading;
    const settled = next.requests === reading.requests && next.hits + next.misses === reading.hits + reading.misses;
    reading = next;
    if (settled) break;
  }
  return reading;
}

/** The app's offload pool counters (target-app's GET /stats `blockingIo`), or null when it reports none. */
export async function readOffloadPool(url: string, opts: { timeoutMs?: number } = {}): Promise<OffloadPoolReading | null> {
  return parseOffloadPool(await getStats(url, opts.timeoutMs ?? 1000));
}
