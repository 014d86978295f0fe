/**
 * Probe overhead benchmark (not a test): throughput, p99 and server CPU time per request of one app route with
 * no probes, looplens' loop probes, + blocking detector, + tracing, and beside them plain OpenTelemetry
 * auto-instrumentation (everything on, exporting OTLP/HTTP to a local sink), clinic doctor and 0x.
 * Configurations are interleaved (A B C … A B C …), each run is a fresh app process, medians are reported.
 *
 *   npx tsx bench/probe-overhead.ts [--app "node test/probes/fixtures/cached-app.mjs"] [--path /] [--runs 5]
 *     [--duration 5] [--warmup 2] [--connections 10] [--only none,loop,...] [--json out.json]
 *     [--app-cpus 1 --load-cpus 0]
 *
 * The app command gets PORT in its environment (and $PORT substituted in the command); the app must listen on it.
 * --app-cpus / --load-cpus pin the app and the load generator apart (taskset): on a 2-core machine the scheduler
 * otherwise moves them around and the spread between identical runs exceeds the effects measured.
 *
 *   npx tsx bench/probe-overhead.ts --parts [--runs 6]
 *
 * measures the probes' parts one at a time, without HTTP (steadier on a shared machine): a fixed in-process workload
 * of "requests" (8 awaits and a little JSON each, ~10 µs), in a fresh process per part, CPU time of the whole process
 * (all threads, so the profiler's own thread counts) per round; rounds and processes interleaved, quartiles reported.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import autocannon from 'autocannon';
import { probeFlag } from '../probes/node-options.js';
import { readBlocking, readJaeger, readOtlpTraces } from '../profiles/contract/read.js';
import type { CountAndTotal } from '../profiles/contract/types.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

const { values: args } = parseArgs({
  options: {
    app: { type: 'string', default: 'node test/probes/fixtures/cached-app.mjs' },
    path: { type: 'string', default: '/' },
    runs: { type: 'string', default: '5' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '10' },
    only: { type: 'string' },
    json: { type: 'string' },
    parts: { type: 'boolean', default: false },
    part: { type: 'string' },
    'app-cpus': { type: 'string' },
    'load-cpus': { type: 'string' },
  },
});

interface Config {
  name: string;
  label: string;
  /** Where its spans can be counted after the run: the OTLP sink, or the run folder's traces.otlp.json. */
  spans?: 'sink' | 'file';
  /** On-demand blocking detector on: read how long it was armed (blocking.json `armed`) after the run. */
  armed?: true;
  /** Wraps the app's argv (node …) and adds env. */
  wrap(argv: string[], out: string): { argv: string[]; env: Record<string, string> };
}

const probes = (env: Record<string, string>, kind: 'esm' | 'cjs' = 'esm'): Config['wrap'] => (argv, out) => ({
  argv: [argv[0], ...probeFlag(kind), ...argv.slice(1)],
  env: { LOOPLENS_OUT: out, ...env },
});

