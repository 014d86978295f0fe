/**
 * The second seed article as a lab: one blocking call inside an async handler stops every request, an innocent one
 * included; a thread pool frees the loop (FastAPI's run_in_threadpool) but queues past its threads; the async client
 * (fetch) is better still; more worker processes (Gunicorn) spread the blocking without removing it, at a process's
 * memory each. target-app's GET /blocking-io makes the same slow upstream call (GET <upstream>/slow?ms=50) the way
 * BLOCKING_IO_MODE says; GET /health is the innocent route: it never blocks and never waits for anything of its own.
 */
import type { Story, StoryStage } from './types.js';

const CALL_MS = 50;

const sync = { BLOCKING_IO_MODE: 'sync' };

export const blockingIo: Story = {
  name: 'blocking-io',
  title: 'One blocking call stops every request: a thread pool frees the loop, the async client is better, more workers only spread it',
  help: 'Stages: sync, offloaded, async, then sync-workers-N for N = cores and 2 × cores (--workers N: one such stage of N workers). Its routes read no data: no seeding and no Redis.',
  source: 'the second seed article (FastAPI: requests.get inside async def, run_in_threadpool, httpx.AsyncClient, Gunicorn workers)',
  appStage: 'pooled', // any stage: these routes never touch the database, and pooled connects only when queried
  scenario: {
    name: 'blocking-io',
    requests: [
      { weight: 1, method: 'GET', path: `/blocking-io?ms=${CALL_MS}`, route: 'GET /blocking-io' },
      { weight: 1, method: 'GET', path: '/health', route: 'GET /health' },
    ],
  },
  routes: { innocent: 'GET /health', slow: 'GET /blocking-io' },
  callMs: CALL_MS,
  stages({ cores, workers }): StoryStage[] {
    const counts = workers ? [workers] : [...new Set([cores, 2 * cores])];
    return [
      { name: 'sync', changes: `the ${CALL_MS} ms upstream call made with a synchronous HTTP client inside the async handler (requests.get in async def): the loop waits for every answer`, env: sync },
      {
        name: 'offloaded',
        changes: 'the same synchronous call handed to a pool of worker threads and awaited (run_in_threadpool): only a pool thread waits; with every thread busy, calls queue',
        env: { BLOCKING_IO_MODE: 'offloaded' },
      },
      { name: 'async', changes: 'the call made with the asynchronous client, fetch (httpx.AsyncClient): nothing waits', env: { BLOCKING_IO_MODE: 'async' } },
      ...counts.map((n) => ({
        name: `sync-workers-${n}`,
        changes: `sync again, on ${n} node:cluster worker processes sharing the port (Gunicorn workers${n === cores ? ', one per core' : n === 2 * cores ? ', two per core' : ''}): each worker's loop still waits for its calls`,
        env: sync,
        workers: n,
      })),
    ];
  },
  compare: { base: 'sync', head: 'async' },
  notes: [
    "Where Node's pool limits are. Starlette runs `def` endpoints and `run_in_threadpool` on anyio's 40 threads; the offload pool here has `BLOCKING_POOL_SIZE` threads (4 by default, target-app/blocking-io/offload.ts), and a call that finds them all busy waits in its queue — the offloaded stage measures that queue. Node's own pool is libuv's: `fs`, `crypto.pbkdf2`/`scrypt`/`randomBytes`, async `zlib` and `dns.lookup` share `UV_THREADPOOL_SIZE` threads (4 by default, at most 1024, read once when the pool first starts: set it before the process makes its first such call, the environment being the safe place), and past them those calls queue the same way. `fetch` (undici) takes no pool thread for the call itself: its sockets are non-blocking and served by the loop (only resolving a host name goes through `dns.lookup`, on libuv's pool; here the upstream is an IP address).",
    'Workers are processes: each has its own loop, its own blocking, and its own memory (every worker loads the whole app and its dependencies), so N workers can serve up to N times the blocked throughput while each request still waits behind the blocks of its own worker.',
  ],
};
