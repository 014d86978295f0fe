/**
 * `--out` of every command that takes it (profile, lab, report, compare; serve's --dir), through the real CLI: a path
 * under /proc or /sys, or one naming a file where a folder is needed, ends within seconds with one OUT_INVALID line
 * (no hang in mkdir, no [INTERNAL], no stack), starts nothing and leaves no tmp file; `report --out <folder>`
 * writes index.html (and report/) inside the folder, not beside it.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, expectNoOrphans, killTagged, oneError, startCli, type CliResult } from './helpers-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'looplens-faults-out-'));
const tags: string[] = [];
afterAll(() => {
  for (const t of tags) killTagged(t);
  rmSync(tmp, { recursive: true, force: true });
});

const RUN = join(ROOT, 'test/dashboards/fixtures/fastify-blocking');
const BASE = join(ROOT, 'test/compare/fixtures/baseline');
const HEAD = join(ROOT, 'test/compare/fixtures/async-db');
const APP = join(ROOT, 'test/scripts/fixtures/blocking-app.mjs');

/** Runs the CLI; a run that has not ended after `limitMs` is killed and fails the test (a hang). */
async function cli(args: string[], limitMs = 20_000): Promise<CliResult> {
  const c = startCli(args, { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/looplens_test_faults_out', REDIS_URL: 'redis://127.0.0.1:6379/3' }, { cwd: tmp });
  tags.push(c.tag);
  const timer = setTimeout(() => c.child.kill('SIGKILL'), limitMs);
  const r = await c.done;
  clearTimeout(timer);
  expect(r.signal, `looplens ${args.join(' ')} hung and was killed after ${limitMs} ms`).toBeNull();
  await expectNoOrphans(c.tag);
  return r;
}

function tmpFilesIn(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).filter((n) => /\.tmp$/.test(n)) : [];
}

const BAD_FOLDERS = ['/proc/x', '/proc/x/y', '/sys/looplens-x'];

describe('--out that cannot hold the output', () => {
  it.each(BAD_FOLDERS)('profile --out %s: one OUT_INVALID line, at once', async (out) => {
    const r = await cli(['profile', '--out', out, '--path', '/', '--duration', '1', '--warmup', '0', '--', 'node', APP]);
    expect(r.code, r.stderr).toBe(1);
    expect(oneError(r.stderr, 'OUT_INVALID')).toContain(`--out ${out}: `);
    expect(r.ms).toBeLessThan(10_000);
  });

  it.each(BAD_FOLDERS)('lab --out %s: refused before services or seeding', async (out) => {
    const r = await cli(['lab', '--out', out, '--stages', 'baseline', '--scale', '300', '--duration', '1', '--warmup', '0']);
    expect(r.code, r.stderr).toBe(1);
    expect(oneError(r.stderr, 'OUT_INVALID')).toMatch(/pseudo file system/);
    expect(r.stderr).not.toContain('[seed]');
  });

  it.each(['/proc/x/index.html', '/proc/x', '/sys/x/index.html'])('report --out %s', async (out) => {
    const r = await cli(['report', RUN, '--out', out]);
    expect(r.code, r.stderr).toBe(1);
    oneError(r.stderr, 'OUT_INVALID');
  });

  it.each(BAD_FOLDERS)('compare --out %s', async (out) => {
    const r = await cli(['compare', BASE, HEAD, '--out', out]);
    expect(r.code, r.stderr).toBe(1);
    oneError(r.stderr, 'OUT_INVALID');
  });

  it('serve --dir /proc/x', async () => {
    const r = await cli(['serve', '--dir', '/proc/x']);
    expect(r.code, r.stderr).toBe(1);
    expect(oneError(r.stderr, 'OUT_INVALID')).toContain('--dir /proc/x: ');
  });

  it('a file where a folder is needed: profile, lab, compare, report — OUT_INVALID naming the file, no tmp file', async () => {
    const file = join(tmp, 'just-a-file.txt');
    writeFileSync(file, 'x');
    const profile = await cli(['profile', '--out', file, '--path', '/', '--', 'node', APP]);
    expect(oneError(profile.stderr, 'OUT_INVALID')).toContain(`${file} is a file, not a folder`);
    const lab = await cli(['lab', '--out', join(file, 'lab'), '--stages', 'baseline']);
    expect(oneError(lab.stderr, 'OUT_INVALID')).toContain('is a file, so no folder can be made inside it');
    const compare = await cli(['compare', BASE, HEAD, '--out', file]);
    expect(oneError(compare.stderr, 'OUT_INVALID')).toContain('is a file, not a folder');
    const report = await cli(['report', RUN, '--out', join(file, 'index.html')]);
    expect(oneError(report.stderr, 'OUT_INVALID')).toContain('is a file, not a folder');
    for (const r of [profile, lab, compare, report]) expect(r.code).toBe(1);
    expect(tmpFilesIn(tmp)).toEqual([]);
  });
});

describe('report --out <an existing folder>', () => {
  it('writes index.html and report/ inside it, nothing beside it, no tmp file', async () => {
    const parent = join(tmp, 'parent');
    const dir = join(parent, 'site');
    mkdirSync(dir, { recursive: true });
    const r = await cli(['report', RUN, '--out', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('[INTERNAL]');
    expect(existsSync(join(dir, 'index.html'))).toBe(true);
    expect(readdirSync(join(dir, 'report')).some((n) => n.endsWith('.html'))).toBe(true);
    expect(readdirSync(parent)).toEqual(['site']);
    expect(tmpFilesIn(parent)).toEqual([]);
    expect(r.stdout).toContain('index.html');
  });
});
