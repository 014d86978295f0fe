/**
 * Diagnose: predicted vs measured savings (not a test). Runs the lab (or reads lab folders), diagnoses every stage,
 * and compares each finding's estimated saving with what the stage that fixes it actually saved on that route:
 * the route's median request duration (server spans) before minus after. A blocking call's estimate is loop time
 * given back per request, so it is compared with the drop in blocked ms per request of the route (summary.json).
 *
 * Stages run one after another, and on a shared machine the database and the CPU are not equally fast for each: the
 * "drift-adjusted" column also takes out the change in the parts of the request the stage does not touch (e.g. for
 * async-db → parallel, the connect, queries and teardown), each a median from the spans.
 *
 *   npx tsx bench/diagnose-savings.ts [--labs 3] [--scale 200] [--duration 8] [--warmup 2] [--connections 1]
 *     [--scenario test/diagnose/fixtures/lab-scenario.json] [--from lab1,lab2] [--json out.json]
 *
 * One connection by default: durations are then service times, not queueing (with more connections the synchronous
 * baseline serialises everything and every request's latency holds its neighbours' work). Uses DATABASE_URL
 * (default postgres://postgres@127.0.0.1:5432/looplens_bench_diagnose) and REDIS_URL (default db 4).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Finding } from '../profiles/contract/index.js';
import { readSummary } from '../profiles/contract/index.js';
import type { RequestTrace } from '../scripts/analysis/requests.js';
import { diagnoseLab, evidenceOf } from '../scripts/diagnose/index.js';
import { covered, interval } from '../scripts/diagnose/rule.js';
import { teardownMs } from '../scripts/diagnose/rules/connection-per-request.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const { values: args } = parseArgs({
  options: {
    labs: { type: 'string', default: '3' },
    scale: { type: 'string', default: '200' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '1' },
    scenario: { type: 'string', default: 'test/diagnose/fixtures/lab-scenario.json' },
    from: { type: 'string' },
    json: { type: 'string' },
  },
});

/** The stage that fixes each kind of finding, and the stage it is measured against (the one before). */
const FIXED_BY: Record<string, Finding['kind'][]> = {
  'async-db': ['n-plus-one', 'blocking-call'],
  parallel: ['serial-external-calls', 'unawaited-work-on-critical-path'],
  pooled: ['connection-per-request'],
  cached: ['cacheable-reads'],
};

