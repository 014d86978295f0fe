/**
 * summary.json `offloadPool`: the app's pool of threads for blocking calls over the measured window — target-app's
 * offload pool (its GET /stats `blockingIo.pool`: running totals `{size, calls, queued, queuedMs}`), read before and
 * after the load like the cache counters (./cache.ts). Any other app, or an answer of another shape, gives none.
 */
import type { OffloadPoolCounts, OffloadPoolSummary } from '../../profiles/contract/types.js';

export interface OffloadPoolReading {
  pid?: number;
  /** Null while the pool has not been made (no call yet). */
  pool: OffloadPoolCounts | null;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** The pool counters of a GET /stats answer; null when it reports no pool (an app without one). */
export function parseOffloadPool(body: unknown): OffloadPoolReading | null {
  if (!body || typeof body !== 'object') return null;
  const b = body as Record<string, unknown>;
  const io = b.blockingIo as Record<string, unknown> | undefined;
  if (!io || typeof io !== 'object' || !('pool' in io)) return null;
  const p = io.pool as Record<string, unknown> | null;
  const reading: OffloadPoolReading = { pool: null };
  if (isCount(b.pid)) reading.pid = b.pid;
  if (p && typeof p === 'object') {
    if (!isCount(p.size) || !isCount(p.calls) || !isCount(p.queued) || !isCount(p.queuedMs)) return null;
    reading.pool = { size: p.size, calls: p.calls, queued: p.queued, queuedMs: p.queuedMs };
  }
  return reading;
}

/**
 * The window's counts: after − before (a pool made during the window counts from zero). Null when there is no pool
 * after, the readings come from different processes, or counters went down (the app restarted).
 */
export function offloadPoolWindow(before: OffloadPoolReading, after: OffloadPoolReading): OffloadPoolCounts | null {
  if (!after.pool) return null;
  if (before.pid !== undefined && after.pid !== undefined && before.pid !== after.pid) return null;
  const b = before.pool ?? { size: after.pool.size, calls: 0, queued: 0, queuedMs: 0 };
  const d = { calls: after.pool.calls - b.calls, queued: after.pool.queued - b.queued, queuedMs: after.pool.queuedMs - b.queuedMs };
  if (d.calls < 0 || d.queued < 0 || d.queuedMs < -0.001) return null;
  return { size: after.pool.size, calls: d.calls, queued: d.queued, queuedMs: Math.round(Math.max(0, d.queuedMs) * 1000) / 1000 };
}

/** The figures summary.json shows of the window's counts. */
export function summariseOffloadPool(c: OffloadPoolCounts, windowMs: number): OffloadPoolSummary {
  const r = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
  return {
    ...c,
    queuedShare: c.calls > 0 ? r(c.queued / c.calls) : 0,
    waitMsPerQueuedCall: c.queued > 0 ? r(c.queuedMs / c.queued, 2) : 0,
    meanWaiting: windowMs > 0 ? r(c.queuedMs / windowMs, 2) : 0,
  };
}
