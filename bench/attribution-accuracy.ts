/**
 * Attribution accuracy benchmark (not a test): a generated corpus of injected event-loop blocks — pure JS, fs reads
 * (readFileSync), fs writes (writeSync + fsyncSync), crypto (pbkdf2Sync), zlib (gzipSync) and target-app's
 * synchronous PostgreSQL client (querySync → `SELECT pg_sleep(…)`, worker + Atomics.wait) — of several durations,
 * one route per (kind, duration) of a fixture app (bench/fixtures/blocking-corpus.mjs, Fastify and node:http), run
 * under the probes (`node --import dist/probes/register.js`) under concurrent load that also hits routes which only
 * await timers (true negatives). blocking.json is then scored against the fixture's own ground truth (each block
 * measured inside its function with performance.now(), less the Linux run-queue wait, as the detector reports it).
 *
 *   npx tsx bench/attribution-accuracy.ts [--servers fastify,http] [--kinds js,fsread,fswrite,crypto,zlib,db]
 *     [--durations 5,10,20,50,100,200] [--threshold 20] [--low-threshold 3] [--low-durations 5,10,20]
 *     [--duration 20] [--connections 8] [--database-url postgres://…/postgres] [--json out.json] [--keep]
 *
 * Two passes per server: the detector's default threshold (20 ms) over every duration (blocks below the threshold
 * are expected to produce no event), then a low threshold (3 ms) over the short durations only, so the 5 and 10 ms
 * blocks are scored too. --low-threshold 0 skips the second pass. Needs `npm run build` (the probes and target-app's
 * sync client are loaded from dist/) and PostgreSQL for the db kind (only `SELECT pg_sleep(…)` runs; --kinds without
 * db needs none). --json adds every unmatched event and every block whose duration is off by more than 10 ms; --keep
 * leaves each pass's run folder (blocking.json, profile.cpuprofile, traces) and ground truth in the temp folder.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readBlocking } from '../profiles/contract/read.js';
import type { BlockingEvent } from '../profiles/contract/types.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = join(ROOT, 'bench/fixtures/blocking-corpus.mjs');
const REGISTER = join(ROOT, 'dist/probes/register.js');
const TIMER_ROUTES = ['/timer/0', '/timer/5', '/timer/30'];
/** How far before its block an event may end and still be matched to it (see PassResult.lateMatches). */
const LATE_MS = 250;

