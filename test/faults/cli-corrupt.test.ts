/**
 * Run folders with missing or corrupt files given to `looplens compare`, `looplens report` and `looplens diagnose`.
 * The full table runs through the CLI's own entry point in this process (`main()` from scripts/cli.ts, which is all
 * bin/looplens.js calls: same parsing, same error printing, same exit code) because ~100 node start-ups cost minutes on
 * 2 cores; a sample of every kind of outcome also runs as a child process (`node bin/looplens.js …`).
 * Table-driven over a real run folder captured once by
 * `looplens profile` of the blocking fixture, and over the real lab fixture (test/dashboards/fixtures/real-lab):
 * every file the contract names is deleted, truncated, replaced by invalid JSON/text, or given the wrong shape.
 *
 * Expected, per command and file:
 * - a file the command needs (run.json, summary.json, lab.json) or an optional one it reads that is corrupt → exit 1,
 *   exactly one line `looplens: <path of the file> <what is wrong> — <fix> [CODE]`, never a stack trace;
 * - an optional file that is missing → the command works (exit 0) and says what is missing (compare and diagnose in
 *   their output; report on the run page, where a corrupt optional file is a note too, so one bad file does not cost
 *   the whole report);
 * - a file the command does not read → exit 0.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../scripts/cli.js';
import { ERROR_CODES } from '../../scripts/errors.js';
import { FIXTURE, ROOT, errorLines, oneError, runCli } from './helpers-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'looplens-faults-corrupt-'));
const RUN = join(tmp, 'captured');
const LAB = join(ROOT, 'test/dashboards/fixtures/real-lab');

beforeAll(async () => {
  // a real run folder with every file of the contract (findings.json included)
  const r = await runCli(['profile', '--heap', '--path', '/block', '--path', '/', '--warmup', '0', '--duration', '2', '--out', RUN, '--', 'node', FIXTURE], { LOOPLENS_QUIET: '1' });
  expect(r.code, r.stderr).toBe(0);
  for (const f of ['run.json', 'summary.json', 'load.json', 'blocking.json', 'stacks.folded', 'traces.otlp.json', 'traces.jaeger.json', 'eventloop.jsonl', 'findings.json', 'memory.jsonl', 'heap.heapprofile']) {
    expect(existsSync(join(RUN, f)), f).toBe(true);
  }
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Mode = 'deleted' | 'truncated' | 'invalid' | 'shape';
const MODES: Mode[] = ['deleted', 'truncated', 'invalid', 'shape'];
type Cmd = 'compare' | 'report' | 'diagnose';

function corrupt(path: string, mode: Mode): void {
  const text = readFileSync(path, 'utf8');
  const folded = path.endsWith('.folded');
  if (mode === 'deleted') rmSync(path);
  else if (mode === 'truncated') {
    let cut = Math.floor(text.length / 2);
    // cut inside a stack (before its count) / inside a JSON line, never on a line boundary
    if (folded) cut = text.indexOf(';', cut) + 1;
    else if (text[cut - 1] === '\n') cut -= 2;
    writeFileSync(path, text.slice(0, cut));
  } else if (mode === 'invalid') writeFileSync(path, '{"not json\n');
  else writeFileSync(path, folded ? 'main;handler not-a-count\n' : path.endsWith('.jsonl') ? '[1,2,3]\n' : '{"stages": 3, "data": {}, "findings": 1}');
}

/** What a command does with a file: needs it, reads it if there (optional), or never reads it. */
type Use = { need: true } | { optional: true; missingSays: RegExp | null; corruptIsNote?: boolean } | { unused: true };
const USE: Record<Cmd, Record<string, Use>> = {
  // compare reads each run's evidence for its blocking hotspots (run.json's window, load.json, blocking.json, the
  // traces, eventloop.jsonl: scripts/analysis/evidence.ts)
  compare: {
    'run.json': { need: true },
    'summary.json': { need: true },
    'blocking.json': { optional: true, missingSays: /blocking\.json is missing from the base run/ },
    'stacks.folded': { optional: true, missingSays: /stacks\.folded is missing from the base run/ },
    'findings.json': { optional: true, missingSays: /findings\.json is missing from the base run/ },
    'load.json': { optional: true, missingSays: null },
    // without traces.otlp.json the evidence reads the same spans from traces.jaeger.json
    'traces.otlp.json': { optional: true, missingSays: null },
    'eventloop.jsonl': { optional: true, missingSays: null },
    // the memory figures and the heap/gc metrics (scripts/analysis/memory.ts)
    'memory.jsonl': { optional: true, missingSays: null },
    'heap.heapprofile': { optional: true, missingSays: null },
    'traces.jaeger.json': { unused: true },
  },
  diagnose: {
    'run.json': { optional: true, missingSays: null },
    'load.json': { optional: true, missingSays: null },
    'blocking.json': { optional: true, missingSays: /blocking\.json missing/ },
    'traces.otlp.json': { optional: true, missingSays: null },
    'eventloop.jsonl': { optional: true, missingSays: null },
    // read only when load.json is missing (an older run): the load generator's figures
    'summary.json': { unused: true },
    // the CPU samples of the cpu-hotspot rule (profile.cpuprofile when there, else stacks.folded)
    'stacks.folded': { optional: true, missingSays: null },
    // the memory-growth and gc-pressure rules
    'memory.jsonl': { optional: true, missingSays: null },
    'heap.heapprofile': { optional: true, missingSays: null },
    'traces.jaeger.json': { unused: true },
    'findings.json': { unused: true },
  },
  report: {
    'run.json': { need: true },
    'summary.json': { need: true },
    'eventloop.jsonl': { optional: true, missingSays: /eventloop\.jsonl is missing/, corruptIsNote: true },
    'blocking.json': { optional: true, missingSays: /blocking\.json missing/, corruptIsNote: true },
    'load.json': { optional: true, missingSays: null, corruptIsNote: true },
    'traces.otlp.json': { optional: true, missingSays: null, corruptIsNote: true },
    'findings.json': { optional: true, missingSays: null, corruptIsNote: true },
    'memory.jsonl': { optional: true, missingSays: null, corruptIsNote: true },
    'heap.heapprofile': { optional: true, missingSays: null, corruptIsNote: true },
    'traces.jaeger.json': { unused: true },
    'stacks.folded': { unused: true },
  },
};

