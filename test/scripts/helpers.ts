/** Helpers for the CLI's integration tests: run the real CLI (bin/looplens.js) and check run folders. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import {
  readBlocking,
  readCpuProfile,
  readEventLoop,
  readFolded,
  readJaeger,
  readOtlpTraces,
  readRunInfo,
  readSummary,
} from '../../profiles/contract/read.js';
import { RUN_FILES, type RunInfo, type Summary } from '../../profiles/contract/types.js';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const BIN = join(ROOT, 'bin/looplens.js');
export const FIXTURE = join(ROOT, 'test/scripts/fixtures/blocking-app.mjs');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, LOOPLENS_DEBUG: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return startCli(args, env).done;
}

/** The error lines of the CLI's stderr (progress lines start with "[" or "stage"). */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('looplens:'));
}

/** PIDs of processes whose command line contains `marker` (not this test process). */
export function processesWith(marker: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes(marker) && !l.includes('ps -eo'))
    .map((l) => l.trim().split(/\s+/)[0]);
}

/** Every file of the run-folder contract is there and valid. */
export function checkRunFolder(dir: string): { info: RunInfo; summary: Summary; folded: string; flamegraph: string } {
  for (const f of ['run', 'summary', 'summaryMd', 'eventloop', 'blocking', 'tracesOtlp', 'tracesJaeger', 'cpuprofile', 'folded', 'flamegraph'] as const) {
    expect(existsSync(join(dir, RUN_FILES[f])), `${RUN_FILES[f]} missing in ${dir}`).toBe(true);
  }
  const info = readRunInfo(dir); // each reader validates against the schema
  expect(info.complete, info.reason).toBe(true);
  expect(info.phase).toBe('done');
  const summary = readSummary(dir);
  readBlocking(dir);
  expect(readEventLoop(dir).length).toBeGreaterThan(0);
  expect(Array.isArray(readJaeger(dir).data)).toBe(true);
  expect(readOtlpTraces(dir)).toHaveProperty('resourceSpans');
  expect(readCpuProfile(dir)).toHaveProperty('nodes');
  const folded = readFolded(dir);
  for (const line of folded.trim().split('\n')) expect(line).toMatch(/ \d+$/);
  const flamegraph = readFileSync(join(dir, RUN_FILES.flamegraph), 'utf8');
  expect(flamegraph).toContain('<canvas');
  expect(flamegraph).not.toMatch(/<script[^>]+src=/);
  expect(readFileSync(join(dir, RUN_FILES.summaryMd), 'utf8')).toContain('## Requests');
  return { info, summary, folded, flamegraph };
}

export function listFiles(dir: string): string[] {
  return readdirSync(dir);
}
