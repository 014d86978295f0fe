/**
 * What the heap profile costs (not a test): the server's CPU time per request of target-app's cached stage under
 * `looplens profile --stage cached`, with the heap profile on (`--heap`: LOOPLENS_HEAP_PROFILE=1, memory.jsonl and
 * heap.heapprofile) and off (the default, LOOPLENS_HEAP_PROFILE=0: memory.jsonl only), everything else as looplens runs it.
 * Runs are interleaved (on off on off …), each a fresh `looplens profile`; the app is pinned to --app-cpus and the
 * CLI (with its load generator) to --load-cpus (taskset). CPU time is the app process's user + system time
 * (/proc/<pid>/stat) between run.json entering `load` and leaving it, ÷ the requests the load generator counted in
 * the window — the heap profile's switch between its halves is inside that span; its exit work (a full GC, the
 * file) is not per request and is left out. Medians and [min, max] reported, with the switch's ms per run.
 *
 *   npx tsx bench/heap-profile.ts [--runs 5] [--duration 10] [--warmup 5] [--connections 10]
 *     [--app-cpus 1 --load-cpus 0] [--interval-kb 128] [--json out.json]
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readHeapProfile, readLoad } from '../profiles/contract/read.js';
import { readRunPhase } from '../profiles/contract/run-phase.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '5' },
    connections: { type: 'string', default: '10' },
    'app-cpus': { type: 'string', default: '1' },
    'load-cpus': { type: 'string', default: '0' },
    'interval-kb': { type: 'string' },
    json: { type: 'string' },
  },
});

/** user + system CPU ms of a process (/proc/<pid>/stat, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RunResult {
  heap: boolean;
  requests: number;
  rps: number;
  cpuMsPerRequest: number;
  switchMs: number | null;
}

async function once(heap: boolean, dir: string): Promise<RunResult> {
  const out = join(dir, `${heap ? 'on' : 'off'}-${Date.now()}`);
  const env = {
    ...process.env,
    LOOPLENS_QUIET: '1',
    LOOPLENS_HEAP_PROFILE: heap ? '1' : '0',
    ...(args['interval-kb'] ? { LOOPLENS_HEAP_INTERVAL_KB: args['interval-kb'] } : {}),
  };
  const cli = spawn(
    'taskset',
    ['-c', args['load-cpus']!, process.execPath, join(ROOT, 'bin/looplens.js'), 'profile', '--stage', 'cached', '-d', args.duration!, '--warmup', args.warmup!, '-c', args.connections!, '-o', out],
    { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  cli.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => cli.on('exit', (c) => r(c)));
  let pid: number | null = null;
  let cpu0: number | null = null;
  let cpu1: number | null = null;
  let done = false;
  exited.then(() => (done = true));
  while (!done) {
    if (pid === null && existsSync(join(out, 'listen.json'))) {
      try {
        pid = (JSON.parse(readFileSync(join(out, 'listen.json'), 'utf8')) as { servers: { pid: number }[] }).servers[0]!.pid;
        // the app and all its threads on their own CPU, away from the load generator
        execFileSync('taskset', ['-a', '-p', '-c', args['app-cpus']!, String(pid)], { stdio: 'ignore' });
      } catch {
        pid = null;
      }
    }
    const phase = readRunPhase(out)?.phase;
    if (pid !== null && cpu0 === null && phase === 'load') cpu0 = cpuMs(pid);
    if (pid !== null && cpu0 !== null && cpu1 === null && phase !== 'load') cpu1 = cpuMs(pid);
    await sleep(20);
  }
  const code = await exited;
  if (code !== 0 || cpu0 === null || cpu1 === null) throw new Error(`run failed (exit ${code}, cpu ${cpu0} → ${cpu1}): ${stderr.slice(-500)}`);
  const load = readLoad(out);
  const switchMs = heap ? (readHeapProfile(out).looplens?.switchMs ?? null) : null;
  return { heap, requests: load.overall.requests, rps: load.overall.rps, cpuMsPerRequest: (cpu1 - cpu0) / load.overall.requests, switchMs };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'looplens-bench-heap-'));
  const runs = Number(args.runs);
  const started = { load: loadavg(), at: new Date().toISOString() };
  const results: RunResult[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      for (const heap of i % 2 ? [false, true] : [true, false]) {
        const r = await once(heap, dir);
        results.push(r);
        console.error(`${heap ? 'on ' : 'off'}  ${r.requests} requests, ${r.rps} req/s, ${r.cpuMsPerRequest.toFixed(3)} ms CPU/request${r.switchMs !== null ? `, switch ${r.switchMs} ms` : ''}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const side = (heap: boolean) => results.filter((r) => r.heap === heap);
  const sum = (heap: boolean) => {
    const c = side(heap).map((r) => r.cpuMsPerRequest);
    const q = side(heap).map((r) => r.rps);
    return { cpuMsPerRequest: median(c), cpuRange: [Math.min(...c), Math.max(...c)], rps: median(q), rpsRange: [Math.min(...q), Math.max(...q)] };
  };
  const on = sum(true);
  const off = sum(false);
  const report = {
    command: `npx tsx bench/heap-profile.ts ${process.argv.slice(2).join(' ')}`.trim(),
    commit: execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim(),
    machine: `${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${process.platform}-${process.arch}, Node ${process.version}`,
    loadAverage: { start: started.load.map((x) => Math.round(x * 100) / 100), end: loadavg().map((x) => Math.round(x * 100) / 100) },
    at: started.at,
    on,
    off,
    costShare: on.cpuMsPerRequest / off.cpuMsPerRequest - 1,
    switchMs: side(true).map((r) => r.switchMs),
    runs: results,
  };
  if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 2) + '\n');
  console.log(JSON.stringify({ ...report, runs: undefined }, null, 2));
}

main().catch((err) => {
  console.error((err as Error).message);
  process.exit(1);
});