const { values: args } = parseArgs({
  options: {
    servers: { type: 'string', default: 'fastify,http' },
    kinds: { type: 'string', default: 'js,fsread,fswrite,crypto,zlib,db' },
    durations: { type: 'string', default: '5,10,20,50,100,200' },
    threshold: { type: 'string', default: '20' },
    'low-threshold': { type: 'string', default: '3' },
    'low-durations': { type: 'string', default: '5,10,20' },
    duration: { type: 'string', default: '20' },
    connections: { type: 'string', default: '8' },
    'database-url': { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});

interface Truth {
  kind: string;
  nominalMs: number;
  route: string;
  fn: string;
  startMs: number;
  /** Own time: wall less run-queue wait. */
  durationMs: number;
  wallMs: number;
}

interface Pass {
  server: string;
  thresholdMs: number;
  durations: number[];
}

interface CallResult {
  truth: Truth;
  /** ms of events matched to this call that name the right route and function. */
  rightMs: number;
  /** ms of events matched to this call that do not. */
  wrongMs: number;
  wrongFrames: string[];
  /** topFrame of every event matched to this call. */
  named: string[];
  /** The events matched to this call. */
  events: BlockingEvent[];
}

interface CellStats {
  server: string;
  thresholdMs: number;
  kind: string;
  nominalMs: number;
  calls: number;
  /** Calls whose own duration reached the threshold (the ones the detector must report). */
  eligible: number;
  injectedMedianMs: number;
  /** right ms / all event ms matched to this cell's calls. */
  attributedShare: number | null;
  /** found eligible calls / eligible calls. */
  recall: number | null;
  missed: number;
  errMedianMs: number | null;
  errP95Ms: number | null;
  /** Median of detected − injected (signed): the request's own work around the block (routing, serialising, spans). */
  biasMs: number | null;
  /** Calls below the threshold that still got an event (not expected). */
  subThresholdEvents: number;
  wrongFrames: Record<string, number>;
  /** topFrame of the events matched to this cell's blocks, with counts. */
  named: Record<string, number>;
  /** Event ms matched to this cell's calls, and the part of it on the right route and function. */
  matchedMs: number;
  rightMs: number;
  /** |detected − injected| per found call, ms. */
  errorsMs: number[];
}

interface PassResult {
  pass: Pass;
  cells: CellStats[];
  /** Per injected block (not written to --json). */
  calls: CallResult[];
  events: number;
  eventMs: number;
  /** Events that overlap no injected block. */
  unmatched: {
    count: number;
    ms: number;
    byRoute: Record<string, number>;
    frames: Record<string, number>;
    /** The events themselves, each with the gap to the nearest injected block of its route (ms; null: none). */
    events: (BlockingEvent & { gapToNearestBlockMs: number | null })[];
  };
  /**
   * Events that overlap no injected block in time but sit just before one of their route (their block started
   * within LATE_MS after the event's startMs + durationMs): matched to it. An event's startMs is when its callback
   * started and its durationMs leaves out the run-queue wait, so on a loaded machine [startMs, startMs + durationMs]
   * can end before the block it measured did.
   */
  lateMatches: { count: number; gapsMs: number[] };
  /** Events on the timer-only routes (must be none). */
  timerRouteEvents: number;
  requests: number;
  non2xx: number;
  descheduled?: { count: number; totalMs: number };
  loadavg: string;
}

/** The commit the probes in dist/ were most likely built from, and whether probes/ had local changes. */
function gitDescribe(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'probes'], { cwd: ROOT, encoding: 'utf8' }).trim();
    return `${sha}${dirty ? ' (probes/ modified)' : ''}`;
  } catch {
    return 'an unknown commit';
  }
}

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const nums = (s: string) => list(s).map(Number);

function median(xs: number[]): number | null {
  return quantile(xs, 0.5);
}
function quantile(xs: number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.ceil(pos)] - s[lo]) * (pos - lo);
}
const inc = (m: Record<string, number>, k: string, by = 1) => (m[k] = (m[k] ?? 0) + by);

/**
 * The right function: the event's innermost app frame is the kind's block function — or, for the db kind, a frame of
 * target-app's synchronous client (querySync and the bridge it waits in) on a stack that runs through blockDb.
 */
function rightFunction(e: BlockingEvent, t: Truth): boolean {
  if (e.topFrame.startsWith(`${t.fn} (`)) return true;
  if (t.kind !== 'db') return false;
  const inClient = /target-app\/(db\/sync-client|lib\/blocking-bridge)\.(js|ts):/.test(e.topFrame);
  return inClient && e.frames.some((f) => f.functionName === t.fn);
}

function cellStats(server: string, thresholdMs: number, kind: string, nominalMs: number, cs: CallResult[]): CellStats {
  const eligible = cs.filter((c) => c.truth.durationMs >= thresholdMs);
  const found = eligible.filter((c) => c.rightMs > 0);
  const right = cs.reduce((s, c) => s + c.rightMs, 0);
  const all = cs.reduce((s, c) => s + c.rightMs + c.wrongMs, 0);
  const signed = found.map((c) => c.rightMs - c.truth.durationMs);
  const errors = signed.map(Math.abs);
  const wrongFrames: Record<string, number> = {};
  for (const c of cs) for (const f of c.wrongFrames) inc(wrongFrames, f);
  const named: Record<string, number> = {};
  for (const c of cs) for (const f of c.named) inc(named, f);
  return {
    server,
    thresholdMs,
    kind,
    nominalMs,
    calls: cs.length,
    eligible: eligible.length,
    injectedMedianMs: median(cs.map((c) => c.truth.durationMs))!,
    attributedShare: all > 0 ? right / all : null,
    recall: eligible.length ? found.length / eligible.length : null,
    missed: eligible.length - found.length,
    errMedianMs: median(errors),
    errP95Ms: quantile(errors, 0.95),
    biasMs: median(signed),
    subThresholdEvents: cs.filter((c) => c.truth.durationMs < thresholdMs && c.rightMs + c.wrongMs > 0).length,
    wrongFrames,
    named,
    matchedMs: all,
    rightMs: right,
    errorsMs: errors.map((e) => Math.round(e * 100) / 100),
  };
}