/** The parts of a request the lab's stages change one at a time, in ms. */
const PARTS = {
  connect: (r: RequestTrace) => r.connects.reduce((a, c) => a + (c.endMs - c.startMs), 0),
  queries: (r: RequestTrace) => covered(r.queries.filter((q) => q.system === 'postgresql').map((q) => interval(q.span))),
  calls: (r: RequestTrace) => covered(r.calls.filter((c) => c.span.endMs <= r.endMs).map((c) => interval(c.span))),
  teardown: (r: RequestTrace) => (r.connects.length > 0 ? teardownMs(r) : 0),
};
type Part = keyof typeof PARTS;
/** What each stage leaves alone (its change of latency there is drift). */
const UNTOUCHED: Record<string, Part[]> = {
  'async-db': ['connect', 'calls'],
  parallel: ['connect', 'queries', 'teardown'],
  pooled: ['calls'],
  cached: ['calls'],
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function runLabs(n: number): string[] {
  const out = mkdtempSync(join(tmpdir(), 'looplens-diagnose-bench-'));
  const env = {
    ...process.env,
    DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/looplens_bench_diagnose',
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/4',
    LOOPLENS_QUIET: '1',
  };
  return Array.from({ length: n }, (_, i) => {
    const dir = join(out, `lab-${i + 1}`);
    const cli = ['bin/looplens.js', 'lab', '--scale', args.scale!, '--duration', args.duration!, '--warmup', args.warmup!];
    execFileSync(process.execPath, [...cli, '--connections', args.connections!, '--scenario', args.scenario!, '--out', dir], { cwd: ROOT, env, stdio: 'inherit' });
    return dir;
  });
}

interface Row {
  lab: string;
  stage: string;
  route: string;
  kind: string;
  predictedMs: number;
  measuredMs: number;
  adjustedMs: number;
}

function compare(labDir: string): Row[] {
  const lab = diagnoseLab(labDir);
  // Per stage and route: the requests, from the traces.
  const requests = new Map<string, Map<string, RequestTrace[]>>();
  for (const s of lab.stages) {
    const byRoute = new Map<string, RequestTrace[]>();
    for (const r of evidenceOf(s.dir).measured.requests) byRoute.set(r.route, [...(byRoute.get(r.route) ?? []), r]);
    requests.set(s.stage, byRoute);
  }
  const med = (stage: string, route: string, f: (r: RequestTrace) => number) => median((requests.get(stage)!.get(route) ?? []).map(f));
  const rows: Row[] = [];
  lab.stages.forEach((s, i) => {
    const kinds = FIXED_BY[s.stage];
    const before = lab.stages[i - 1];
    if (!kinds || !before) return;
    for (const kind of kinds) {
      const byRoute = new Map<string, number>();
      for (const f of before.file.findings.filter((f) => f.kind === kind && f.route)) byRoute.set(f.route!, (byRoute.get(f.route!) ?? 0) + f.savingMsPerRequest);
      for (const [route, predictedMs] of byRoute) {
        const blocked = (dir: string) => readSummary(dir).routes[route]?.blockedMsPerRequest ?? NaN;
        const delta = (f: (r: RequestTrace) => number) => med(before.stage, route, f) - med(s.stage, route, f);
        const measuredMs = kind === 'blocking-call' ? blocked(before.dir) - blocked(s.dir) : delta((r) => r.durationMs);
        const drift = (UNTOUCHED[s.stage] ?? []).reduce((a, part) => a + delta(PARTS[part]), 0);
        const adjustedMs = kind === 'blocking-call' ? measuredMs : measuredMs - drift;
        rows.push({ lab: labDir, stage: `${before.stage} → ${s.stage}`, route, kind, predictedMs, measuredMs, adjustedMs });
      }
    }
  });
  return rows;
}

const labs = args.from ? args.from.split(',') : runLabs(Number(args.labs));
const rows = labs.flatMap(compare);

// Medians over the labs, per (transition, route, kind).
const groups = new Map<string, Row[]>();
for (const r of rows) groups.set(`${r.stage}\u0000${r.route}\u0000${r.kind}`, [...(groups.get(`${r.stage}\u0000${r.route}\u0000${r.kind}`) ?? []), r]);
const fmt = (n: number) => (Number.isFinite(n) ? (Math.abs(n) >= 100 ? Math.round(n).toString() : n.toFixed(1)) : '–');
const lines = [
  `${labs.length} lab(s); ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at the end`,
  '',
  '| stage change | route | finding | predicted ms/req | measured ms/req | error | drift-adjusted ms/req | error | per lab (predicted / measured / adjusted) |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];
const error = (p: number, m: number) => (Number.isFinite(m) && m !== 0 ? `${Math.round(((p - m) / Math.abs(m)) * 100)} %` : '–');
for (const rs of groups.values()) {
  const p = median(rs.map((r) => r.predictedMs));
  const m = median(rs.map((r) => r.measuredMs));
  const a = median(rs.map((r) => r.adjustedMs));
  const perLab = rs.map((r) => `${fmt(r.predictedMs)} / ${fmt(r.measuredMs)} / ${fmt(r.adjustedMs)}`).join(', ');
  lines.push(`| ${rs[0]!.stage} | ${rs[0]!.route} | ${rs[0]!.kind} | ${fmt(p)} | ${fmt(m)} | ${error(p, m)} | ${fmt(a)} | ${error(p, a)} | ${perLab} |`);
}
process.stdout.write(lines.join('\n') + '\n');
if (args.json) writeFileSync(args.json, JSON.stringify({ labs, rows }, null, 2));
