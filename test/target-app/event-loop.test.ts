/**
 * The baseline's synchronous driver stops the event loop; the async driver does not. The app runs in this
 * process (where the loop delay is measured) and the load comes from autocannon in another process, so the
 * measurement sees the server's work only. Same requests, same concurrency, same data for both stages.
 */
import { spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, dropTestDatabase, query, seededDatabase, startStage, startUpstream } from './helpers.js';

const SUFFIX = 'loop';
let db: string;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
let users: number[];

/** autocannon in a child process: `connections` clients requesting `paths` in turn for `seconds`. */
function load(base: string, paths: string[], connections: number, seconds: number): Promise<{ requests: number; non2xx: number }> {
  const script = `
    const autocannon = require('autocannon');
    const paths = ${JSON.stringify(paths)};
    let i = 0;
    autocannon({ url: ${JSON.stringify(base)}, connections: ${connections}, duration: ${seconds},
      requests: [{ setupRequest: (r) => ({ ...r, path: paths[i++ % paths.length] }) }] }, (err, res) => {
      if (err) { console.error(err.message); process.exit(1); }
      console.log(JSON.stringify({ requests: res.requests.total, non2xx: res.non2xx }));
    });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`autocannon failed: ${err}`))));
  });
}

async function measure(stage: string): Promise<{ p99: number; max: number; samples: number; requests: number; non2xx: number }> {
  const app = await startStage(stage, { databaseUrl: db, upstreamUrl: upstream.url });
  const h = monitorEventLoopDelay({ resolution: 1 });
  let measuring = false;
  // from the first request of the measured load on, not while autocannon's process starts
  app.app.addHook('onRequest', async () => {
    if (measuring) {
      measuring = false;
      h.enable();
    }
  });
  try {
    await app.app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.app.server.address() as AddressInfo).port}`;
    const paths = users.map((u) => `/users/${u}/timeline?limit=100`);
    for (const url of paths.slice(0, 3)) await app.app.inject({ method: 'GET', url }); // warm up: plans, JIT, the driver's thread
    measuring = true;
    const result = await load(base, paths, 8, 3);
    await new Promise((resolve) => setTimeout(resolve, 5)); // one more turn: records a block still under way
    h.disable();
    return { p99: h.percentile(99) / 1e6, max: h.max / 1e6, samples: h.count, ...result };
  } finally {
    await app.close();
  }
}

beforeAll(async () => {
  db = await seededDatabase(SUFFIX);
  upstream = await startUpstream();
  users = (await query<{ id: number }>(db, 'SELECT id FROM users WHERE id BETWEEN 300 AND 1900 ORDER BY id LIMIT 40')).map((r) => r.id);
});

afterAll(async () => {
  await upstream?.close();
  await dropTestDatabase(SUFFIX);
});

describe('event-loop delay under concurrent timeline requests', () => {
  it("baseline's p99 is at least 10× async-db's", async () => {
    const baseline = await measure('baseline');
    const asyncDb = await measure('async-db');
    const ratio = baseline.p99 / asyncDb.p99;
    const show = (m: typeof baseline) => `${m.p99.toFixed(1)} ms (max ${m.max.toFixed(0)} ms, ${m.samples} samples, ${m.requests} requests)`;
    console.log(`event-loop delay p99: baseline ${show(baseline)}, async-db ${show(asyncDb)}: ${ratio.toFixed(1)}×`);
    expect(baseline.non2xx).toBe(0);
    expect(asyncDb.non2xx).toBe(0);
    expect(baseline.requests).toBeGreaterThan(0);
    expect(asyncDb.requests).toBeGreaterThan(baseline.requests);
    expect(ratio).toBeGreaterThanOrEqual(10);
  });
});
