/**
 * The gate against noise, end to end on the fixture app under the probes (`looplens profile --runs 3`): the same
 * code measured twice passes and says no significant change; one route made 2× slower fails, naming the route and
 * the interval. A run whose load measured nothing exits 1 (RUN_EMPTY), says so in run.json and fails the gate; two
 * unlike runs print the warning, in the markdown and on stderr.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRunInfo, readSummary } from '../../profiles/contract/index.js';
import { errorLines, runCli, type CliResult } from '../scripts/helpers.js';

const APP = new URL('./fixtures/app.mjs', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'looplens-accept-gate-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// one connection: a request never waits behind another, so /slow's cost does not leak into /fast's latency
const load = ['--path', '/slow', '--path', '/fast', '--duration', '2', '--warmup', '1', '--connections', '1'];
const profile = (name: string, env: NodeJS.ProcessEnv, extra: string[] = []) =>
  runCli(['profile', ...load, ...extra, '--out', join(tmp, name), '--', 'node', APP], { LOOPLENS_QUIET: '1', ...env });
const compare = async (base: string, head: string, rules = 'p95:+30%') => {
  const r = await runCli(['compare', join(tmp, base), join(tmp, head), '--out', join(tmp, `cmp-${base}-${head}`), '--fail-on', rules]);
  if (process.env.LOOPLENS_TEST_KEEP) writeFileSync(join(process.env.LOOPLENS_TEST_KEEP, `${base}-${head}.md`), r.stdout);
  return r;
};

let runs: Record<string, CliResult> = {};

beforeAll(async () => {
  // interleaved A B A, so a drift of the machine over the minute spreads over both codes
  runs = {
    a1: await profile('a1', {}, ['--runs', '3']),
    b: await profile('b', { SLOW_FACTOR: '2' }, ['--runs', '3']),
    a2: await profile('a2', {}, ['--runs', '3']),
    empty: await profile('empty', { FAIL: '1' }),
    other: await profile('other', {}, ['--connections', '4']),
  };
}, 300_000);

describe('the gate against noise (--runs 3 on both sides)', () => {
  it('A/A: the same code twice passes, and the markdown says no significant regression', async () => {
    for (const k of ['a1', 'a2', 'b']) expect(runs[k].code, runs[k].stderr).toBe(0);
    expect(readSummary(join(tmp, 'a1')).perRun?.['overall.latencyMs.p95']).toHaveLength(3);
    const r = await compare('a1', 'a2');
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/\*\*Gate passed\*\* — no significant regression past a limit \(`p95:\+30%`\)/);
    expect(r.stdout).toMatch(/one-sided Mann–Whitney U test at 95 % confidence/);
    expect(r.stdout).toMatch(/> - (≈ )?p95 latency grew by more than 30%: .* (no significant change|no change|within the limit)/);
    expect(r.stdout).not.toContain('The two sides differ');
  });

  it('A/B: one route 2× slower fails the gate, naming the route and the interval', async () => {
    const r = await compare('a1', 'b');
    expect(r.code, r.stdout).toBe(1);
    const gate = r.stdout.split('\n').filter((l) => l.startsWith('> - ❌'));
    expect(gate.join('\n')).toMatch(/p95 latency grew by more than 30%: [\d.]+ → [\d.]+ ▲ \+\d+% 🔴 \[\+[\d.]+…\+[\d.]+%\] — routes?: .*<code>GET \/slow<\/code> [\d.]+ → [\d.]+ ▲ \+\d+% (🔴|≈) \[[+−][\d.]+…\+[\d.]+%\]/);
    // (on a busy machine /fast can move too — every request waits on the same CPU — but /slow is always named)
    expect(r.stderr).toMatch(/gate failed \(1 rule crossed\)/);
    const json = JSON.parse(readFileSync(join(tmp, 'cmp-a1-b', 'compare.json'), 'utf8'));
    const check = json.gate.checks[0];
    expect(check.change.test).toMatchObject({ method: 'mann-whitney-u', baseN: 3, headN: 3, significant: 'up' });
    expect(check.change.test.interval[0]).toBeGreaterThan(0);
  });
});

describe('no silent pass', () => {
  it('a run with no successful request exits 1 with one line [RUN_EMPTY], is marked in run.json, and fails the gate', async () => {
    const r = runs.empty;
    expect(r.code).toBe(1);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^looplens: no request succeeded during the load \(\d+ sent, 0 answered 2xx, \d+ non-2xx, \d+ without an answer\): the run measured nothing — .* \[RUN_EMPTY\]$/);
    const info = readRunInfo(join(tmp, 'empty'));
    expect(info).toMatchObject({ complete: false, reasonCode: 'RUN_EMPTY', phase: 'load' });
    expect(readSummary(join(tmp, 'empty')).overall.non2xx).toBeGreaterThan(0); // the files are kept
    const c = await compare('a1', 'empty', 'p95:+1000%');
    expect(c.code).toBe(1);
    expect(c.stdout).toMatch(/\*\*Gate failed\*\* .* a run is not a measurement:\n> - ❌ the head run measured nothing: no request succeeded .* \[RUN_EMPTY\]/);
    expect(c.stderr).toMatch(/gate failed \(1 run measured nothing\)/);
  });

  it('a --path without its leading slash is refused before anything starts', async () => {
    const r = await runCli(['profile', '--path', 'slow', '--out', join(tmp, 'noslash'), '--', 'node', APP]);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual(['looplens: --path "slow" does not start with / — write it as --path /slow [USAGE_BAD_VALUE]']);
  });

  it('two unlike runs: the warning is in the markdown and on stderr', async () => {
    expect(runs.other.code, runs.other.stderr).toBe(0);
    const r = await runCli(['compare', join(tmp, 'a1'), join(tmp, 'other'), '--out', join(tmp, 'cmp-unlike')]);
    if (process.env.LOOPLENS_TEST_KEEP) writeFileSync(join(process.env.LOOPLENS_TEST_KEEP, 'unlike.md'), r.stdout + '\n----\n' + r.stderr);
    expect(r.code).toBe(0);
    const md = r.stdout.replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c))); // untrusted text is entity-encoded
    expect(md).toMatch(/> \[!WARNING\]\n> \*\*The two sides differ in more than the code\*\*.*\n> - load settings: connections: 1 → 4, runs: 3 → 1/);
    expect(r.stderr).toContain('looplens compare: warning: load settings: connections: 1 → 4, runs: 3 → 1');
    // too few runs on one side for the test: said so
    expect(r.stdout).toMatch(/\*\*Noise\*\* \(base 3 runs, head 1\): too few runs/);
  });
});
