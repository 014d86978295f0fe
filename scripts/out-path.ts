/**
 * Output paths (`--out` of profile, lab, report and compare; `serve --dir`), checked before anything is written and
 * created without `mkdirSync(…, { recursive: true })`: on Node 20 that call never returns for a path such as
 * /proc/x (mkdir answers ENOENT, the parent exists, and it retries forever, ignoring SIGINT). Here every step is a
 * single system call, one per path component, so a check ends whatever the path:
 *
 * 1. walk up from the path to the nearest component that exists (stat, at most one per component);
 * 2. that component must be a folder (a file there means the path names a file where a folder is needed), must not
 *    be on a pseudo file system (/proc, /sys, cgroup, debugfs …: never a place for results) and must be writable;
 * 3. create the missing components one by one with a plain mkdir.
 * Every failure is one LooplensError OUT_INVALID naming the flag, the path and what is wrong.
 */
import { accessSync, constants, mkdirSync, readdirSync, statSync, statfsSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { LooplensError } from './errors.js';

/** statfs f_type of Linux pseudo file systems (linux/magic.h): kernel views, not storage. */
const PSEUDO_FS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x6165676c, 'pstore'],
  [0xcafe4a11, 'bpf'],
  [0x62656570, 'configfs'],
  [0xde5e81e4, 'efivarfs'],
  [0x1cd1, 'devpts'],
  [0x42494e4d, 'binfmt_misc'],
  [0xf97cff8c, 'selinuxfs'],
  [0x65735543, 'fusectl'],
  [0x19800202, 'mqueue'],
]);

/** Top-level folders that are pseudo file systems on Linux, refused by name as well (no statfs needed). */
const PSEUDO_ROOTS = ['/proc', '/sys'];

export interface OutPathOptions {
  /** How the path was given, for the message (default "--out"). */
  flag?: string;
  /** Relative paths resolve against this (default process.cwd()). */
  cwd?: string;
  /** The path as the user gave it, for the message (default: the path checked). */
  shown?: string;
}

function invalid(flag: string, given: string, what: string, fix = 'pass a writable folder you own, e.g. --out profiles/my-run'): LooplensError {
  return new LooplensError('OUT_INVALID', `${flag} ${given}: ${what}`, fix);
}

function statOrNull(p: string): ReturnType<typeof statSync> | null {
  try {
    return statSync(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOENT: missing; ENOTDIR: a component above is a file (the walk up finds it)
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

function pseudoFsOf(p: string): string | null {
  for (const root of PSEUDO_ROOTS) if (p === root || p.startsWith(root + sep)) return root.slice(1);
  if (process.platform !== 'linux') return null;
  try {
    return PSEUDO_FS.get(Number(statfsSync(p).type)) ?? null;
  } catch {
    return null;
  }
}

interface Checked {
  abs: string;
  /** The nearest existing folder at or above `abs`. */
  existing: string;
  /** Components below `existing` still to create, outermost first. */
  missing: string[];
  /** `abs` itself exists (and is a folder). */
  exists: boolean;
}

/** Steps 1 and 2 above for a folder path; creates nothing. */
function check(given: string, options: OutPathOptions): Checked {
  const flag = options.flag ?? '--out';
  const path = options.shown ?? given;
  if (given.trim() === '') throw invalid(flag, '""', 'the path is empty');
  if (given.includes('\0')) throw invalid(flag, JSON.stringify(path), 'the path contains a NUL byte');
  const abs = resolve(options.cwd ?? process.cwd(), given);
  const pseudo = pseudoFsOf(abs);
  if (pseudo) throw invalid(flag, path, `${abs} is on the ${pseudo} pseudo file system, where nothing can be written`);
  const missing: string[] = [];
  let at = abs;
  let st: ReturnType<typeof statSync> | null;
  for (;;) {
    try {
      st = statOrNull(at);
    } catch (err) {
      throw invalid(flag, path, `cannot look at ${at} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (st) break;
    const up = dirname(at);
    if (up === at) throw invalid(flag, path, 'no folder of it exists, not even the root');
    missing.unshift(at);
    at = up;
  }
  if (!st.isDirectory()) {
    throw at === abs
      ? invalid(flag, path, `${abs} is a file, not a folder`, 'pass a folder (missing or empty), not a file')
      : invalid(flag, path, `${at} is a file, so no folder can be made inside it`, 'pass a path whose parent folders are folders');
  }
  const fsType = pseudoFsOf(at);
  if (fsType) throw invalid(flag, path, `${at} is on the ${fsType} pseudo file system, where nothing can be written`);
  try {
    accessSync(at, constants.W_OK | constants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw invalid(flag, path, `${at} is not writable (${code === 'EROFS' ? 'read-only file system' : (code ?? 'no access')})`);
  }
  return { abs, existing: at, missing, exists: missing.length === 0 };
}

/**
 * The folder is usable (it may or may not exist; with `mustBeEmpty`, an existing one holds nothing); nothing is
 * created. Returns its absolute path.
 */
export function checkOutFolder(given: string, options: OutPathOptions & { mustBeEmpty?: boolean } = {}): string {
  return checked(given, options).abs;
}

function checked(given: string, options: OutPathOptions & { mustBeEmpty?: boolean }): Checked {
  const c = check(given, options);
  if (c.exists && options.mustBeEmpty && readdirSync(c.abs).length > 0) {
    throw new LooplensError('OUT_NOT_EMPTY', `${options.flag ?? '--out'} ${options.shown ?? given} exists and is not empty`, 'pick a new folder or empty it');
  }
  return c;
}

/**
 * Creates the folder (and its missing parents, one mkdir each). With `mustBeEmpty`, an existing folder that holds
 * anything is refused with OUT_NOT_EMPTY. Returns its absolute path.
 */
export function makeOutFolder(given: string, options: OutPathOptions & { mustBeEmpty?: boolean } = {}): string {
  const flag = options.flag ?? '--out';
  const path = options.shown ?? given;
  const c = checked(given, options);
  for (const dir of c.missing) {
    try {
      mkdirSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && statOrNull(dir)?.isDirectory()) continue; // made by someone else meanwhile
      throw invalid(flag, path, `cannot create ${dir} (${code ?? (err as Error).message})`);
    }
  }
  return c.abs;
}

/**
 * A file output (report's index): an existing folder, or a path ending in a separator, gets `defaultName` inside it;
 * a path naming an existing file will be overwritten. Checks the folder that will hold the file (as checkOutFolder)
 * and creates nothing: create it with makeOutFolder(dirname(file)) when writing. Returns the file's absolute path.
 */
export function checkOutFile(given: string, defaultName: string, options: OutPathOptions = {}): string {
  const flag = options.flag ?? '--out';
  const path = options.shown ?? given;
  if (given.trim() === '') throw invalid(flag, '""', 'the path is empty');
  const abs = resolve(options.cwd ?? process.cwd(), given);
  const isFolder = (p: string): boolean => {
    if (pseudoFsOf(p)) return false; // refused by the folder check below, with the reason
    try {
      return statOrNull(p)?.isDirectory() ?? false;
    } catch (err) {
      throw invalid(flag, path, `cannot look at ${p} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  const file = isFolder(abs) || /[\\/]$/.test(given) ? join(abs, defaultName) : abs;
  checkOutFolder(dirname(file), { flag, shown: path });
  const st = statOrNull(file);
  if (st?.isDirectory()) throw invalid(flag, path, `${file} is a folder, not a file`, 'pass the folder holding it, or another file name');
  if (st && !st.isFile()) throw invalid(flag, path, `${file} is not a regular file (a device, socket or pipe)`, 'pass a file or folder path of your own');
  return file;
}
