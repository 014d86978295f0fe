/**
 * The second seed article in Node: the same slow upstream GET made synchronously inside an async handler (the
 * event loop stops), on a worker-thread pool (it does not), and with the async client (it does not).
 * The upstream runs in its own process: a synchronous call to a server on the blocked loop could never return.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../target-app/config.js';
import { silentLogger } from '../../target-app/lib/log.js';
import { buildApp } from '../../target-app/server.js';
import { distFile, run, startStage, stop, testDatabaseUrl, type Child, type StageApp } from './helpers.js';

let upstream: Child;
let app: StageApp;

beforeAll(async () => {
  upstream = run([distFile('target-app/upstream/main.js')], { PORT: '0' });
  const [, url] = await upstream.waitFor(/^upstream listening on (\S+)$/m);
  // these routes never touch the database (and the pooled stage connects only when queried)
  app = await startStage('pooled', { databaseUrl: testDatabaseUrl('unused'), upstreamUrl: url });
});

afterAll(async () => {
  await app?.close();
  if (upstream) await stop(upstream);
});

async function timed(mode: string, concurrent: number) {
  // warm up: every pool thread started
  await Promise.all(Array.from({ length: concurrent }, () => app.app.inject({ method: 'GET', url: `/blocking-io/${mode}?ms=0` })));
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const started = performance.now();
  const responses = await Promise.all(Array.from({ length: concurrent }, () => app.app.inject({ method: 'GET', url: `/blocking-io/${mode}?ms=150` })));
  const ms = performance.now() - started;
  clearInterval(timer);
  return { ms, ticks, statuses: responses.map((r) => r.statusCode), body: responses[0].json() };
}

describe('blocking-io routes', () => {
  it('sync stops the loop and serialises requests; offloaded and async keep the loop turning and overlap', async () => {
    const sync = await timed('sync', 4);
    const offloaded = await timed('offloaded', 4);
    const async = await timed('async', 4);
    for (const r of [sync, offloaded, async]) expect(r.statuses).toEqual([200, 200, 200, 200]);
    expect(sync.body).toEqual({ mode: 'sync', status: 200, upstream: { ms: 150 } });
    expect(offloaded.body).toEqual({ mode: 'offloaded', status: 200, upstream: { ms: 150 } });
    expect(async.body).toEqual({ mode: 'async', status: 200, upstream: { ms: 150 } });
    // four 150 ms calls one after another, and not one timer tick meanwhile
    expect(sync.ms).toBeGreaterThanOrEqual(4 * 150 - 5);
    expect(sync.ticks).toBeLessThanOrEqual(1);
    for (const r of [offloaded, async]) {
      expect(r.ms).toBeLessThan(sync.ms * 0.75);
      expect(r.ticks).toBeGreaterThan(30);
    }
  });

  it('validates ms', async () => {
    expect((await app.app.inject({ method: 'GET', url: '/blocking-io/sync?ms=-1' })).statusCode).toBe(400);
    expect((await app.app.inject({ method: 'GET', url: '/blocking-io/async?ms=abc' })).statusCode).toBe(400);
    expect((await app.app.inject({ method: 'GET', url: '/blocking-io/offloaded?ms=99999' })).statusCode).toBe(400);
  });
});

describe('GET /blocking-io: the call made as BLOCKING_IO_MODE says, and the offload pool\'s counters in GET /stats', () => {
  it('one route for every mode; a pool past its threads counts the calls that queued and their wait', async () => {
    const url = (await upstream.waitFor(/^upstream listening on (\S+)$/m))[1]!;
    for (const mode of ['sync', 'offloaded', 'async'] as const) {
      const a = await buildApp({ stage: app.stage, stageName: 'pooled', upstreamUrl: url, log: silentLogger, blockingPoolSize: 2, blockingIoMode: mode });
      try {
        const res = await a.inject({ method: 'GET', url: '/blocking-io?ms=0' });
        expect(res.json()).toEqual({ mode, status: 200, upstream: { ms: 0 } });
        const before = (await a.inject({ method: 'GET', url: '/stats' })).json().blockingIo;
        expect(before.mode).toBe(mode);
        if (mode !== 'offloaded') {
          expect(before.pool).toBeNull(); // no pool without an offloaded call
          continue;
        }
        expect(before.pool).toEqual({ size: 2, calls: 1, queued: 0, queuedMs: 0 });
        // six 100 ms calls at once on two threads: four wait, two of them for one call, two for two
        await Promise.all(Array.from({ length: 6 }, () => a.inject({ method: 'GET', url: '/blocking-io?ms=100' })));
        const pool = (await a.inject({ method: 'GET', url: '/stats' })).json().blockingIo.pool;
        expect(pool).toMatchObject({ size: 2, calls: 7, queued: 4 });
        expect(pool.queuedMs).toBeGreaterThan(4 * 100 + 2 * 100 - 60);
      } finally {
        await a.close();
      }
    }
  });

  it('BLOCKING_IO_MODE is checked (async when unset)', () => {
    const env = { UPSTREAM_URL: 'http://127.0.0.1:1' };
    expect(readConfig(env).blockingIoMode).toBe('async');
    expect(readConfig({ ...env, BLOCKING_IO_MODE: 'offloaded' }).blockingIoMode).toBe('offloaded');
    expect(() => readConfig({ ...env, BLOCKING_IO_MODE: 'threads' })).toThrow('BLOCKING_IO_MODE must be one of sync, offloaded, async, got "threads"');
  });
});