let sinkUrl = '';
const CONFIGS: Config[] = [
  { name: 'none', label: 'no probes', wrap: (argv) => ({ argv, env: {} }) },
  {
    name: 'loop',
    label: 'looplens loop probes only',
    wrap: probes({ LOOPLENS_TRACING: '0', LOOPLENS_BLOCKING: '0', LOOPLENS_CPU_PROFILE: '0' }),
  },
  {
    name: 'profile',
    label: 'loop probes + whole-run CPU profile (5 ms, the default; no detector)',
    wrap: probes({ LOOPLENS_TRACING: '0', LOOPLENS_BLOCKING: '0' }),
  },
  {
    name: 'profile-1ms',
    label: 'loop probes + whole-run CPU profile at 1 ms (LOOPLENS_CPU_PROFILE_INTERVAL_US=1000; no detector)',
    wrap: probes({ LOOPLENS_TRACING: '0', LOOPLENS_BLOCKING: '0', LOOPLENS_CPU_PROFILE_INTERVAL_US: '1000' }),
  },
  {
    name: 'blocking',
    armed: true,
    label: '+ blocking detector, no profile file (LOOPLENS_CPU_PROFILE=0: stacks sampled every 5 ms)',
    wrap: probes({ LOOPLENS_TRACING: '0', LOOPLENS_CPU_PROFILE: '0' }),
  },
  {
    name: 'blocking-prof',
    armed: true,
    label: '**loop probes + blocking detector (armed on demand) + whole-run 5 ms profile** (defaults, LOOPLENS_TRACING=0)',
    wrap: probes({ LOOPLENS_TRACING: '0' }),
  },
  {
    name: 'blocking-1ms',
    armed: true,
    label: 'the same with the 1 ms profile (the former default)',
    wrap: probes({ LOOPLENS_TRACING: '0', LOOPLENS_CPU_PROFILE_INTERVAL_US: '1000' }),
  },
  {
    name: 'always',
    label: '+ blocking detector timing every callback (LOOPLENS_BLOCK_DETECT=always, 5 ms profile)',
    wrap: probes({ LOOPLENS_TRACING: '0', LOOPLENS_BLOCK_DETECT: 'always' }),
  },
  {
    name: 'production',
    armed: true,
    label: '**production preset** (LOOPLENS_PRESET=production: ALS request identity, detector on demand, 5 ms profile, 1 % of requests as spans, files)',
    spans: 'file',
    wrap: probes({ LOOPLENS_PRESET: 'production' }),
  },
  {
    name: 'production-noheap',
    armed: true,
    label: 'production preset without the heap profiler (LOOPLENS_HEAP_PROFILE=0)',
    spans: 'file',
    wrap: probes({ LOOPLENS_PRESET: 'production', LOOPLENS_HEAP_PROFILE: '0' }),
  },
  {
    name: 'production-otlp',
    armed: true,
    label: 'production preset, also exporting blocks and loop metrics live over OTLP/HTTP (10 s metric interval)',
    wrap: (argv, out) => probes({ LOOPLENS_PRESET: 'production', OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl })(argv, out),
  },
  {
    name: 'tracing',
    armed: true,
    label: '+ tracing (looplens defaults: detector, 5 ms profile, http/pg/ioredis/undici, files)',
    spans: 'file',
    wrap: probes({}),
  },
  {
    name: 'tracing-only',
    label: 'looplens tracing alone (no detector, no CPU profile)',
    spans: 'file',
    wrap: probes({ LOOPLENS_BLOCKING: '0', LOOPLENS_CPU_PROFILE: '0' }),
  },
  {
    name: 'tracing-otlp',
    label: 'looplens tracing alone, also exported live over OTLP/HTTP (like plain OpenTelemetry below)',
    spans: 'sink',
    // Built per run: the sink's URL is known only once it listens.
    wrap: (argv, out) =>
      probes({
        LOOPLENS_BLOCKING: '0',
        LOOPLENS_CPU_PROFILE: '0',
        OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        // As plain OpenTelemetry below: traces only.
        OTEL_METRICS_EXPORTER: 'none',
      })(argv, out),
  },
  {
    name: 'fastify-otel',
    armed: true,
    label: '+ tracing with @fastify/otel spans (LOOPLENS_OTEL_INSTRUMENTATIONS=fastify)',
    spans: 'file',
    wrap: probes({ LOOPLENS_OTEL_INSTRUMENTATIONS: 'fastify' }),
  },
  {
    name: 'otel-auto',
    label: 'plain OpenTelemetry auto-instrumentation (all on, ESM loader hook, OTLP/HTTP)',
    spans: 'sink',
    wrap: (argv) => ({
      argv: [argv[0], '--import', join(ROOT, 'bench/fixtures/otel-auto-esm.mjs'), ...argv.slice(1)],
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'none',
        OTEL_NODE_ENABLED_INSTRUMENTATIONS: '',
        OTEL_NODE_DISABLED_INSTRUMENTATIONS: '',
        OTEL_SERVICE_NAME: 'bench',
        // Resource detection only (no cloud metadata requests leaving the machine); instrumentation is unchanged.
        OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process',
      },
    }),
  },
  {
    name: 'doctor',
    label: 'clinic doctor',
    wrap: (argv, out) => ({
      argv: [process.execPath, join(ROOT, 'node_modules/clinic/bin.js'), 'doctor', '--open=false', '--dest', out, '--', ...argv],
      env: { NO_INSIGHT: '1' },
    }),
  },
  {
    name: '0x',
    label: '0x (collect only)',
    wrap: (argv, out) => ({
      argv: [process.execPath, join(ROOT, 'node_modules/0x/cmd.js'), '--collect-only', '-D', join(out, '0x'), '--', ...argv],
      env: {},
    }),
  },
];

