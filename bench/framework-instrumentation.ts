/**
 * What the framework and ORM instrumentations on by default cost (not a test): start-up time (spawn → "listening") and
 * the server's CPU time per request, req/s and p99 of one route, for an Express 4 app (loads express: the express
 * instrumentation patches it) and the same route on plain node:http (loads no framework: the instrumentations are
 * loaded and patch nothing), each with
 *   none  — no probes
 *   off   — the probes with only the lab's four instrumentations (http, pg, ioredis, undici)
 *   on    — the probes as they are (the framework and ORM instrumentations on by default)
 * Runs are interleaved (none off on none off on …), each a fresh app process, medians and [min, max] reported.
 *
 *   npx tsx bench/framework-instrumentation.ts [--runs 5] [--duration 5] [--warmup 2] [--connections 10]
 *     [--app-cpus 1 --load-cpus 0] [--only express,http] [--off-env NAME=VALUE] [--json out.json]
 *
 * "off" is the probes told to leave the framework and ORM instrumentations off (LOOPLENS_OTEL_INSTRUMENTATIONS with
 * "-name" entries, OFF_ENV below; --off-env NAME=VALUE replaces it). Every "off" run of the Express app is checked to
 * have no http.route on its server spans, and every "on" run to have it, so the two are never mixed up silently.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { readTraces } from '../profiles/contract/traces.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '10' },
    only: { type: 'string' },
    'off-env': { type: 'string' },
    json: { type: 'string' },
    'app-cpus': { type: 'string' },
    'load-cpus': { type: 'string' },
  },
});

const APPS: Record<string, string> = {
  express: join(ROOT, 'bench/fixtures/express-route.cjs'),
  http: join(ROOT, 'bench/fixtures/http-route.cjs'),
};
const PATH = '/users/42';

/** The probes told to leave the framework and ORM instrumentations off: only the lab's four stay. */
const OFF_ENV = { LOOPLENS_OTEL_INSTRUMENTATIONS: '-express,-koa,-hapi,-restify,-nestjs-core,-mysql2,-knex' };

interface Config {
  name: 'none' | 'off' | 'on';
  argv(app: string): string[];
  env: Record<string, string>;
}

function configs(): Config[] {
  const on = join(ROOT, 'dist/probes/register.js');
  const offEnv = args['off-env'] ? Object.fromEntries([args['off-env'].split('=') as [string, string]]) : OFF_ENV;
  return [
    { name: 'none', argv: (app) => [app], env: {} },
    { name: 'off', argv: (app) => ['--import', on, app], env: offEnv },
    { name: 'on', argv: (app) => ['--import', on, app], env: {} },
  ];
}

interface Sample {
  startupMs: number;
  rps: number;
  p99: number;
  cpuUsPerRequest: number;
  routed: boolean | null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** user + system CPU ms of a process (/proc/<pid>/stat, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function runOnce(config: Config, appName: string): Promise<Sample> {
  const port = await freePort();
  const out = mkdtempSync(join(tmpdir(), `looplens-bench-fw-${config.name}-`));
  const nodeArgv = [process.execPath, ...config.argv(APPS[appName]!)];
  // taskset: the app on its own CPU, away from autocannon
  const full = args['app-cpus'] ? ['taskset', '-c', args['app-cpus'], ...nodeArgv] : nodeArgv;
  const started = performance.now();
  const child = spawn(full[0]!, full.slice(1), {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), ...(config.name === 'none' ? {} : { LOOPLENS_OUT: out }), ...config.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      let text = '';
      child.stdout!.on('data', (d: Buffer) => {
        text += d.toString();
        if (/listening \d+/.test(text)) resolve();
      });
      void exited.then(() => reject(new Error(`app exited before listening: ${stderr.slice(-500)}`)));
    });
    const startupMs = performance.now() - started;
    const url = `http://127.0.0.1:${port}${PATH}`;
    const connections = Number(args.connections);
    await autocannon({ url, connections, duration: Number(args.warmup) });
    const cpuBefore = cpuMs(child.pid!);
    const result = await autocannon({ url, connections, duration: Number(args.duration) });
    const cpu = cpuMs(child.pid!) - cpuBefore;
    const answered = result.requests.total;
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    let routed: boolean | null = null;
    if (config.name !== 'none' && appName === 'express') {
      const spans = readTraces(out).spans.filter((s) => s.kind === 'server');
      routed = spans.length > 0 && spans.every((s) => s.attributes['http.route'] !== undefined);
      const want = config.name === 'on';
      if (routed !== want) throw new Error(`${config.name}: server spans ${routed ? 'have' : 'lack'} http.route — the instrumentations are not ${config.name}`);
    }
    return { startupMs, rps: result.requests.average, p99: result.latency.p99, cpuUsPerRequest: (cpu * 1000) / answered, routed };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(out, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, 'dist/probes/register.js'))) throw new Error('run npm run build first');
  if (!existsSync(join(ROOT, 'test/apps/node_modules/express'))) throw new Error('install the fixture apps first: npm ci --prefix test/apps');
  if (args['load-cpus']) execFileSync('taskset', ['-a', '-p', '-c', args['load-cpus'], String(process.pid)], { stdio: 'ignore' });
  const runs = Number(args.runs);
  const apps = args.only ? args.only.split(',') : Object.keys(APPS);
  const list = configs();
  const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, load ${load()}`);
  console.log(`route GET ${PATH}; ${runs} runs × ${args.warmup} s warm-up + ${args.duration} s, ${args.connections} connections; app CPUs ${args['app-cpus'] ?? 'any'}, load CPUs ${args['load-cpus'] ?? 'any'}`);
  const samples = new Map<string, Sample[]>();
  for (let r = 1; r <= runs; r++) {
    for (const app of apps) {
      for (const c of list) {
        const s = await runOnce(c, app);
        const key = `${app} ${c.name}`;
        samples.set(key, [...(samples.get(key) ?? []), s]);
        console.log(`run ${r} ${key}: start-up ${s.startupMs.toFixed(0)} ms, ${s.rps.toFixed(0)} req/s, p99 ${s.p99} ms, ${s.cpuUsPerRequest.toFixed(1)} µs CPU/request`);
      }
    }
  }
  const fmt = (xs: number[], d: number) => `${median(xs).toFixed(d)} [${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)}]`;
  console.log(`\nmedians [min–max] of ${runs} runs (load average at end ${load()}):\n`);
  console.log('| app | probes | start-up ms | CPU µs/request | req/s | p99 ms |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  const table: Record<string, Record<string, number>> = {};
  for (const [key, xs] of samples) {
    const [app, name] = key.split(' ');
    console.log(`| ${app} | ${name} | ${fmt(xs.map((x) => x.startupMs), 0)} | ${fmt(xs.map((x) => x.cpuUsPerRequest), 1)} | ${fmt(xs.map((x) => x.rps), 0)} | ${fmt(xs.map((x) => x.p99), 0)} |`);
    table[key] = { startupMs: median(xs.map((x) => x.startupMs)), cpuUsPerRequest: median(xs.map((x) => x.cpuUsPerRequest)), rps: median(xs.map((x) => x.rps)) };
  }
  if (args.json) writeFileSync(args.json, JSON.stringify({ samples: Object.fromEntries(samples), medians: table, loadEnd: load() }, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
