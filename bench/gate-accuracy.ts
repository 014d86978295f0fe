/**
 * The gate's accuracy (not a test): how often `looplens compare --fail-on` fails a pull request that changed nothing
 * (false positives, over A/A pairs: the same code measured twice), and how often it catches a known regression
 * (detection, over A/B pairs: the same app with 20 % more work in its handler). Every side is a real
 * `looplens profile --runs N` of test/compare/fixtures/app.mjs under the probes, so the noise is the machine's own.
 *
 *   npx tsx bench/gate-accuracy.ts [--pairs 10] [--runs 3] [--duration 5] [--warmup 2] [--connections 1]
 *     [--factor 1.2] [--fail-on p95:+10%] [--json out.json] [--keep]
 *
 * Each pair is three profiles, in an order that alternates from pair to pair (A A′ B, then B A′ A, …) so a drift of
 * the machine over the bench spreads evenly: A/A compares A with A′, A/B compares A with B (SLOW_FACTOR=factor on
 * GET /slow, the only route loaded). Rates are given with Wilson 95 % intervals. Run it on a quiet machine: every
 * other process's CPU use is noise here. A pair of 3-run sides with the defaults takes about a minute.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readSummary } from '../profiles/contract/index.js';
import { runCompare } from '../scripts/compare/run.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/looplens.js');
const APP = join(ROOT, 'test/compare/fixtures/app.mjs');

const { values: args } = parseArgs({
  options: {
    pairs: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '1' },
    factor: { type: 'string', default: '1.2' },
    'fail-on': { type: 'string', default: 'p95:+10%' },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});

const pairs = Number(args.pairs);
const factor = Number(args.factor);
const failOn = String(args['fail-on']);
const work = mkdtempSync(join(tmpdir(), 'looplens-gate-bench-'));

function profile(out: string, slowFactor: number): void {
  const load = ['--path', '/slow', '--duration', String(args.duration), '--warmup', String(args.warmup), '--connections', String(args.connections), '--runs', String(args.runs)];
  const r = spawnSync(process.execPath, [BIN, 'profile', ...load, '--out', out, '--', 'node', APP], {
    env: { ...process.env, SLOW_FACTOR: String(slowFactor), LOOPLENS_QUIET: '1' },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`profile ${out} exited ${r.status}: ${r.stderr}`);
}

/** Wilson score interval of k successes in n, 95 %. */
function wilson(k: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = 1.96;
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, c - h), Math.min(1, c + h)];
}

interface PairResult {
  pair: number;
  order: string;
  aa: { failed: boolean; p95Change: number; significant: boolean };
  ab: { failed: boolean; p95Change: number; significant: boolean };
}

const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
const loadStart = loadavg()[0];
const started = Date.now();
const results: PairResult[] = [];
try {
  for (let i = 1; i <= pairs; i++) {
    const dir = join(work, String(i));
    const order = i % 2 === 1 ? ['A', "A'", 'B'] : ['B', "A'", 'A'];
    for (const side of order) profile(join(dir, side), side === 'B' ? factor : 1);
    const judge = (head: string) => {
      const r = runCompare({ base: join(dir, 'A'), head: join(dir, head), outDir: join(dir, `cmp-${head}`), failOn });
      const c = r.comparison.kind === 'runs' ? r.comparison.summary.overall.metrics.p95 : undefined;
      return { failed: r.gate?.failed ?? false, p95Change: c?.relative ?? NaN, significant: c?.verdict === 'better' || c?.verdict === 'worse' };
    };
    const row: PairResult = { pair: i, order: order.join(' '), aa: judge("A'"), ab: judge('B') };
    results.push(row);
    const a = readSummary(join(dir, 'A')).overall.latencyMs.p95;
    console.error(`pair ${i}/${pairs} (${row.order}): A p95 ${a} ms; A/A ${pct(row.aa.p95Change)}${row.aa.failed ? ' FAILED' : ''}; A/B ${pct(row.ab.p95Change)}${row.ab.failed ? ' failed (caught)' : ' passed (missed)'}`);
  }
} finally {
  if (!args.keep) rmSync(work, { recursive: true, force: true });
}

const fp = results.filter((r) => r.aa.failed).length;
const tp = results.filter((r) => r.ab.failed).length;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const fmtRate = (k: number, n: number) => {
  const [lo, hi] = wilson(k, n);
  return `${k}/${n} = ${((100 * k) / Math.max(1, n)).toFixed(0)} % (95 % interval ${(100 * lo).toFixed(0)}–${(100 * hi).toFixed(0)} %)`;
};
const c = cpus();
console.log(`# gate accuracy: --fail-on ${failOn}, ${args.runs} runs per side, ${args.duration} s load after ${args.warmup} s warmup, ${args.connections} connection(s), GET /slow`);
console.log(`machine: ${c.length} × ${c[0]?.model?.trim()}, Node ${process.version}; load average ${loadStart.toFixed(2)} at the start, ${loadavg()[0].toFixed(2)} at the end; ${((Date.now() - started) / 60000).toFixed(1)} min${args.keep ? `; runs kept in ${work}` : ''}`);
console.log('');
console.log('| pair | order | A/A p95 change | A/A gate | A/B p95 change | A/B gate |');
console.log('| ---: | --- | ---: | --- | ---: | --- |');
for (const r of results) {
  const g = (x: PairResult['aa'], bad: string, good: string) => `${x.failed ? bad : good}${x.significant ? ' (significant)' : ''}`;
  console.log(`| ${r.pair} | ${r.order} | ${pct(r.aa.p95Change)} | ${g(r.aa, 'failed ✗', 'passed')} | ${pct(r.ab.p95Change)} | ${g(r.ab, 'failed ✓', 'passed ✗')} |`);
}
console.log('');
console.log(`false positives (A/A pairs failed): ${fmtRate(fp, results.length)}`);
console.log(`detection (A/B pairs failed, SLOW_FACTOR ${factor}: median p95 change ${pct(median(results.map((r) => r.ab.p95Change)))}): ${fmtRate(tp, results.length)}`);
if (args.json) writeFileSync(String(args.json), JSON.stringify({ failOn, runs: Number(args.runs), factor, results, loadStart }, null, 2));