function score(pass: Pass, events: BlockingEvent[], truth: Truth[], fromMs: number, untilMs: number): Omit<PassResult, 'requests' | 'non2xx' | 'descheduled' | 'loadavg'> {
  // Only what happened inside the measured load: the app may still finish requests after SIGINT.
  const evs = events.filter((e) => e.startMs >= fromMs && e.startMs + e.durationMs <= untilMs);
  const calls: CallResult[] = truth
    .filter((t) => t.startMs >= fromMs && t.startMs + t.wallMs <= untilMs)
    .map((t) => ({ truth: t, rightMs: 0, wrongMs: 0, wrongFrames: [], named: [], events: [] }));
  const unmatched: PassResult['unmatched'] = { count: 0, ms: 0, byRoute: {}, frames: {}, events: [] };
  const lateMatches: PassResult['lateMatches'] = { count: 0, gapsMs: [] };
  const matched = new Set<CallResult>();
  let timerRouteEvents = 0;
  let eventMs = 0;
  for (const e of evs) {
    eventMs += e.durationMs;
    if (e.route && TIMER_ROUTES.some((p) => e.route!.endsWith(` ${p}`))) timerRouteEvents++;
    let best: CallResult | null = null;
    let bestOverlap = 0;
    for (const c of calls) {
      const overlap = Math.min(e.startMs + e.durationMs, c.truth.startMs + c.truth.wallMs) - Math.max(e.startMs, c.truth.startMs);
      if (overlap > bestOverlap) {
        best = c;
        bestOverlap = overlap;
      }
    }
    if (!best) {
      const end = e.startMs + e.durationMs;
      const sameRoute = calls.filter((c) => c.truth.route === e.route);
      const late = sameRoute
        .filter((c) => !matched.has(c) && c.truth.startMs >= end && c.truth.startMs - end <= LATE_MS)
        .sort((a, b) => a.truth.startMs - b.truth.startMs)[0];
      if (late) {
        best = late;
        lateMatches.count++;
        lateMatches.gapsMs.push(Math.round((late.truth.startMs - end) * 10) / 10);
      } else {
        const gaps = sameRoute.map((c) => Math.max(c.truth.startMs - end, e.startMs - (c.truth.startMs + c.truth.wallMs)));
        unmatched.count++;
        unmatched.ms += e.durationMs;
        inc(unmatched.byRoute, e.route ?? '(no route)');
        inc(unmatched.frames, e.topFrame);
        unmatched.events.push({ ...e, frames: e.frames.slice(0, 8), gapToNearestBlockMs: gaps.length ? Math.round(Math.min(...gaps) * 10) / 10 : null });
        continue;
      }
    }
    matched.add(best);
    best.named.push(e.topFrame);
    best.events.push(e);
    if (e.route === best.truth.route && rightFunction(e, best.truth)) best.rightMs += e.durationMs;
    else {
      best.wrongMs += e.durationMs;
      best.wrongFrames.push(`${e.route ?? '(no route)'} ← ${e.topFrame}`);
    }
  }
  const cells: CellStats[] = [];
  const kinds = [...new Set(calls.map((c) => c.truth.kind))];
  for (const kind of list(args.kinds!).filter((k) => kinds.includes(k))) {
    for (const nominalMs of pass.durations) {
      const cs = calls.filter((c) => c.truth.kind === kind && c.truth.nominalMs === nominalMs);
      if (cs.length) cells.push(cellStats(pass.server, pass.thresholdMs, kind, nominalMs, cs));
    }
  }
  return { pass, cells, calls, events: evs.length, eventMs, unmatched, lateMatches, timerRouteEvents };
}

