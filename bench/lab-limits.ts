/**
 * The lab's limits (not a test), in two parts:
 *
 * (a) Lab wall time and stage-by-stage speedups: runs `node bin/looplens.js lab` (its defaults, or the flags given
 *     after `--`), times it, and prints from lab.json and each stage's run.json: total and per-stage wall time, and
 *     per stage the speedup vs the previous stage and vs baseline on each route's p50/p95 and on req/s.
 * (b) The cached stage against its limit: target-app's cached stage and a bare Fastify route serving exactly the
 *     bytes of the cached answer from memory (bench/fixtures/bare-fastify.mjs), both WITHOUT probes, autocannon runs
 *     interleaved (A B, B A, …; ≥ 5 each, same connections and duration); medians of req/s, p50, p99 and the server's
 *     CPU time per request (the Node process only: Redis's own CPU is not counted), and the ratio cached ÷ bare —
 *     how close the cached stage is to the limit.
 *
 *   npx tsx bench/lab-limits.ts [--lab-dir profiles/<lab>] [--skip-lab] [--skip-limit] [--rounds 5] [--duration 5]
 *     [--warmup 1] [--connections 10] [--user 1] [--routes timeline,notifications] [--json out.json] [-- <lab flags>]
 *
 * --lab-dir reads an existing lab instead of running one. Part (b) needs what the lab needs: PostgreSQL with the
 * seeded `looplens` database (DATABASE_URL), Redis (REDIS_URL) and a build (`npm run build`); it starts the
 * external-services stand-in itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { readLab, readRunInfo } from '../profiles/contract/read.js';
import type { LabFile, RequestStats } from '../profiles/contract/types.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const { values: args, positionals: labArgs } = parseArgs({
  allowPositionals: true,
  options: {
    'lab-dir': { type: 'string' },
    'skip-lab': { type: 'boolean', default: false },
    'skip-limit': { type: 'boolean', default: false },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '10' },
    user: { type: 'string', default: '1' },
    routes: { type: 'string', default: 'timeline,notifications' },
    json: { type: 'string' },
  },
});

const loadNow = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const fmt = (v: number, d = 1) => (Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: 0 }) : '—');
const ratio = (v: number) => (Number.isFinite(v) && v > 0 ? `${v >= 10 ? v.toFixed(0) : v.toFixed(2)}×` : '—');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// ---- (a) the lab ------------------------------------------------------------------------------------------------

async function runLab(): Promise<{ dir: string; wallS: number }> {
  const argv = [join(ROOT, 'bin/looplens.js'), 'lab', ...labArgs];
  console.log(`running: node bin/looplens.js lab ${labArgs.join(' ')}`.trim());
  const t0 = performance.now();
  const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  const wallS = (performance.now() - t0) / 1000;
  const m = /lab folder: (.+?) \(/.exec(stdout);
  if (code !== 0 || !m) throw new Error(`looplens lab failed (exit ${code}):\n${stdout.slice(-3000)}`);
  return { dir: resolve(ROOT, m[1]), wallS };
}

interface LabReport {
  dir: string;
  benchWallS?: number;
  labWallS: number;
  beforeStagesS: number;
  stages: { stage: string; wallS: number; rps: number }[];
  markdown: string;
}

function reportLab(dir: string, benchWallS?: number): LabReport {
  const lab: LabFile = readLab(dir);
  const labStart = Date.parse(lab.startedAt);
  const labEnd = lab.endedAt ? Date.parse(lab.endedAt) : NaN;
  const stages = lab.stages.map((s) => {
    // With --runs N every run of a stage has its own folder (<nn>-<stage>-run<r>); the stage's wall time is their sum.
    const prefix = s.run.replace(/-run\d+$/, '');
    const folders = readdirSync(dir).filter((f) => f === prefix || new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-run\\d+$`).test(f));
    const infos = folders.map((f) => readRunInfo(join(dir, f)));
    const wallS = infos.reduce((sum, i) => sum + (i.endedAt ? (Date.parse(i.endedAt) - Date.parse(i.startedAt)) / 1000 : NaN), 0);
    const startedAt = Math.min(...infos.map((i) => Date.parse(i.startedAt)));
    return { stage: s.stage, wallS, startedAt, rps: s.summary.overall.rps, summary: s.summary };
  });
  const beforeStagesS = stages.length ? (stages[0].startedAt - labStart) / 1000 : NaN;
  const l = lab.settings.load;
  const lines: string[] = [];
  lines.push(
    `lab ${lab.id}${lab.complete ? '' : ' (INCOMPLETE)'}: ${l.durationS} s load after ${l.warmupS} s warmup, ${l.connections} connections, ` +
      `scenario ${l.scenario ?? '—'}, profiler ${lab.settings.profiler}, scale ${lab.settings.scale ?? '—'}`,
  );
  lines.push(
    `wall time: ${benchWallS !== undefined ? `${fmt(benchWallS)} s for the whole command, ` : ''}${fmt((labEnd - labStart) / 1000)} s from lab.json's start to end, ` +
      `of which ${fmt(beforeStagesS)} s before the first stage (services, seed check, external services)`,
  );
  lines.push('');
  const loadS = l.durationS + l.warmupS;
  lines.push(`| stage | wall s | of which not under load (start, stop, analysis) s | req/s | req/s vs previous | req/s vs baseline |`);
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: |');
  stages.forEach((s, i) => {
    const prev = stages[i - 1];
    lines.push(`| ${s.stage} | ${fmt(s.wallS)} | ${fmt(s.wallS - loadS * (l.runs ?? 1))} | ${fmt(s.rps)}${s.summary.overall.requests === 0 ? ' (no request finished)' : ''} | ${prev ? ratio(s.rps / prev.rps) : '—'} | ${i ? ratio(s.rps / stages[0].rps) : '—'} |`);
  });
  lines.push('');
  lines.push('Latency speedups (previous ÷ this stage; > 1 = faster), each cell "ms (vs previous, vs baseline)":');
  lines.push('');
  lines.push(`| route | ${stages.map((s) => s.stage).join(' | ')} |`);
  lines.push(`| --- | ${stages.map(() => '---').join(' | ')} |`);
  const routes = [...new Set(stages.flatMap((s) => Object.keys(s.summary.routes)))].sort();
  /** "ms (vs previous, vs baseline)" of a route (or '*': overall) in stage i. */
  const cell = (get: (r: RequestStats) => number, i: number, key: string) => {
    const v = (k: number) => {
      const r = key === '*' ? stages[k].summary.overall : stages[k].summary.routes[key];
      return r && r.requests > 0 ? get(r) : NaN; // no request finished: no latency
    };
    const here = v(i);
    if (!Number.isFinite(here)) return '—';
    if (i === 0) return fmt(here);
    return `${fmt(here)} (${ratio(v(i - 1) / here)}, ${ratio(v(0) / here)})`;
  };
  for (const [label, get] of [
    ['p50', (r: RequestStats) => r.latencyMs.p50],
    ['p95', (r: RequestStats) => r.latencyMs.p95],
  ] as const) {
    for (const key of routes) lines.push(`| ${key} ${label} ms | ${stages.map((_, i) => cell(get, i, key)).join(' | ')} |`);
    lines.push(`| overall ${label} ms | ${stages.map((_, i) => cell(get, i, '*')).join(' | ')} |`);
  }
  return {
    dir,
    benchWallS,
    labWallS: (labEnd - labStart) / 1000,
    beforeStagesS,
    stages: stages.map((s) => ({ stage: s.stage, wallS: s.wallS, rps: s.rps })),
    markdown: lines.join('\n'),
  };
}

