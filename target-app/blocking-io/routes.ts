/**
 * The second seed article, in Node: the same slow upstream call (GET <upstream>/slow?ms=N) made three ways.
 *   GET /blocking-io/sync       a synchronous HTTP call inside an async handler: the whole event loop waits
 *   GET /blocking-io/offloaded  the same synchronous call run on a worker-thread pool (run_in_threadpool)
 *   GET /blocking-io/async      the native async client (fetch): nothing waits
 *   GET /blocking-io            one of the three, as BLOCKING_IO_MODE says: the same route and the same requests
 *                               whichever way the call is made, as before and after a pull request that changes it
 *                               (`looplens lab --story blocking-io` runs it so, and compares sync with async)
 * All answer {mode, status, upstream}. Run the app with WORKERS=N to see more processes raise throughput
 * without curing the blocking. GET /stats carries the offload pool's counters (blockingIoStats).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from '../errors.js';
import { errorBody } from '../schemas.js';
import { closeHttpSync, httpGetSync } from './http-sync.js';
import { OffloadPool, type OffloadPoolStats } from './offload.js';

export interface BlockingIoOptions {
  upstreamUrl: string;
  /** Threads of the offload pool (BLOCKING_POOL_SIZE, default 4). */
  poolSize?: number;
  timeoutMs?: number;
  /** How GET /blocking-io makes its call (BLOCKING_IO_MODE, default async). */
  mode?: Mode;
  /** Filled in by the routes: the offload pool's counters, for GET /stats. */
  stats?: BlockingIoStatsRef;
}

/** What GET /stats reports of these routes: the offload pool (null before its first call). */
export interface BlockingIoStats {
  mode: Mode;
  pool: OffloadPoolStats | null;
}

/** A holder the routes fill in (they are registered as an encapsulated Fastify plugin). */
export interface BlockingIoStatsRef {
  get?: () => BlockingIoStats;
}

const query = {
  type: 'object',
  properties: { ms: { type: 'integer', minimum: 0, maximum: 5000, default: 50 } },
} as const;

const response = {
  200: {
    type: 'object',
    required: ['mode', 'status', 'upstream'],
    properties: { mode: { type: 'string' }, status: { type: 'integer' }, upstream: { type: 'object', additionalProperties: true } },
  },
  '4xx': errorBody,
  '5xx': errorBody,
} as const;

export const BLOCKING_IO_MODES = ['sync', 'offloaded', 'async'] as const;
export type Mode = (typeof BLOCKING_IO_MODES)[number];

export async function blockingIoRoutes(app: FastifyInstance, options: BlockingIoOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let pool: OffloadPool | null = null;
  app.addHook('onClose', async () => {
    await pool?.close();
    await closeHttpSync();
  });

  const slowUrl = (ms: number) => new URL(`slow?ms=${ms}`, options.upstreamUrl).toString();
  const answer = (mode: Mode, res: { status: number; body: string }) => ({ mode, status: res.status, upstream: JSON.parse(res.body) as unknown });

  const calls: Record<Mode, (url: string) => Promise<{ status: number; body: string }>> = {
    // requests.get() inside `async def`
    sync: async (url) => httpGetSync(url, timeoutMs),
    // await run_in_threadpool(requests.get, url)
    offloaded: (url) => {
      pool ??= new OffloadPool(options.poolSize ?? 4);
      return pool.httpGet(url, timeoutMs);
    },
    // async with httpx.AsyncClient() as client: await client.get(url)
    async: async (url) => {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      return { status: res.status, body: await res.text() };
    },
  };

  const configured: Mode = options.mode ?? 'async';
  if (options.stats) options.stats.get = () => ({ mode: configured, pool: pool?.stats() ?? null });

  const handler = (mode: Mode) => async (req: FastifyRequest<{ Querystring: { ms: number } }>) => {
    let res;
    try {
      res = await calls[mode](slowUrl(req.query.ms));
    } catch (err) {
      throw new HttpError(502, 'Bad Gateway', `the upstream call failed: ${(err as Error).message}`);
    }
    return answer(mode, res);
  };
  for (const mode of Object.keys(calls) as Mode[]) {
    app.get<{ Querystring: { ms: number } }>(`/blocking-io/${mode}`, { schema: { querystring: query, response } }, handler(mode));
  }
  app.get<{ Querystring: { ms: number } }>('/blocking-io', { schema: { querystring: query, response } }, handler(configured));
}
