/**
 * A profiler (or app) that hangs after SIGINT: `--analysis-timeout S` bounds the wait. After it, looplens kills the
 * process tree, keeps what the run has (summary.json, flamegraph.html when the probes wrote their files), marks the
 * run incomplete with the reason and the phase, prints the results and then one actionable line [ANALYSIS_TIMEOUT],
 * and exits 1. Checked with an app that ignores SIGINT (a fake hang, 2 s timeout) and with the real clinic bubbleprof,
 * which FACTS.md says hangs after collecting (node-clinic#477), under a tiny timeout.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropDatabase } from '../../target-app/db/connection.js';
import { afterAll, describe, expect, it } from 'vitest';
import { readLab, readRunInfo, readSummary } from '../../profiles/contract/read.js';
import { ROOT, expectNoOrphans, killTagged, oneError, runCli, traceLogsIn } from './helpers-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'looplens-faults-hang-'));
const tags: string[] = [];
const DB = 'looplens_test_faults_hang';
afterAll(async () => {
  for (const t of tags) killTagged(t);
  rmSync(tmp, { recursive: true, force: true });
  await dropDatabase(`postgres://postgres@127.0.0.1:5432/${DB}`);
});

/** Serves, and ignores SIGINT for good (its probes still write their files at SIGINT). */
const HANG_APP = join(tmp, 'hang-app.cjs');
writeFileSync(
  HANG_APP,
  `const { createServer } = require('node:http');
createServer((req, res) => res.end('{"ok":true}')).listen(Number(process.env.PORT), process.env.HOST || '127.0.0.1');
process.on('SIGINT', () => console.error('hang-app: ignoring SIGINT'));
`,
);

describe('--analysis-timeout', () => {
  it('an app that never exits after SIGINT: killed after the timeout, the run keeps its summary and says incomplete', async () => {
    const out = join(tmp, 'none');
    const r = await runCli(['profile', '--analysis-timeout', '2', '--path', '/', '--warmup', '0', '--duration', '1', '--out', out, '--', 'node', HANG_APP]);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(1);
    const line = oneError(r.stderr, 'ANALYSIS_TIMEOUT');
    expect(line).toContain('the app did not finish within 2 s of SIGINT');
    expect(line).toContain('raise --analysis-timeout');
    // the results were printed before the error: the run kept what it had
    expect(r.stdout).toContain('run folder:');
    await expectNoOrphans(r.tag);
    const info = readRunInfo(out);
    expect(info.complete).toBe(false);
    expect(info.phase).toBe('stopping');
    expect(info.reason).toMatch(/did not finish within 2 s of SIGINT.*\(during stopping\)$/);
    expect(readSummary(out).overall.requests).toBeGreaterThan(0);
    expect(existsSync(join(out, 'flamegraph.html'))).toBe(true);
    expect(readFileSync(join(out, 'app.log'), 'utf8')).toContain('hang-app: ignoring SIGINT');
  }, 60_000);

  it('the timeout is a validated flag, in profile --help and lab --help', async () => {
    const bad = await runCli(['profile', '--analysis-timeout', '0', '--', 'node', HANG_APP]);
    expect(bad.code).toBe(2);
    oneError(bad.stderr, 'USAGE_BAD_VALUE');
    for (const cmd of ['profile', 'lab']) {
      const help = await runCli([cmd, '--help']);
      expect(help.stdout).toMatch(/--analysis-timeout <s>[\s\S]*bubbleprof/);
    }
  });

  it('clinic bubbleprof (known to hang after collecting) under a 3 s timeout: one line that says what to do, nothing left running', async () => {
    const out = join(tmp, 'bubbleprof');
    const r = await runCli([
      'profile', '--profiler', 'bubbleprof', '--analysis-timeout', '3', '--path', '/', '--warmup', '0', '--duration', '2', '--out', out, '--', 'node', HANG_APP.replace('hang-app', 'plain-app'),
    ]);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(1);
    const line = oneError(r.stderr, 'ANALYSIS_TIMEOUT');
    expect(line).toContain('clinic bubbleprof did not finish within 3 s of SIGINT');
    expect(line).toContain('node-clinic#477');
    // its trace-event file, which it had not moved yet, went into the run folder
    expect(traceLogsIn(ROOT)).toEqual([]);
    expect(existsSync(join(out, 'bubbleprof', 'node_trace.1.log'))).toBe(true);
    await expectNoOrphans(r.tag);
    const info = readRunInfo(out);
    expect(info.complete).toBe(false);
    expect(info.reason).toContain('clinic bubbleprof did not finish within 3 s');
    // the run took the timeout, not clinic's minutes
    expect(r.ms).toBeLessThan(45_000);
  }, 90_000);
});

describe('--analysis-timeout in a lab', () => {
  it('a stage whose profiler times out is kept with its run incomplete; the lab shows its table and exits 1 with one line', async () => {
    const out = join(tmp, 'lab');
    // clinic doctor's analysis takes several seconds after the app wrote its files and exited: 1 s is too short (2 s
    // was not, once, on a quiet machine)
    const r = await runCli(['lab', '--stages', 'baseline', '--profiler', 'doctor', '--analysis-timeout', '1', '--scale', '200', '--duration', '1', '--warmup', '0', '--connections', '2', '--out', out], {
      DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${DB}`,
      REDIS_URL: 'redis://127.0.0.1:6379/3',
    });
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(1);
    const line = oneError(r.stderr, 'ANALYSIS_TIMEOUT');
    expect(line).toContain('1 stage run incomplete (baseline): clinic doctor did not finish within 1 s of SIGINT');
    expect(r.stdout).toContain('lab folder:');
    await expectNoOrphans(r.tag);
    const lab = readLab(out);
    expect(lab.stages.map((s) => s.stage)).toEqual(['baseline']);
    expect(lab.complete).toBe(false);
    expect(lab.reason).toContain('baseline (clinic doctor did not finish within 1 s');
    const info = readRunInfo(join(out, lab.stages[0]!.run));
    expect(info.complete).toBe(false);
    expect(info.reason).toContain('clinic doctor did not finish within 1 s');
    expect(readFileSync(join(out, 'lab.md'), 'utf8')).toContain('clinic doctor did not finish within 1 s');
    // the trace-event file clinic doctor had not yet moved went into the run folder, not left in the cwd (where it
    // would stop every later clinic doctor run)
    expect(traceLogsIn(ROOT)).toEqual([]);
  }, 120_000);
});

describe('clinic doctor beside a stray node_trace.1.log', () => {
  it('refuses before starting anything, naming the file to delete', async () => {
    const cwd = mkdtempSync(join(tmp, 'cwd-'));
    writeFileSync(join(cwd, 'node_trace.1.log'), '{}');
    const out = join(tmp, 'stray');
    const r = await runCli(['profile', '--profiler', 'doctor', '--path', '/', '--out', out, '--', 'node', HANG_APP], {}, { cwd });
    tags.push(r.tag);
    expect(r.code).not.toBe(0);
    const line = oneError(r.stderr, 'PROFILER_FAILED');
    expect(line).toContain('delete or move node_trace.1.log');
    expect(existsSync(out)).toBe(false);
    await expectNoOrphans(r.tag);
  });
});

// a plain app for bubbleprof: exits on SIGINT (the hang is clinic's own)
writeFileSync(
  join(tmp, 'plain-app.cjs'),
  `const { createServer } = require('node:http');
createServer((req, res) => res.end('{"ok":true}')).listen(Number(process.env.PORT), process.env.HOST || '127.0.0.1');
`,
);