/**
 * Closed-loop load: `connections` keep-alive clients, each cycling through `paths` from its own offset (so every
 * route is hit from the start, whatever the duration), until `durationMs` has passed.
 */
async function load(port: number, paths: string[], connections: number, durationMs: number): Promise<{ requests: number; failed: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const deadline = Date.now() + durationMs;
  let requests = 0;
  let failed = 0;
  const get = (path: string) =>
    new Promise<void>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          requests++;
          if (res.statusCode !== 200) failed++;
          resolve();
        });
      });
      req.on('error', () => {
        failed++;
        resolve();
      });
    });
  await Promise.all(
    Array.from({ length: connections }, async (_, c) => {
      for (let i = Math.floor((c * paths.length) / connections); Date.now() < deadline; i++) await get(paths[i % paths.length]);
    }),
  );
  agent.destroy();
  return { requests, failed };
}

async function runPass(pass: Pass): Promise<PassResult> {
  const dir = mkdtempSync(join(tmpdir(), 'looplens-attribution-'));
  const out = join(dir, 'out');
  const truthFile = join(dir, 'truth.jsonl');
  const kinds = list(args.kinds!);
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    LOOPLENS_OUT: out,
    LOOPLENS_BLOCK_THRESHOLD_MS: String(pass.thresholdMs),
    CORPUS_KINDS: kinds.join(','),
    CORPUS_DURATIONS: pass.durations.join(','),
    CORPUS_SERVER: pass.server,
    CORPUS_TRUTH: truthFile,
    DATABASE_URL: args['database-url']!,
  };
  delete env.LOOPLENS_PROBE_PID;
  const child = spawn(process.execPath, ['--import', REGISTER, FIXTURE], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the fixture did not listen within 60 s')), 60_000);
      child.stdout.on('data', () => {
        const m = /LISTENING (\d+)/.exec(stdout);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      exited.then(() => reject(new Error(`the fixture exited before listening:\n${stderr.slice(-2000)}`)));
    });
    const blockPaths = kinds.flatMap((k) => pass.durations.map((ms) => `/block/${k}/${ms}`));
    // Warm-up: every route twice, one at a time (JIT, first-request costs, the detector arming itself).
    for (let i = 0; i < 2; i++) for (const p of [...blockPaths, ...TIMER_ROUTES]) await fetch(`http://127.0.0.1:${port}${p}`).then((r) => r.arrayBuffer());
    // The load cycles through the block routes with a timer-only route after every third one.
    const paths: string[] = [];
    blockPaths.forEach((p, i) => {
      paths.push(p);
      if (i % 3 === 2) paths.push(TIMER_ROUTES[(i / 3) % TIMER_ROUTES.length | 0]);
    });
    const loadStartMs = Date.now();
    const result = await load(port, paths, Number(args.connections), Number(args.duration) * 1000);
    const stopMs = Date.now();
    child.kill('SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    if (!existsSync(truthFile)) throw new Error(`no ground truth written:\n${stderr.slice(-2000)}`);
    const truth = readFileSync(truthFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Truth);
    const blocking = readBlocking(out);
    if (blocking.thresholdMs !== pass.thresholdMs) throw new Error(`blocking.json says threshold ${blocking.thresholdMs}, expected ${pass.thresholdMs}`);
    return {
      ...score(pass, blocking.events, truth, loadStartMs, stopMs),
      requests: result.requests,
      non2xx: result.failed,
      descheduled: blocking.descheduled,
      loadavg: loadavg().map((l) => l.toFixed(2)).join(' '),
    };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (args.keep) console.log(`(kept: ${dir} — out/ is the run folder, truth.jsonl the ground truth)`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)} %`);
const ms = (v: number | null, d = 1) => (v === null ? '—' : v.toFixed(d));

function printPass(r: PassResult): void {
  const { pass } = r;
  console.log(`\n### ${pass.server}, threshold ${pass.thresholdMs} ms (${r.requests} requests, ${r.non2xx} non-2xx/errors, load average after ${r.loadavg})\n`);
  console.log('| kind | injected ms (nominal → median measured) | blocks | ≥ threshold | right route + function (share of ms) | recall | missed | \\|detected − injected\\| median / p95 ms | detected − injected median ms | events below threshold |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |');
  for (const c of r.cells) {
    console.log(
      `| ${c.kind} | ${c.nominalMs} → ${ms(c.injectedMedianMs)} | ${c.calls} | ${c.eligible} | ${pct(c.attributedShare)} | ${pct(c.recall)} | ${c.missed} | ${ms(c.errMedianMs, 2)} / ${ms(c.errP95Ms, 2)} | ${c.biasMs === null ? '—' : (c.biasMs > 0 ? '+' : '') + c.biasMs.toFixed(2)} | ${c.subThresholdEvents} |`,
    );
  }
  console.log(
    `\nfalse positives: ${r.unmatched.count} events (${ms(r.unmatched.ms)} ms) overlapping no injected block` +
      `${r.unmatched.count ? ` — routes ${JSON.stringify(r.unmatched.byRoute)}, frames ${JSON.stringify(r.unmatched.frames)}` : ''}; ` +
      `${r.timerRouteEvents} events on the timer-only routes; ${r.events} events (${ms(r.eventMs)} ms) in all` +
      `${r.lateMatches.count ? `; ${r.lateMatches.count} events ended ${r.lateMatches.gapsMs.join(', ')} ms before the block of their route they were matched to (start placed early by run-queue wait)` : ''}` +
      `${r.descheduled ? `; descheduled (not counted as blocks): ${r.descheduled.count} (${ms(r.descheduled.totalMs)} ms)` : ''}`,
  );
  const byKind = new Map<string, Record<string, number>>();
  for (const c of r.cells) {
    const m = byKind.get(c.kind) ?? {};
    for (const [f, n] of Object.entries(c.named)) inc(m, f, n);
    byKind.set(c.kind, m);
  }
  console.log('  functions named (topFrame of the events matched to each kind\'s blocks):');
  for (const [kind, m] of byKind) {
    const top = Object.entries(m).sort((a, b) => b[1] - a[1]).slice(0, 3);
    if (top.length) console.log(`    ${kind}: ${top.map(([f, n]) => `${n}× ${f}`).join('; ')}`);
  }
  const wrong = r.cells.filter((c) => Object.keys(c.wrongFrames).length);
  for (const c of wrong) {
    const top = Object.entries(c.wrongFrames).sort((a, b) => b[1] - a[1]).slice(0, 3);
    console.log(`  wrong attributions, ${c.kind} ${c.nominalMs} ms: ${top.map(([f, n]) => `${n}× ${f}`).join('; ')}`);
  }
}