// ---- (b) the cached stage against a bare route -----------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Starts `node <file>` and waits for a stdout line matching `ready`. */
async function start(file: string, env: Record<string, string>, ready: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, [file], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not start in 60 s:\n${out.slice(-2000)}`)), 60_000);
    child.stdout!.on('data', () => {
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited (${code}) before it was ready:\n${out.slice(-2000)}`));
    });
  });
  return child;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 6000);
  await exited;
  clearTimeout(t);
}

/** user + system CPU ms of a process (/proc/<pid>/stat, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  cpuUsPerReq: number;
}

async function measure(url: string, pid: number): Promise<Sample> {
  const connections = Number(args.connections);
  await autocannon({ url, connections, duration: Number(args.warmup) });
  const cpu0 = cpuMs(pid);
  const r = await autocannon({ url, connections, duration: Number(args.duration) });
  const cpu1 = cpuMs(pid);
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, cpuUsPerReq: ((cpu1 - cpu0) * 1000) / r.requests.total };
}

interface LimitRow {
  route: string;
  bytes: number;
  cached: Sample;
  bare: Sample;
  samples: { cached: Sample[]; bare: Sample[] };
}

async function limit(): Promise<{ rows: LimitRow[]; markdown: string }> {
  for (const f of ['dist/target-app/main.js', 'dist/target-app/upstream/main.js']) {
    if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: run \`npm run build\` first`);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'looplens-lab-limits-'));
  const user = args.user!;
  const wanted = args.routes!.split(',').map((r) => r.trim());
  const paths: Record<string, { template: string; path: string }> = {
    timeline: { template: '/users/:id/timeline', path: `/users/${user}/timeline` },
    notifications: { template: '/users/:id/notifications', path: `/users/${user}/notifications` },
  };
  let upstream: ChildProcess | undefined;
  let cached: ChildProcess | undefined;
  let bare: ChildProcess | undefined;
  try {
    const upPort = await freePort();
    upstream = await start(join(ROOT, 'dist/target-app/upstream/main.js'), { PORT: String(upPort), HOST: '127.0.0.1' }, /upstream listening/);
    const cachedPort = await freePort();
    cached = await start(
      join(ROOT, 'dist/target-app/main.js'),
      { STAGE: 'cached', PORT: String(cachedPort), UPSTREAM_URL: `http://127.0.0.1:${upPort}` },
      /target-app listening/,
    );
    // The exact bytes the cached stage answers (asked twice: the second answer comes from Redis).
    const bareRoutes: Record<string, { file: string; type: string }> = {};
    const bytes: Record<string, number> = {};
    for (const name of wanted) {
      const p = paths[name];
      if (!p) throw new Error(`unknown route "${name}": use timeline, notifications`);
      await fetch(`http://127.0.0.1:${cachedPort}${p.path}`).then((r) => r.arrayBuffer());
      const res = await fetch(`http://127.0.0.1:${cachedPort}${p.path}`);
      if (res.status !== 200) throw new Error(`cached stage answered ${res.status} on ${p.path}`);
      const body = Buffer.from(await res.arrayBuffer());
      const file = join(tmp, `${name}.body`);
      writeFileSync(file, body);
      bareRoutes[p.template] = { file, type: res.headers.get('content-type') ?? 'application/json' };
      bytes[name] = body.length;
    }
    const barePort = await freePort();
    bare = await start(join(ROOT, 'bench/fixtures/bare-fastify.mjs'), { PORT: String(barePort), BARE_ROUTES: JSON.stringify(bareRoutes) }, /LISTENING/);
    for (const name of wanted) {
      const a = Buffer.from(await (await fetch(`http://127.0.0.1:${cachedPort}${paths[name].path}`)).arrayBuffer());
      const b = Buffer.from(await (await fetch(`http://127.0.0.1:${barePort}${paths[name].path}`)).arrayBuffer());
      if (!a.equals(b)) throw new Error(`the bare server's ${name} bytes differ from the cached stage's`);
    }
    const stats = async () => ((await (await fetch(`http://127.0.0.1:${cachedPort}/stats`)).json()) as { cache?: { hits: number; misses: number } }).cache;
    const before = await stats();
    const rows: LimitRow[] = [];
    const rounds = Number(args.rounds);
    for (const name of wanted) {
      const s = { cached: [] as Sample[], bare: [] as Sample[] };
      // One unrecorded round first: the first run after start-up (JIT, Redis connection) is far slower here.
      for (const [port, pid] of [[cachedPort, cached.pid!], [barePort, bare.pid!]]) await measure(`http://127.0.0.1:${port}${paths[name].path}`, pid);
      for (let i = 0; i < rounds; i++) {
        // A B, B A, …: neither always runs first
        const order: ('cached' | 'bare')[] = i % 2 ? ['bare', 'cached'] : ['cached', 'bare'];
        for (const which of order) {
          const port = which === 'cached' ? cachedPort : barePort;
          const pid = (which === 'cached' ? cached : bare)!.pid!;
          const sample = await measure(`http://127.0.0.1:${port}${paths[name].path}`, pid);
          s[which].push(sample);
          console.log(
            `${name} round ${i + 1}/${rounds} ${which.padEnd(6)} ${fmt(sample.rps, 0).padStart(7)} req/s  p50 ${sample.p50} ms  p99 ${sample.p99} ms  ${fmt(sample.cpuUsPerReq, 0)} µs CPU/req`,
          );
        }
      }
      const med = (xs: Sample[]): Sample => ({
        rps: median(xs.map((x) => x.rps)),
        p50: median(xs.map((x) => x.p50)),
        p99: median(xs.map((x) => x.p99)),
        cpuUsPerReq: median(xs.map((x) => x.cpuUsPerReq)),
      });
      rows.push({ route: `GET ${paths[name].template}`, bytes: bytes[name], cached: med(s.cached), bare: med(s.bare), samples: s });
    }
    // Other load on the machine only ever slows a run down: the best run of each is a second, less noisy estimate.
    const best = (xs: Sample[]) => Math.max(...xs.map((x) => x.rps));
    const after = await stats();
    const hits = (after?.hits ?? 0) - (before?.hits ?? 0);
    const misses = (after?.misses ?? 0) - (before?.misses ?? 0);
    const lines = [
      `Medians of ${rounds} interleaved runs each (after one unrecorded round), autocannon ${args.connections} connections × ${args.duration} s (after ${args.warmup} s warm-up), user ${user}, no probes; ` +
        `the cached stage answered ${fmt((100 * hits) / Math.max(1, hits + misses))} % of its reads from Redis (${hits} hits, ${misses} misses):`,
      '',
      '| route (bytes) | cached req/s | bare req/s | cached ÷ bare | best of each: cached / bare req/s (ratio) | cached p50 / p99 ms | bare p50 / p99 ms | cached CPU µs/req | bare CPU µs/req | cached ÷ bare CPU |',
      '| --- | ---: | ---: | ---: | --- | --- | --- | ---: | ---: | ---: |',
      ...rows.map(
        (r) =>
          `| ${r.route} (${r.bytes}) | ${fmt(r.cached.rps, 0)} | ${fmt(r.bare.rps, 0)} | ${(r.cached.rps / r.bare.rps).toFixed(2)} | ` +
          `${fmt(best(r.samples.cached), 0)} / ${fmt(best(r.samples.bare), 0)} (${(best(r.samples.cached) / best(r.samples.bare)).toFixed(2)}) | ${r.cached.p50} / ${r.cached.p99} | ` +
          `${r.bare.p50} / ${r.bare.p99} | ${fmt(r.cached.cpuUsPerReq, 0)} | ${fmt(r.bare.cpuUsPerReq, 0)} | ${(r.cached.cpuUsPerReq / r.bare.cpuUsPerReq).toFixed(2)}× |`,
      ),
    ];
    return { rows, markdown: lines.join('\n') };
  } finally {
    await stop(bare);
    await stop(cached);
    await stop(upstream);
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadavgStart: loadNow(),
    date: new Date().toISOString(),
  };
  const command = `npx tsx bench/lab-limits.ts ${process.argv.slice(2).join(' ')}`.trim();
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, load average ${machine.loadavgStart}, ${machine.date}`);
  console.log(`command: ${command}\n`);
  let lab: LabReport | undefined;
  if (args['lab-dir']) lab = reportLab(resolve(args['lab-dir']));
  else if (!args['skip-lab']) {
    const { dir, wallS } = await runLab();
    lab = reportLab(dir, wallS);
  }
  if (lab) console.log(`\n## Lab wall time and stage speedups (load average now ${loadNow()})\n\n${lab.markdown}\n`);
  let lim: Awaited<ReturnType<typeof limit>> | undefined;
  if (!args['skip-limit']) {
    console.log(`\n## The cached stage against a bare Fastify route (load average at start ${loadNow()})\n`);
    lim = await limit();
    console.log(`\n${lim.markdown}\n\nload average at end ${loadNow()}`);
  }
  if (args.json) writeFileSync(args.json, JSON.stringify({ machine, command, lab, limit: lim?.rows }, null, 2));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