const CODE_OF: Record<Exclude<Mode, 'deleted'>, string> = { truncated: 'RUN_FILE_CORRUPT', invalid: 'RUN_FILE_CORRUPT', shape: 'RUN_FILE_INVALID' };

function argsFor(cmd: Cmd, bad: string, good: string, dir: string): string[] {
  if (cmd === 'compare') return ['compare', bad, good, '--out', join(dir, 'cmp')];
  if (cmd === 'report') return ['report', bad, '--out', join(dir, 'rep', 'index.html')];
  return ['diagnose', bad];
}

/** The report's pages, concatenated (where notes about optional files land). */
function reportPages(dir: string): string {
  const pages = join(dir, 'rep', 'report');
  return existsSync(pages) ? readdirSync(pages).map((p) => readFileSync(join(pages, p), 'utf8')).join('\n') : '';
}

function expectNoCrash(stderr: string): void {
  expect(stderr, 'a stack trace was printed').not.toMatch(/\n\s+at .+[:(]/);
  expect(stderr).not.toMatch(/\[INTERNAL\]|TypeError|ReferenceError/);
}

const rows: { cmd: Cmd; file: string; mode: Mode }[] = [];
// a file the command does not read: one row (invalid) is enough to show it is not read
for (const cmd of ['compare', 'diagnose', 'report'] as Cmd[]) {
  for (const file of Object.keys(USE[cmd])) for (const mode of 'unused' in USE[cmd][file]! ? (['invalid'] as Mode[]) : MODES) rows.push({ cmd, file, mode });
}

/** The CLI in this process: main() with captured output; resolves like a child's exit. */
async function inProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t), isTTY: false },
    env: { LOOPLENS_QUIET: '1' },
    cwd: tmp,
  });
  return { code, stdout, stderr };
}

/** A sample run as real child processes: one row per command and kind of outcome. */
const CHILD = new Set([
  'compare run.json deleted', 'compare summary.json truncated', 'compare findings.json shape', 'compare stacks.folded deleted',
  'diagnose traces.otlp.json shape', 'diagnose blocking.json deleted',
  'report summary.json deleted', 'report run.json shape', 'report blocking.json invalid', 'report eventloop.jsonl deleted',
]);

let n = 0;
describe('a run folder with a missing or corrupt file', () => {
  it.each(rows)('$cmd with $file $mode', async ({ cmd, file, mode }) => {
    const dir = join(tmp, `case-${++n}`);
    const bad = join(dir, 'bad');
    const good = join(dir, 'good');
    cpSync(RUN, bad, { recursive: true });
    cpSync(RUN, good, { recursive: true });
    corrupt(join(bad, file), mode);
    const child = CHILD.has(`${cmd} ${file} ${mode}`);
    const r = child ? await runCli(argsFor(cmd, bad, good, dir), { LOOPLENS_QUIET: '1' }) : await inProcess(argsFor(cmd, bad, good, dir));
    const use = USE[cmd][file]!;
    expectNoCrash(r.stderr);

    if ('unused' in use) {
      expect(r.code, r.stderr).toBe(0);
      expect(errorLines(r.stderr)).toEqual([]);
      return;
    }
    if (mode === 'deleted') {
      if ('need' in use) {
        expect(r.code, r.stderr).toBe(1);
        const code = file === 'run.json' ? 'NOT_A_RUN_FOLDER' : 'RUN_FILE_MISSING';
        const line = oneError(r.stderr, code);
        expect(line).toContain(file === 'run.json' ? bad : join(bad, file));
        if (file === 'run.json') expect(line).toContain('run.json');
        return;
      }
      expect(r.code, r.stderr).toBe(0);
      expect(errorLines(r.stderr)).toEqual([]);
      if (use.missingSays) expect(cmd === 'report' ? reportPages(dir) : r.stdout).toMatch(use.missingSays);
      return;
    }
    if ('optional' in use && use.corruptIsNote) {
      expect(r.code, r.stderr).toBe(0);
      // the page names the file and says what is wrong with it
      expect(reportPages(dir)).toMatch(new RegExp(`${file.replace(/\./g, '\\.')} (line \\d+ )?(is not|has no|has a|does not match)`));
      return;
    }
    expect(r.code, r.stderr).toBe(1);
    // stacks.folded is text, not JSON: any line that is not `stack count` makes it corrupt
    const line = oneError(r.stderr, file === 'stacks.folded' ? 'RUN_FILE_CORRUPT' : CODE_OF[mode]);
    expect(line).toContain(join(bad, file));
  });
});