async function main(): Promise<void> {
  for (const f of [REGISTER, join(ROOT, 'dist/target-app/db/sync-client.js')]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first`);
  }
  const durations = nums(args.durations!);
  const lowThreshold = Number(args['low-threshold']);
  const lowDurations = nums(args['low-durations']!);
  const passes: Pass[] = [];
  for (const server of list(args.servers!)) {
    passes.push({ server, thresholdMs: Number(args.threshold), durations });
    if (lowThreshold > 0) passes.push({ server, thresholdMs: lowThreshold, durations: lowDurations });
  }
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadavgStart: loadavg().map((l) => l.toFixed(2)).join(' '),
    date: new Date().toISOString(),
  };
  const command = `npx tsx bench/attribution-accuracy.ts ${process.argv.slice(2).join(' ')}`.trim();
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, load average ${machine.loadavgStart}, ${machine.date}`);
  console.log(`command: ${command}`);
  console.log(
    `corpus: kinds ${args.kinds}; ${passes.length} passes (server × threshold), each ${args.duration} s of load, ${args.connections} connections, ` +
      `timer-only routes ${TIMER_ROUTES.join(', ')} after every third block route; probes with their defaults (tracing, detector armed on demand, ` +
      `CPU profile interval ${process.env.LOOPLENS_CPU_PROFILE_INTERVAL_US ? `${process.env.LOOPLENS_CPU_PROFILE_INTERVAL_US} µs (LOOPLENS_CPU_PROFILE_INTERVAL_US)` : 'the probes\' default for the threshold'}), ` +
      `probes built from ${gitDescribe()}`,
  );
  const results: PassResult[] = [];
  for (const pass of passes) {
    const r = await runPass(pass);
    results.push(r);
    printPass(r);
  }
  // Totals per pass: blocked ms on the right route and function, recall, duration error, false positives.
  console.log(`\n### Totals (load average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')})\n`);
  console.log('| server | threshold ms | right route + function (share of matched ms) | recall (eligible blocks found) | duration error median / p95 ms (all cells) | false-positive events (ms) | events on timer routes | matched although placed early |');
  console.log('| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |');
  for (const r of results) {
    const eligible = r.cells.reduce((s, c) => s + c.eligible, 0);
    const found = eligible - r.cells.reduce((s, c) => s + c.missed, 0);
    const matchedMs = r.cells.reduce((s, c) => s + c.matchedMs, 0);
    const rightMs = r.cells.reduce((s, c) => s + c.rightMs, 0);
    const errs = r.cells.flatMap((c) => c.errorsMs);
    console.log(
      `| ${r.pass.server} | ${r.pass.thresholdMs} | ${pct(matchedMs > 0 ? rightMs / matchedMs : null)} | ${pct(eligible ? found / eligible : null)} (${found}/${eligible}) | ` +
        `${ms(median(errs), 2)} / ${ms(quantile(errs, 0.95), 2)} | ${r.unmatched.count} (${ms(r.unmatched.ms)}) | ${r.timerRouteEvents} | ${r.lateMatches.count} |`,
    );
  }
  // Per kind and duration, both servers pooled: blocks at or above the default threshold scored in the default-threshold
  // passes, shorter ones in the low-threshold passes.
  const defaultThreshold = Number(args.threshold);
  const combined: CellStats[] = [];
  const allDurations = [...new Set([...durations, ...(lowThreshold > 0 ? lowDurations : [])])].sort((a, b) => a - b);
  for (const kind of list(args.kinds!)) {
    for (const d of allDurations) {
      const threshold = d >= defaultThreshold || lowThreshold <= 0 ? defaultThreshold : lowThreshold;
      const cs = results.filter((r) => r.pass.thresholdMs === threshold).flatMap((r) => r.calls.filter((c) => c.truth.kind === kind && c.truth.nominalMs === d));
      if (cs.length) combined.push(cellStats(list(args.servers!).join('+'), threshold, kind, d, cs));
    }
  }
  console.log(`\n### By kind and duration (${list(args.servers!).join(' and ')} pooled; blocks under ${defaultThreshold} ms scored at the ${lowThreshold} ms threshold)\n`);
  console.log('| kind | nominal ms | threshold ms | blocks (≥ threshold) | injected median ms | right route + function (share of ms) | recall | \\|detected − injected\\| median / p95 ms | detected − injected median ms |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |');
  for (const c of combined) {
    console.log(
      `| ${c.kind} | ${c.nominalMs} | ${c.thresholdMs} | ${c.calls} (${c.eligible}) | ${ms(c.injectedMedianMs)} | ${pct(c.attributedShare)} | ${pct(c.recall)}${c.missed ? ` (${c.missed} missed)` : ''} | ` +
        `${ms(c.errMedianMs, 2)} / ${ms(c.errP95Ms, 2)} | ${c.biasMs === null ? '—' : (c.biasMs > 0 ? '+' : '') + c.biasMs.toFixed(2)} |`,
    );
  }
  if (args.json) {
    // Per pass, the blocks whose detected duration is off by more than 10 ms, with their events: for whoever digs.
    const out = results.map(({ calls, ...r }) => ({
      ...r,
      outliers: calls
        .filter((c) => c.rightMs > 0 && Math.abs(c.rightMs - c.truth.durationMs) > 10)
        .map((c) => ({ truth: c.truth, events: c.events.map((e) => ({ ...e, frames: e.frames.slice(0, 8) })) })),
    }));
    writeFileSync(args.json, JSON.stringify({ machine, command, args, results: out, combined }, null, 2));
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
