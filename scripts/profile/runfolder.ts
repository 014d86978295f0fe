/** Run folder creation and run.json bookkeeping (written at start with complete:false, updated per phase). */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { basename, join } from 'node:path';
import { RUN_FILES, type RunInfo } from '../../profiles/contract/types.js';
import { writeJsonAtomic } from '../../profiles/contract/write.js';
import { makeOutFolder } from '../out-path.js';

/** yyyyMMdd-HHmmss in local time. */
export function timestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

export function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'app';
}

/** A name for the app: its stage, else the script's base name without extension. */
export function appLabel(command: string[], stage?: string): string {
  if (stage) return slug(stage);
  const script = command.slice(1).find((a) => !a.startsWith('-')) ?? command[0] ?? 'app';
  return slug(basename(script).replace(/\.[cm]?[jt]s$/, ''));
}

/**
 * Creates the folder through the one --out check (../out-path.ts: bounded, one-line OUT_INVALID errors); `out` must be
 * missing or empty. Without `out`, <parent>/<name> (then <name>-2, -3 … when taken). Returns its absolute path.
 */
export function createRunFolder(parent: string, name: string, out?: string): string {
  if (out) return makeOutFolder(out, { mustBeEmpty: true });
  let dir = join(parent, name);
  for (let i = 2; existsSync(dir); i++) dir = join(parent, `${name}-${i}`);
  return makeOutFolder(dir, { flag: 'the run folder' });
}

export function gitSha(cwd: string): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || undefined;
  } catch {
    return undefined;
  }
}

export function machineInfo(): Pick<RunInfo, 'node' | 'platform' | 'cpu' | 'memoryGiB'> {
  const c = cpus();
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: { model: c[0]?.model?.trim() ?? 'unknown', cores: c.length },
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  };
}

/** Holds run.json in memory and rewrites it atomically on every change. */
export class RunJson {
  constructor(
    readonly dir: string,
    public info: RunInfo,
  ) {
    this.save();
  }
  update(patch: Partial<RunInfo>): void {
    this.info = { ...this.info, ...patch };
    this.save();
  }
  note(text: string): void {
    this.update({ notes: [...(this.info.notes ?? []), text] });
  }
  private save(): void {
    writeJsonAtomic(join(this.dir, RUN_FILES.run), this.info);
  }
}
