/**
 * `looplens profile --runs 3` on the fixture app, for real: three complete run folders under runs/, the top-level
 * folder a valid run folder whose summary.json holds the medians of the three and their spread, and compare using
 * that spread to call run-to-run differences noise.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSummary, validateSummary, type Summary } from '../../profiles/contract/index.js';
import { median } from '../../scripts/analysis/summarise.js';
import { runCompare } from '../../scripts/compare/run.js';
import { scopesOf } from '../../scripts/compare/compare.js';
import { FIXTURE, checkRunFolder, runCli, type CliResult } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'looplens-runs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const out = join(tmp, 'runs3');
let cli: CliResult;
let runs: Summary[];
let agg: Summary;

beforeAll(async () => {
  cli = await runCli(['profile', '--runs', '3', '--path', '/', '--path', '/block', '--duration', '2', '--warmup', '1', '--connections', '4', '--out', out, '--', 'node', FIXTURE]);
}, 120_000);

describe('looplens profile --runs 3 (fixture app)', () => {
  it('writes three complete run folders and a top-level run folder of the contract', () => {
    expect(cli.code, cli.stderr).toBe(0);
    for (const k of [1, 2, 3]) expect(cli.stderr).toContain(`run ${k}/3`);
    expect(cli.stdout).toContain('medians of 3 runs');
    runs = [1, 2, 3].map((k) => checkRunFolder(join(out, 'runs', String(k))).summary);
    const top = checkRunFolder(out); // every contract file, each validated against its schema
    expect(top.info.load.runs).toBe(3);
    expect(top.folded).toContain('looplensFixtureBusyWait');
    agg = top.summary;
    expect(validateSummary(agg)).toBeNull();
    expect(existsSync(join(out, 'runs', '4'))).toBe(false);
  });

  it('summary.json: every number the median of the three runs, spread their [min, max]', () => {
    const med = (get: (s: Summary) => number) => median(runs.map(get));
    expect(agg.overall.rps).toBe(med((s) => s.overall.rps));
    expect(agg.overall.requests).toBe(med((s) => s.overall.requests));
    for (const p of ['p50', 'p90', 'p95', 'p99', 'max'] as const) expect(agg.overall.latencyMs[p]).toBe(med((s) => s.overall.latencyMs[p]));
    expect(agg.routes['GET /block'].latencyMs.p95).toBe(med((s) => s.routes['GET /block'].latencyMs.p95));
    expect(agg.eventLoop.delayMs.p99).toBe(med((s) => s.eventLoop.delayMs.p99));
    expect(agg.eventLoop.utilization).toBe(med((s) => s.eventLoop.utilization));
    expect(agg.blocking.msPerRequest).toBe(med((s) => s.blocking.msPerRequest));
    const rps = runs.map((s) => s.overall.rps);
    expect(agg.spread?.['overall.rps']).toEqual([Math.min(...rps), Math.max(...rps)]);
    const p95 = runs.map((s) => s.overall.latencyMs.p95);
    expect(agg.spread?.['overall.latencyMs.p95']).toEqual([Math.min(...p95), Math.max(...p95)]);
    // the folder is read back as written
    expect(readSummary(out)).toEqual(agg);
  });

  it('compare: against itself nothing is better or worse; each of its runs against it differs only by noise', () => {
    const verdicts = (base: string, head: string) => {
      const r = runCompare({ base, head, outDir: join(tmp, `cmp-${base.length}-${Math.random().toString(36).slice(2)}`) });
      const d = scopesOf(r.comparison)[0].comparison.summary;
      return { r, all: [...Object.values(d.overall.metrics), ...d.routes.flatMap((x) => Object.values(x.metrics)), ...d.run.map((x) => x.change)].map((c) => c.verdict) };
    };
    const self = verdicts(out, out);
    expect(self.all.length).toBeGreaterThan(10);
    expect(new Set(self.all)).toEqual(new Set(['same']));
    expect(self.r.markdown).toContain('median of 3 runs');
    let noise = 0;
    for (const k of [1, 2, 3]) {
      const { all } = verdicts(join(out, 'runs', String(k)), out);
      expect(all.filter((v) => v === 'better' || v === 'worse'), `runs/${k} vs the aggregate`).toEqual([]);
      noise += all.filter((v) => v === 'noise').length;
    }
    expect(noise).toBeGreaterThan(0);
    // the gate does not fail on noise, however tight
    const gated = runCompare({ base: join(out, 'runs', '1'), head: out, outDir: join(tmp, 'cmp-gate'), failOn: 'p95:+1%,rps:-1%,p50:+1%,delay:+1%' });
    expect(gated.gate?.failed).toBe(false);
  });
});
