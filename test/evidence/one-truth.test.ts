/**
 * One truth: every view of a run shows the figures of its one evidence model. On a real captured run (the baseline
 * and async-db stages of a target-app lab, test/evidence/fixtures/target-app-lab, copied whole) and on a live run of
 * a fixture app (looplens profile of test/diagnose/fixtures/victim-app.mjs, the real CLI), the per-route requests,
 * blocked ms per request and queries per request, and the block count and total, are the same in summary.json,
 * findings.json, compare.json and the data the HTML report renders; and summary.json is exactly what its evidence
 * gives.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFindings, readSummary } from '../../profiles/contract/index.js';
import { loadRun, renderRunPage } from '../../dashboards/index.js';
import { loadEvidence } from '../../scripts/analysis/evidence.js';
import { summarise } from '../../scripts/analysis/summarise.js';
import { runCompare } from '../../scripts/compare/index.js';
import { restoreLab } from '../diagnose/fixtures/capture.js';

const BIN = fileURLToPath(new URL('../../bin/looplens.js', import.meta.url));
const VICTIM_APP = fileURLToPath(new URL('../diagnose/fixtures/victim-app.mjs', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'looplens-one-truth-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Hotspot {
  route: string | null;
  base: { count: number; totalMs: number; msPerRequest: number };
}
interface CompareJson {
  hotspots: Hotspot[];
  summary: { run: { name: string; change: { base: number } }[] };
}
interface ReportEvidence {
  blocking: { count: number; totalMs: number; msPerRequest: number };
  routes: Record<string, { requests: number; blockedMsPerRequest: number; queriesPerRequest: number | null }>;
}

/** The page data the report renders (its `looplens-data` script). */
function reportData(runDir: string): ReportEvidence {
  const page = renderRunPage(loadRun(runDir), { hrefTo: () => './x' });
  const json = /<script type="application\/json" id="looplens-data">([\s\S]*?)<\/script>/.exec(page)![1]!;
  return (JSON.parse(json) as { evidence: ReportEvidence }).evidence;
}

/** Every view of `runDir` against its summary.json; `compare` is a compare.json in which the run is the base. */
function expectOneTruth(runDir: string, compare: CompareJson): void {
  const summary = readSummary(runDir);
  const evidence = loadEvidence(runDir);
  // summary.json is a function of the evidence, nothing else
  expect(summarise(evidence)).toEqual(summary);
  const routes = Object.entries(summary.routes).filter(([, r]) => r.requests > 0);
  expect(routes.length).toBeGreaterThan(1);

  // the HTML report renders the same figures
  const report = reportData(runDir);
  expect(report.blocking.count).toBe(summary.blocking.count);
  expect(report.blocking.totalMs).toBeCloseTo(summary.blocking.totalMs, 0);
  expect(report.blocking.msPerRequest).toBe(summary.blocking.msPerRequest);
  for (const [route, r] of routes) {
    expect(report.routes[route], route).toBeDefined();
    expect(report.routes[route]!.requests, route).toBe(r.requests);
    expect(report.routes[route]!.blockedMsPerRequest, route).toBe(r.blockedMsPerRequest);
    expect(report.routes[route]!.queriesPerRequest ?? undefined, route).toBe(r.queriesPerRequest);
  }

  // findings.json: a blocking call's requests are the route's, and its saving is the route's blocked ms shared out
  const findings = readFindings(runDir).findings;
  const blocking = findings.filter((f) => f.kind === 'blocking-call');
  for (const f of blocking) {
    expect(f.evidence.requests, f.title).toBe(summary.routes[f.route!]!.requests);
  }
  for (const [route, r] of routes) {
    const mine = blocking.filter((f) => f.route === route);
    const shared = mine.reduce((a, f) => a + Number(f.evidence.blockedMs), 0) / r.requests;
    expect(shared, route).toBeLessThanOrEqual(r.blockedMsPerRequest! * 1.01 + 0.01);
  }

  // compare.json: the hotspots of the run add up to its blocks, per route to its blocked ms per request, and each
  // blocking-call finding is one of them at the same figure
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const base = compare.hotspots.filter((h) => h.base.count > 0);
  expect(sum(base.map((h) => h.base.count))).toBe(summary.blocking.count);
  expect(sum(base.map((h) => h.base.totalMs))).toBeCloseTo(summary.blocking.totalMs, 0);
  for (const [route, r] of routes) {
    expect(sum(base.filter((h) => h.route === route).map((h) => h.base.msPerRequest)), route).toBeCloseTo(r.blockedMsPerRequest!, 2);
  }
  for (const f of blocking) {
    const h = base.filter((x) => x.route === f.route).map((x) => x.base.msPerRequest);
    expect(h.some((ms) => Math.abs(ms - f.savingMsPerRequest) <= Math.max(0.01, 0.01 * f.savingMsPerRequest)), f.title).toBe(true);
  }
  const run = Object.fromEntries(compare.summary.run.map((m) => [m.name, m.change.base]));
  expect(run.blocked).toBe(summary.blocking.msPerRequest);
  if (summary.db) expect(run.queries).toBe(summary.db.queriesPerRequest);
}