it('the child-process sample covers every command', () => {
  expect(CHILD.size).toBe(10);
  for (const key of CHILD) expect(rows.some((r) => `${r.cmd} ${r.file} ${r.mode}` === key), key).toBe(true);
});

describe('special cases', () => {
  it('diagnose without traces.otlp.json reads traces.jaeger.json, and names it when that is corrupt', async () => {
    const bad = join(tmp, 'jaeger-only', 'run');
    cpSync(RUN, bad, { recursive: true });
    rmSync(join(bad, 'traces.otlp.json'));
    corrupt(join(bad, 'traces.jaeger.json'), 'truncated');
    const r = await inProcess(['diagnose', bad]);
    expect(r.code).toBe(1);
    expect(oneError(r.stderr, 'RUN_FILE_CORRUPT')).toContain(join(bad, 'traces.jaeger.json'));
  });

  it('diagnose without any traces still works and says the traces are missing', async () => {
    const bad = join(tmp, 'no-traces', 'run');
    cpSync(RUN, bad, { recursive: true });
    rmSync(join(bad, 'traces.otlp.json'));
    rmSync(join(bad, 'traces.jaeger.json'));
    const r = await inProcess(['diagnose', bad]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/no spans \(traces\.otlp\.json and traces\.jaeger\.json missing or empty\)/);
  });

  it.each(MODES.filter((m) => m !== 'deleted'))('lab.json %s → compare, report and diagnose name it', async (mode) => {
    const dir = join(tmp, `lab-${mode}`);
    const bad = join(dir, 'bad');
    cpSync(LAB, bad, { recursive: true });
    cpSync(LAB, join(dir, 'good'), { recursive: true });
    corrupt(join(bad, 'lab.json'), mode);
    for (const cmd of ['compare', 'report', 'diagnose'] as Cmd[]) {
      const r = await inProcess(argsFor(cmd, bad, join(dir, 'good'), dir));
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(1);
      expect(oneError(r.stderr, CODE_OF[mode as Exclude<Mode, 'deleted'>])).toContain(join(bad, 'lab.json'));
    }
  });

  it('a lab folder without lab.json: compare and diagnose say it is not a run or lab folder', async () => {
    const bad = join(tmp, 'lab-deleted', 'bad');
    cpSync(LAB, bad, { recursive: true });
    rmSync(join(bad, 'lab.json'));
    for (const args of [['compare', bad, LAB], ['diagnose', bad]]) {
      const r = await inProcess(args);
      expect(r.code).toBe(1);
      expect(oneError(r.stderr, 'NOT_A_RUN_FOLDER')).toContain(bad);
    }
  });
});

describe('error codes', () => {
  it('every code the CLI can print, the run-folder ones included, is documented in profiles/README.md', () => {
    const readme = readFileSync(join(ROOT, 'profiles/README.md'), 'utf8');
    for (const [code, exit] of Object.entries(ERROR_CODES)) expect(readme).toContain(`| \`${code}\` | ${exit} |`);
    // and the contract's own codes are among them
    const errorsTs = readFileSync(join(ROOT, 'profiles/contract/errors.ts'), 'utf8');
    const contractCodes = [...errorsTs.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]!);
    expect(contractCodes.length).toBeGreaterThanOrEqual(4);
    for (const c of contractCodes) expect(Object.keys(ERROR_CODES)).toContain(c);
  });

  it('LOOPLENS_DEBUG=1 is the only way to get a stack (checked on a corrupt blocking.json)', () => {
    const bad = join(tmp, 'debug', 'run');
    cpSync(RUN, bad, { recursive: true });
    corrupt(join(bad, 'blocking.json'), 'invalid');
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/looplens.js'), 'diagnose', bad], { env: { ...process.env, LOOPLENS_DEBUG: '1' }, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\[RUN_FILE_CORRUPT\]\n[\s\S]*\n\s+at /);
  });
});
