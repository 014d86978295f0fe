/**
 * The one --out check (scripts/out-path.ts), in process: pseudo file systems and files-where-a-folder-is-needed are
 * refused with one OUT_INVALID error, quickly, and nothing is created; good paths are created one component at a
 * time; a file output given a folder gets its default name inside it.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LooplensError } from '../../scripts/errors.js';
import { checkOutFile, checkOutFolder, makeOutFolder } from '../../scripts/out-path.js';

const tmp = mkdtempSync(join(tmpdir(), 'looplens-out-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function refusal(fn: () => unknown): LooplensError {
  const started = performance.now();
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(performance.now() - started, 'the check must be bounded').toBeLessThan(1000);
  expect(caught).toBeInstanceOf(LooplensError);
  const e = caught as LooplensError;
  expect(e.message).not.toMatch(/\n/);
  return e;
}

describe('--out folders', () => {
  it('refuses /proc and /sys paths, existing or not, without creating anything', () => {
    for (const p of ['/proc/x', '/proc/x/y/z', '/proc/self/looplens', '/sys/x', '/sys/kernel/looplens', '/proc']) {
      const e = refusal(() => makeOutFolder(p));
      expect(e.code, p).toBe('OUT_INVALID');
      expect(e.message, p).toMatch(/^--out \/(proc|sys).*: .* is on the (proc|sys|sysfs) pseudo file system/);
      expect(existsSync(p) && p !== '/proc', p).toBe(false);
    }
  });

  it('refuses a file where a folder is needed: the path itself, or a parent of it', () => {
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'x');
    const self = refusal(() => makeOutFolder(file));
    expect(self.code).toBe('OUT_INVALID');
    expect(self.message).toContain(`${file} is a file, not a folder`);
    const under = refusal(() => makeOutFolder(join(file, 'run', 'deeper')));
    expect(under.code).toBe('OUT_INVALID');
    expect(under.message).toContain(`${file} is a file, so no folder can be made inside it`);
    expect(statSync(file).isFile()).toBe(true);
  });

  it('creates missing components one by one; an existing non-empty folder is OUT_NOT_EMPTY when it must be empty', () => {
    const deep = join(tmp, 'new', 'deeper', 'run');
    expect(checkOutFolder(deep)).toBe(deep);
    expect(existsSync(join(tmp, 'new')), 'checkOutFolder creates nothing').toBe(false);
    expect(makeOutFolder(deep)).toBe(deep);
    expect(statSync(deep).isDirectory()).toBe(true);
    expect(makeOutFolder(deep, { mustBeEmpty: true })).toBe(deep); // empty: fine
    writeFileSync(join(deep, 'f'), 'x');
    expect(refusal(() => makeOutFolder(deep, { mustBeEmpty: true })).code).toBe('OUT_NOT_EMPTY');
    expect(makeOutFolder(deep)).toBe(deep); // compare's folder may hold files
  });

  it('relative paths resolve against cwd; empty and NUL-byte paths are refused', () => {
    expect(makeOutFolder('rel/x', { cwd: tmp })).toBe(join(tmp, 'rel/x'));
    expect(refusal(() => makeOutFolder('')).code).toBe('OUT_INVALID');
    expect(refusal(() => makeOutFolder('a\0b')).code).toBe('OUT_INVALID');
  });

  it('names the flag it checks', () => {
    expect(refusal(() => checkOutFolder('/proc/x', { flag: '--dir' })).message).toMatch(/^--dir \/proc\/x: /);
  });
});

describe('--out files (the report index)', () => {
  it('an existing folder, or a path ending in /, gets index.html inside it', () => {
    const dir = join(tmp, 'report-dir');
    mkdirSync(dir);
    expect(checkOutFile(dir, 'index.html')).toBe(join(dir, 'index.html'));
    expect(checkOutFile(join(tmp, 'not-yet') + '/', 'index.html')).toBe(join(tmp, 'not-yet', 'index.html'));
    expect(checkOutFile(join(tmp, 'r.html'), 'index.html')).toBe(join(tmp, 'r.html'));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses /proc, a file as its folder, a folder where the file goes, and device files', () => {
    expect(refusal(() => checkOutFile('/proc/x/index.html', 'index.html')).code).toBe('OUT_INVALID');
    expect(refusal(() => checkOutFile('/sys/x', 'index.html')).code).toBe('OUT_INVALID');
    const file = join(tmp, 'plain');
    writeFileSync(file, 'x');
    expect(refusal(() => checkOutFile(join(file, 'index.html'), 'index.html')).message).toContain('is a file, not a folder');
    const dir = join(tmp, 'has-index-dir');
    mkdirSync(join(dir, 'index.html'), { recursive: true });
    expect(refusal(() => checkOutFile(dir, 'index.html')).message).toContain('is a folder, not a file');
    expect(refusal(() => checkOutFile('/dev/null', 'index.html')).message).toContain('not a regular file');
  });
});