interface Sample {
  rps: number;
  p99: number;
  cpuMsPerReq: number;
  /** Spans exported per request served (warm-up included), for configurations that trace: like for like. */
  spansPerReq?: number;
  /** Detector armings and ms armed (every callback timed) over the process's life, warm-up included. */
  armed?: CountAndTotal;
}

/** Spans the OTLP sink received since the last reset. */
let sinkSpans = 0;

function countOtlpSpans(otlp: unknown): number {
  let n = 0;
  const body = otlp as { resourceSpans?: { scopeSpans?: { spans?: unknown[] }[] }[] };
  for (const rs of body.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) n += ss.spans?.length ?? 0;
  return n;
}

/** SIGTERM to the app, then wait (bounded) for the process we started to exit: traces are flushed on the way out. */
async function stopGracefully(child: ChildProcess, pid: number, timeoutMs = 8000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  await Promise.race([exited, new Promise((r) => setTimeout(r, timeoutMs))]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** pid of the process listening on 127.0.0.1:port (the app, whatever wraps it). */
function listenerPid(port: number): number | null {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && cols[3] === '0A' && parseInt(cols[1].split(':')[1], 16) === port) inodes.add(cols[9]);
    }
  }
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (m && inodes.has(m[1])) return Number(pid);
      }
    } catch {
      // process gone or not ours to read
    }
  }
  return null;
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

async function waitForPort(port: number, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`app exited (${child.exitCode}) before listening`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1', () => {
        sock.destroy();
        resolve(true);
      });
      sock.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`app did not listen on ${port} in ${timeoutMs} ms`);
}

