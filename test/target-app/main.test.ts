/**
 * dist/target-app/main.js as the lab runs it: one stdout line when listening, one stderr line and exit 2 for a
 * configuration mistake, exit 1 for a missing service, exit 0 on SIGTERM, node:cluster with WORKERS, and no
 * orphan when its parent dies.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distFile, dropTestDatabase, run, seededDatabase, startUpstream, stop } from './helpers.js';

const SUFFIX = 'main';
let db: string;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
let main: string;

beforeAll(async () => {
  main = distFile('target-app/main.js');
  db = await seededDatabase(SUFFIX);
  upstream = await startUpstream();
});

afterAll(async () => {
  await upstream?.close();
  await dropTestDatabase(SUFFIX);
});

const env = () => ({ DATABASE_URL: db, UPSTREAM_URL: upstream.url, PORT: '0', REDIS_URL: 'redis://127.0.0.1:6379/1' });
const LISTENING = /^target-app listening on (http:\/\/127\.0\.0\.1:(\d+)) stage=([\w-]+)$/m;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !alive(pid);
}

describe('target-app main.js', () => {
  it('refuses a wrong configuration in one stderr line: unknown STAGE or missing UPSTREAM_URL → 2, no database → 1', async () => {
    const cases: [Record<string, string>, number, RegExp][] = [
      [{ STAGE: 'turbo' }, 2, /^target-app: unknown STAGE "turbo": use one of baseline, async-db, parallel, pooled, cached$/],
      [{ UPSTREAM_URL: '' }, 2, /^target-app: UPSTREAM_URL is not set: start the external-services stand-in/],
      [{ WORKERS: 'lots' }, 2, /^target-app: WORKERS must be a whole number from 1 to 64, got "lots"$/],
      [{ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/looplens' }, 1, /^target-app: PostgreSQL is not reachable at postgres:\/\/postgres@127\.0\.0\.1:1\/looplens \(ECONNREFUSED\)/],
    ];
    await Promise.all(
      cases.map(async ([extra, code, message]) => {
        const c = run([main], { ...env(), ...extra });
        expect((await c.exited).code).toBe(code);
        const lines = c.stderr().trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(message);
        expect(c.stdout()).toBe('');
      }),
    );
  });

  it('prints exactly one listening line, serves, and exits 0 on SIGTERM', async () => {
    const app = run([main], { ...env(), STAGE: 'pooled' });
    const [, base, , stage] = await app.waitFor(LISTENING);
    expect(stage).toBe('pooled');
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ ok: true, stage: 'pooled' });
    expect((await fetch(`${base}/users/5/timeline?limit=2`)).status).toBe(200);
    const started = Date.now();
    expect(await stop(app)).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(app.stdout().trim().split('\n')).toHaveLength(1);
  });

  it('WORKERS=2: two processes share the port, one line is printed, SIGINT stops them all', async () => {
    const app = run([main], { ...env(), STAGE: 'async-db', WORKERS: '2' });
    const [, base] = await app.waitFor(LISTENING);
    const pids = new Set<number>();
    for (let i = 0; i < 40 && pids.size < 2; i++) {
      const res = await fetch(`${base}/stats`, { headers: { connection: 'close' } });
      pids.add(((await res.json()) as { pid: number }).pid);
    }
    expect(pids.size).toBe(2);
    expect(pids.has(app.child.pid!)).toBe(false);
    app.child.kill('SIGINT');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    for (const pid of pids) expect(await gone(pid, 5000)).toBe(true);
    expect(app.stdout().trim().split('\n')).toHaveLength(1);
  });

  it('does not outlive its parent, even one killed with SIGKILL (workers included)', async () => {
    const script = `
      const { spawn } = require('node:child_process');
      const app = spawn(process.execPath, [${JSON.stringify(main)}], { stdio: ['ignore', 'pipe', 'inherit'] });
      app.stdout.on('data', (d) => process.stdout.write(d));
      console.log('app pid ' + app.pid);
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['-e', script], { env: { ...process.env, ...env(), STAGE: 'baseline', WORKERS: '2' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 30_000;
    while (!LISTENING.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(out).toMatch(LISTENING);
    const appPid = Number(/app pid (\d+)/.exec(out)![1]);
    const base = LISTENING.exec(out)![1];
    const workerPid = ((await (await fetch(`${base}/stats`)).json()) as { pid: number }).pid;
    parent.kill('SIGKILL');
    expect(await gone(appPid, 5000)).toBe(true);
    expect(await gone(workerPid, 5000)).toBe(true);
  });
});