function compareJson(base: string, head: string, out: string): CompareJson {
  runCompare({ base, head, outDir: out });
  return JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8')) as CompareJson;
}

describe('one truth on a real captured run (target-app baseline → async-db)', () => {
  const lab = restoreLab(fileURLToPath(new URL('./fixtures/target-app-lab', import.meta.url)), join(tmp, 'captured'));

  it('summary.json, findings.json, compare.json and the report show the same figures', () => {
    expectOneTruth(join(lab, 'baseline'), compareJson(join(lab, 'baseline'), join(lab, 'async-db'), join(tmp, 'captured-compare')));
    expectOneTruth(join(lab, 'async-db'), compareJson(join(lab, 'async-db'), join(lab, 'baseline'), join(tmp, 'captured-compare-2')));
  });

  it('charges every blocked ms of the synchronous baseline to a request', () => {
    const evidence = loadEvidence(join(lab, 'baseline'));
    expect(evidence.measured.blocks.length).toBeGreaterThan(5);
    expect(evidence.measured.chargedShare).toBeGreaterThanOrEqual(0.99);
  });
});

describe('one truth on a live run (looplens profile of a fixture app)', () => {
  let upstream: Server;
  const runs: Record<string, string> = {};

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      req.resume();
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'), 20);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    for (const [name, blockMs] of [['block-60', '60'], ['block-30', '30']] as const) {
      const out = join(tmp, name);
      const args = ['profile', '--out', out, '--duration', '5', '--warmup', '1', '--connections', '3', '--path', '/block', '--path', '/serial', '--', process.execPath, VICTIM_APP];
      const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile(process.execPath, [BIN, ...args], { cwd: tmp, env: { ...process.env, UPSTREAM: url, BLOCK_MS: blockMs, LOOPLENS_QUIET: '1' } }, (err, _o, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }),
        );
      });
      expect(code, stderr.slice(-2000)).toBe(0);
      runs[name] = out;
    }
  }, 120_000);

  afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())));

  it('summary.json, findings.json, compare.json and the report show the same figures', () => {
    const c = compareJson(runs['block-60']!, runs['block-30']!, join(tmp, 'live-compare'));
    expectOneTruth(runs['block-60']!, c);
    const summary = readSummary(runs['block-60']!);
    // the route key is the app's (no template: inferred), the same in the load generator's rows and the traces'
    expect(Object.keys(summary.routes).sort()).toEqual(['GET /block', 'GET /serial']);
    // each request spins 60 ms of wall time; a block counts its on-CPU part (the run-queue wait is taken out), which
    // a loaded machine shrinks (25 ms a request measured at load average 6)
    expect(summary.routes['GET /block']!.blockedMsPerRequest).toBeGreaterThan(10);
    expect(summary.routes['GET /serial']!.blockedMsPerRequest).toBe(0);
  });
});