async function runOnce(config: Config, appArgv: string[]): Promise<Sample> {
  const port = await freePort();
  const out = mkdtempSync(join(tmpdir(), `looplens-bench-${config.name}-`));
  const argv = appArgv.map((a) => a.replace(/\$PORT/g, String(port)));
  const wrapped = config.wrap(argv, out);
  const env = wrapped.env;
  // taskset: the app (and whatever wraps it) on its own CPUs, away from autocannon, Redis and PostgreSQL.
  const full = args['app-cpus'] ? ['taskset', '-c', args['app-cpus'], ...wrapped.argv] : wrapped.argv;
  const child = spawn(full[0], full.slice(1), {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  try {
    await waitForPort(port, child);
    const url = `http://127.0.0.1:${port}${args.path}`;
    const connections = Number(args.connections);
    sinkSpans = 0;
    const warm = await autocannon({ url, connections, duration: Number(args.warmup) });
    const pid = listenerPid(port);
    if (!pid) throw new Error('cannot find the app process');
    const cpu0 = cpuMs(pid);
    const result = await autocannon({ url, connections, duration: Number(args.duration) });
    const cpu1 = cpuMs(pid);
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`);
    const sample: Sample = { rps: result.requests.average, p99: result.latency.p99, cpuMsPerReq: (cpu1 - cpu0) / result.requests.total };
    if (config.spans || config.armed) await stopGracefully(child, pid);
    if (config.armed) {
      try {
        sample.armed = readBlocking(out).armed;
      } catch {
        // no valid blocking.json: the app did not exit cleanly; the row still has its timing
      }
    }
    if (config.spans) {
      let spans = sinkSpans;
      if (config.spans === 'file') {
        try {
          // Traced = kept in the file + dropped past LOOPLENS_MAX_SPANS (the Jaeger file records how many).
          spans = countOtlpSpans(readOtlpTraces(out)) + (readJaeger(out).looplens?.droppedSpans ?? 0);
        } catch {
          spans = NaN;
        }
      }
      sample.spansPerReq = spans / (warm.requests.total + result.requests.total);
    }
    return sample;
  } catch (err) {
    throw new Error(`${config.name}: ${(err as Error).message}\n${stderr.slice(-2000)}`);
  } finally {
    // The whole process group we started (wrappers such as clinic and 0x spawn the app as a child).
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await new Promise((r) => setTimeout(r, 300));
    rmSync(out, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (args['load-cpus']) {
    // autocannon runs in this process: pin it (all its threads) to the load CPUs.
    execFileSync('taskset', ['-a', '-p', '-c', args['load-cpus'], String(process.pid)], { stdio: 'ignore' });
  }
  const only = args.only?.split(',');
  const configs = CONFIGS.filter((c) => !only || only.includes(c.name));
  const appArgv = args.app!.split(/\s+/).filter(Boolean);
  if (appArgv[0] === 'node') appArgv[0] = process.execPath;
  const sink: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        if (req.url?.endsWith('/v1/traces')) sinkSpans += countOtlpSpans(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        // not OTLP JSON: nothing to count
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
  sinkUrl = `http://127.0.0.1:${(sink.address() as { port: number }).port}`;

  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadavgStart: loadavg().map((l) => l.toFixed(2)).join(' '),
  };
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, load ${machine.loadavgStart}`);
  const pinning = args['app-cpus'] ? `; app on CPU ${args['app-cpus']}, load on CPU ${args['load-cpus'] ?? 'any'}` : '';
  console.log(`app: ${args.app} ${args.path}; ${args.runs} runs × ${args.duration} s (+${args.warmup} s warm-up), ${args.connections} connections${pinning}\n`);
  const samples = new Map<string, Sample[]>(configs.map((c) => [c.name, []]));
  const runs = Number(args.runs);
  for (let i = 0; i < runs; i++) {
    // Rotate the order each round so no configuration always runs first or last.
    const order = configs.map((_, k) => configs[(k + i) % configs.length]);
    for (const config of order) {
      const s = await runOnce(config, appArgv);
      samples.get(config.name)!.push(s);
      const spans = s.spansPerReq === undefined ? '' : `  ${s.spansPerReq.toFixed(2)} spans/req`;
      const armed = s.armed ? `  detector armed ${s.armed.count}× ${(s.armed.totalMs / 1000).toFixed(1)} s` : '';
      console.log(`run ${i + 1}/${runs} ${config.name.padEnd(13)} ${s.rps.toFixed(0).padStart(6)} req/s  p99 ${String(s.p99).padStart(4)} ms  ${(s.cpuMsPerReq * 1000).toFixed(0)} µs CPU/req${spans}${armed}`);
    }
  }
  sink.close();
  const base = samples.get('none');
  const med = (name: string, k: 'rps' | 'p99' | 'cpuMsPerReq' | 'spansPerReq') => median(samples.get(name)!.map((s) => s[k] ?? NaN));
  const rows = configs.map((c) => {
    const rps = med(c.name, 'rps');
    const p99 = med(c.name, 'p99');
    const cpu = med(c.name, 'cpuMsPerReq') * 1000;
    const ratio = (v: number, b: number) => (base ? (v / b).toFixed(2) + '×' : '—');
    return {
      config: c.name,
      label: c.label,
      rps: Math.round(rps),
      rpsRatio: base ? ratio(rps, med('none', 'rps')) : '—',
      p99,
      p99Ratio: base ? ratio(p99, med('none', 'p99')) : '—',
      cpuUsPerReq: Math.round(cpu),
      cpuRatio: base ? ratio(cpu, med('none', 'cpuMsPerReq') * 1000) : '—',
      spansPerReq: c.spans ? med(c.name, 'spansPerReq') : null,
      armed: c.armed ? samples.get(c.name)!.map((s) => s.armed ?? null) : null,
      rpsRange: [Math.round(Math.min(...samples.get(c.name)!.map((s) => s.rps))), Math.round(Math.max(...samples.get(c.name)!.map((s) => s.rps)))],
    };
  });
  console.log(`\nmedians of ${runs} runs (load average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}):\n`);
  console.log('| configuration | req/s | vs none | p99 ms | vs none | CPU µs/req | vs none | spans/req | req/s range |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const spans = r.spansPerReq === null ? '—' : r.spansPerReq.toFixed(2);
    console.log(`| ${r.label} | ${r.rps} | ${r.rpsRatio} | ${r.p99} | ${r.p99Ratio} | ${r.cpuUsPerReq} | ${r.cpuRatio} | ${spans} | ${r.rpsRange[0]}–${r.rpsRange[1]} |`);
  }
  for (const r of rows.filter((r) => r.armed)) {
    // null: that run left no blocking.json to read, so whether it armed is unknown, not "never".
    const known = r.armed!.filter((a) => a !== null);
    const armed = known.filter((a) => a.count > 0);
    const what = armed.length ? `armed in ${armed.length} of ${known.length} runs (${armed.map((a) => `${(a.totalMs / 1000).toFixed(1)} s`).join(', ')})` : `never armed in ${known.length} runs`;
    const unknown = r.armed!.length - known.length;
    console.log(`${r.config}: detector ${what}${unknown ? `; ${unknown} runs left no blocking.json` : ''}`);
  }
  if (args.json) writeFileSync(args.json, JSON.stringify({ machine, args, rows, samples: Object.fromEntries(samples) }, null, 2));
}

const PARTS = ['none', 'histogram', 'arming-timer', 'profiler-1ms', 'profiler-5ms', 'hooks', 'detector'];

/** In a child process: sets up one part, then runs the fixed workload and prints CPU ms per round (JSON). */
async function partChild(part: string): Promise<void> {
  const dist = join(ROOT, 'dist/probes');
  if (part === 'histogram') {
    const { EventLoopSampler } = await import(join(dist, 'eventloop.js'));
    new EventLoopSampler('/dev/null').start();
  } else if (part === 'arming-timer') {
    const { ArmingMonitor } = await import(join(dist, 'blocking/arming.js'));
    const { openRunQueueClock } = await import(join(dist, 'blocking/runqueue.js'));
    new ArmingMonitor({ thresholdMs: 1e9, onArm() {}, onDisarm() {}, ownWork() {}, runQueueWaitMs: openRunQueueClock()?.read }).start();
  } else if (part.startsWith('profiler-')) {
    const { CpuProfiler } = await import(join(dist, 'cpu-profiler.js'));
    new CpuProfiler().start(part === 'profiler-1ms' ? 1000 : 5000);
  } else if (part === 'hooks') {
    const { createHook } = await import('node:async_hooks');
    let depth = 0;
    createHook({ before: () => void depth++, after: () => void depth-- }).enable();
  } else if (part === 'detector') {
    // Timing every callback, with the run-queue clock, as without tracing: the owner is known only where a request
    // starts, so the other callbacks (all short) are owned by no one.
    const { BlockDetector } = await import(join(dist, 'blocking/detector.js'));
    const { openRunQueueClock } = await import(join(dist, 'blocking/runqueue.js'));
    new BlockDetector({ thresholdMs: 20, currentOwner: () => null, rootOf: (o: object) => o, onBlock() {}, runQueueWaitMs: openRunQueueClock()?.read }).enable();
  }
  const work = (depth: number): number => {
    if (depth > 0) return work(depth - 1);
    let n = 0;
    for (let i = 0; i < 3; i++) n += JSON.stringify({ a: i, b: `x${i}` }).length;
    return n;
  };
  const request = async () => {
    for (let k = 0; k < 8; k++) {
      await null;
      work(25);
    }
    await new Promise((r) => setImmediate(r));
  };
  const round = async (n: number) => {
    const all: Promise<void>[] = [];
    for (let i = 0; i < n; i++) all.push(request());
    await Promise.all(all);
  };
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const N = 10_000;
  await round(N);
  await round(N);
  const out: number[] = [];
  for (let r = 0; r < 4; r++) {
    const c0 = cpu();
    await round(N);
    out.push((cpu() - c0) / N * 1000);
  }
  console.log(JSON.stringify(out));
  process.exit(0);
}

async function partsMain(): Promise<void> {
  const { execFileSync } = await import('node:child_process');
  const self = fileURLToPath(import.meta.url);
  const runs = Number(args.runs);
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores, Node ${process.version}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const all = new Map<string, number[]>(PARTS.map((p) => [p, []]));
  for (let i = 0; i < runs; i++) {
    for (const part of PARTS.map((_, k) => PARTS[(k + i) % PARTS.length])) {
      const text = execFileSync(process.execPath, [...process.execArgv, self, '--part', part], { cwd: ROOT, encoding: 'utf8' });
      all.get(part)!.push(...(JSON.parse(text.trim().split('\n').pop()!) as number[]));
    }
    process.stdout.write(`round ${i + 1}/${runs}\n`);
  }
  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))];
  const base = all.get('none')!;
  console.log(`\nCPU µs per workload request (8 awaits + a setImmediate; ${runs} processes × 4 rounds of 10,000), load at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}:\n`);
  console.log('| part | p25 µs | median µs | p25 vs none | median vs none |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [part, xs] of all) {
    console.log(`| ${part} | ${q(xs, 0.25).toFixed(2)} | ${q(xs, 0.5).toFixed(2)} | ${(q(xs, 0.25) / q(base, 0.25)).toFixed(2)}× | ${(q(xs, 0.5) / q(base, 0.5)).toFixed(2)}× |`);
  }
}

if (args.part) {
  void partChild(args.part);
} else if (args.parts) {
  partsMain().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
} else main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
