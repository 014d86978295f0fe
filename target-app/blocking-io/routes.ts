/**
 * The second seed article, in Node: the same slow upstream call (GET <upstream>/slow?ms=N) made three ways.
 *   GET /blocking-io/sync       a synchronous HTTP call inside an async handler: the whole event loop waits
 *   GET /blocking-io/offloaded  the same synchronous call run on a worker-thread pool (run_in_threadpool)
 *   GET /blocking-io/async      the native async client (fetch): nothing waits
 * All three answer {mode, status, upstream}. Run the app with WORKERS=N to see more processes raise throughput
 * without curing the blocking.
 */
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../errors.js';
import { errorBody } from '../schemas.js';
import { closeHttpSync, httpGetSync } from './http-sync.js';
import { OffloadPool } from './offload.js';

export interface BlockingIoOptions {
  upstreamUrl: string;
  /** Threads of the offload pool (BLOCKING_POOL_SIZE, default 4). */
  poolSize?: number;
  timeoutMs?: number;
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

type Mode = 'sync' | 'offloaded' | 'async';

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

  for (const mode of Object.keys(calls) as Mode[]) {
    app.get<{ Querystring: { ms: number } }>(`/blocking-io/${mode}`, { schema: { querystring: query, response } }, async (req) => {
      let res;
      try {
        res = await calls[mode](slowUrl(req.query.ms));
      } catch (err) {
        throw new HttpError(502, 'Bad Gateway', `the upstream call failed: ${(err as Error).message}`);
      }
      return answer(mode, res);
    });
  }
}
