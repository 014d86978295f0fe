/**
 * Runs a fixture app under the real probes (dist/probes/register.js preloaded, LOOPLENS_OUT set), drives a fixed
 * request plan against it, stops it with SIGTERM (the probes write their files) — the way a user profiles their own
 * app without the looplens CLI. Also serves the stand-in upstream the fixture calls.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { writeRunJson } from '../../profiles/contract/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PRELOAD = `${ROOT}dist/probes/register.js`;
export const FIXTURE_APP = fileURLToPath(new URL('./fixtures/app.mjs', import.meta.url));

/** Stand-in services: three reads the response needs, and a notification service that answers 202. */
export const UPSTREAM_DELAYS: Record<string, number> = { '/profile': 30, '/prices': 20, '/stock': 15, '/notify': 40 };

export async function startUpstream(): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const delay = UPSTREAM_DELAYS[path];
    req.resume();
    if (delay === undefined) {
      res.writeHead(404).end();
      return;
    }
    setTimeout(() => {
      if (path === '/notify') res.writeHead(202).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path, at: Date.now() }));
    }, delay);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface Step {
  method: string;
  path: (i: number) => string;
  requests: number;
  concurrency: number;
}

/** Each step's requests with a fixed number in flight; steps one after another. Fails on any non-2xx. */
export async function drive(base: string, plan: Step[]): Promise<void> {
  for (const step of plan) {
    let next = 0;
    const worker = async () => {
      while (next < step.requests) {
        const i = next++;
        const res = await fetch(`${base}${step.path(i)}`, { method: step.method });
        await res.arrayBuffer();
        if (res.status >= 300) throw new Error(`${step.method} ${step.path(i)} answered ${res.status}`);
      }
    };
    await Promise.all(Array.from({ length: step.concurrency }, worker));
  }
}

/**
 * Starts `node --import <probes> <app>` with LOOPLENS_OUT=out, waits for "listening <port>", runs `plan`, sends
 * SIGTERM and waits for the exit; then marks the folder as a run (run.json) as `looplens profile` would.
 */
export async function profileApp(opts: {
  app: string;
  out: string;
  env: Record<string, string>;
  /** Steps one after another, or a function that drives the app at its base URL. */
  plan: Step[] | ((base: string) => Promise<void>);
  timeoutMs?: number;
}): Promise<void> {
  const child = spawn(process.execPath, ['--import', PRELOAD, opts.app], {
    env: { ...process.env, ...opts.env, LOOPLENS_OUT: opts.out, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const timeout = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      void exited.then((code) => reject(new Error(`fixture app exited (${code}) before listening: ${stderr.slice(-500)}`)));
    });
    const startedAt = new Date().toISOString();
    const base = `http://127.0.0.1:${port}`;
    if (typeof opts.plan === 'function') await opts.plan(base);
    else await drive(base, opts.plan);
    child.kill('SIGTERM');
    await exited;
    writeRunJson(opts.out, 'run', {
      schemaVersion: 1,
      id: opts.out.split('/').pop(),
      command: ['node', opts.app],
      profiler: 'none',
      load: { durationS: 0, warmupS: 0, connections: typeof opts.plan === 'function' ? 1 : Math.max(...opts.plan.map((s) => s.concurrency)) },
      node: process.version,
      platform: process.platform,
      cpu: { model: 'test', cores: 1 },
      startedAt,
      endedAt: new Date().toISOString(),
      complete: true,
    });
  } finally {
    clearTimeout(timeout);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }
}
