import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main, parseCLI } from '../../scripts/cli.js';
import { COMMANDS } from '../../scripts/commands/index.js';
import { ERROR_CODES, LooplensError, formatError } from '../../scripts/errors.js';

function parseError(argv: string[]): LooplensError {
  try {
    parseCLI(argv);
  } catch (err) {
    return err as LooplensError;
  }
  throw new Error(`parseCLI(${argv.join(' ')}) did not throw`);
}

describe('parseCLI', () => {
  it('parses profile flags, typed, with the app command after --', () => {
    const p = parseCLI(['profile', '--path', '/a', '--path', '/b,/c', '-d', '5', '--connections', '4', '--profiler', '0x', '--', 'node', 'app.js', '--x']);
    expect(p.kind).toBe('run');
    if (p.kind !== 'run') return;
    expect(p.entry.spec.name).toBe('profile');
    expect(p.options.path).toEqual(['/a', '/b', '/c']);
    expect(p.options.duration).toBe(5);
    expect(p.options.connections).toBe(4);
    expect(p.options.profiler).toBe('0x');
    expect(p.options['ready-timeout']).toBe(30);
    expect(p.appCommand).toEqual(['node', 'app.js', '--x']);
  });

  it('profile --preset: lab by default, production, and a one-line error for anything else', () => {
    const lab = parseCLI(['profile', '--', 'node', 'app.js']);
    expect(lab.kind === 'run' && lab.options.preset).toBe('lab');
    const prod = parseCLI(['profile', '--preset', 'production', '--', 'node', 'app.js']);
    expect(prod.kind === 'run' && prod.options.preset).toBe('production');
    const err = parseError(['profile', '--preset', 'prod', '--', 'node', 'app.js']);
    expect(err.code).toBe('USAGE_BAD_VALUE');
    expect(formatError(err)).toBe('looplens: unknown preset "prod" — use one of: lab, production [USAGE_BAD_VALUE]');
  });

  it('resolves two-word commands and defaults', () => {
    const p = parseCLI(['db', 'seed', '--scale', '500']);
    expect(p.kind === 'run' && p.entry.spec.name).toBe('db seed');
    expect(p.kind === 'run' && p.options.scale).toBe(500);
    const lab = parseCLI(['lab', '--stages', 'baseline,cached', '--runs', '3']);
    expect(lab.kind === 'run' && lab.options).toMatchObject({ stages: ['baseline', 'cached'], runs: 3, scale: 150000, profiler: 'none' });
  });

  it('answers --help from the same flag table', () => {
    const top = parseCLI([]);
    expect(top.kind).toBe('help');
    for (const c of COMMANDS) expect(top.kind === 'help' && top.text).toContain(c.spec.name);
    const help = parseCLI(['profile', '--help']);
    expect(help.kind).toBe('help');
    if (help.kind !== 'help') return;
    for (const f of COMMANDS.find((c) => c.spec.name === 'profile')!.spec.flags) expect(help.text).toContain(`--${f.name}`);
    expect(parseCLI(['help', 'lab'])).toMatchObject({ kind: 'help' });
  });

  it('rejects unknown commands and flags with a suggestion', () => {
    expect(parseError(['profle'])).toMatchObject({ code: 'USAGE_UNKNOWN_COMMAND', fix: expect.stringContaining('profile') });
    expect(parseError(['db'])).toMatchObject({ code: 'USAGE_UNKNOWN_COMMAND' });
    expect(parseError(['profile', '--duraton', '3'])).toMatchObject({ code: 'USAGE_UNKNOWN_FLAG', fix: expect.stringContaining('--duration') });
  });

  it('rejects bad values', () => {
    expect(parseError(['profile', '--duration', 'abc'])).toMatchObject({ code: 'USAGE_BAD_VALUE' });
    expect(parseError(['profile', '--connections', '0'])).toMatchObject({ code: 'USAGE_BAD_VALUE' });
    expect(parseError(['profile', '--connections', '1.5'])).toMatchObject({ code: 'USAGE_BAD_VALUE' });
    expect(parseError(['profile', '--profiler', 'perf'])).toMatchObject({ code: 'UNKNOWN_PROFILER' });
    expect(parseError(['profile', 'node', 'app.js'])).toMatchObject({ code: 'USAGE_BAD_VALUE', fix: expect.stringContaining('--') });
    expect(parseError(['lab', '--', 'node'])).toMatchObject({ code: 'USAGE_BAD_VALUE' });
    expect(parseError(['profile', '--duration'])).toMatchObject({ code: 'USAGE_BAD_VALUE' });
  });

  it('says which flag is wrong and how, for negative numbers and missing values (long and short forms)', () => {
    for (const argv of [['profile', '--duration', '-5'], ['profile', '-d', '-5'], ['profile', '--duration=-5']]) {
      expect(parseError(argv), argv.join(' ')).toMatchObject({ code: 'USAGE_BAD_VALUE', message: '--duration must be a number ≥ 1, got "-5"' });
    }
    expect(parseError(['lab', '--warmup', '-1']).message).toBe('--warmup must be a number ≥ 0, got "-1"');
    expect(parseError(['profile', '-c', '-3']).message).toBe('--connections must be an integer ≥ 1, got "-3"');
    for (const argv of [['profile', '--duration'], ['profile', '-d']]) {
      const e = parseError(argv);
      expect(e.message, argv.join(' ')).toBe('--duration needs a value <s>');
      expect(e.fix).toContain('--duration 10');
    }
    const dashed = parseError(['profile', '--path', '-x', '--', 'node', 'app.js']);
    expect(dashed.message).toBe('--path needs a value <path>, but the next argument starts with a dash');
    expect(dashed.fix).toContain('--path=<value>');
    expect(parseError(['profile', '-s', '-x']).message).toBe('--stage (-s) needs a value <name>, but the next argument starts with a dash');
    // a negative number after a boolean flag is not taken as its value
    expect(parseError(['profile', '--no-tracing', '-5'])).toMatchObject({ code: 'USAGE_UNKNOWN_FLAG' });
  });
});

describe('errors', () => {
  it('formats one line with the code, and a stack only with LOOPLENS_DEBUG=1', () => {
    const e = new LooplensError('PORT_IN_USE', 'port 80 is already in use', 'pass another --port');
    expect(formatError(e, {})).toBe('looplens: port 80 is already in use — pass another --port [PORT_IN_USE]');
    expect(formatError(e, { LOOPLENS_DEBUG: '1' }).split('\n').length).toBeGreaterThan(1);
    expect(formatError(new Error('boom\nsecond line'), {})).toMatch(/^looplens: boom — .* \[INTERNAL\]$/);
  });

  it('documents every code in profiles/README.md with its exit code', () => {
    const readme = readFileSync(new URL('../../profiles/README.md', import.meta.url), 'utf8');
    for (const [code, exit] of Object.entries(ERROR_CODES)) {
      expect(readme, `${code} is not documented`).toMatch(new RegExp(`\\| \`${code}\` \\| ${exit} \\|`));
    }
    const documented = [...readme.matchAll(/^\| `([A-Z_]+)` \| \d+ \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });
});

describe('main', () => {
  it('prints help to stdout and exits 0; prints one error line and exits non-zero on bad input', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) }, env: {} };
    expect(await main(['--help'], io)).toBe(0);
    expect(out.join('')).toContain('looplens');
    expect(await main(['profile', '--bogus'], io)).toBe(2);
    expect(err.join('').trim().split('\n')).toHaveLength(1);
    expect(err.join('')).toMatch(/^looplens: unknown flag --bogus .*\[USAGE_UNKNOWN_FLAG\]/);
  });

  it('lab --stages with a stage twice is refused before anything runs (no lab folder)', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'looplens-cli-'));
    try {
      // the built CLI (the stage list comes from the built target-app)
      const bin = fileURLToPath(new URL('../../bin/looplens.js', import.meta.url));
      const started = Date.now();
      const r = spawnSync(process.execPath, [bin, 'lab', '--stages', 'baseline,pooled,baseline', '--out', join(cwd, 'lab')], { cwd, encoding: 'utf8', timeout: 20_000 });
      expect(r.status, r.stderr).toBe(2);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(r.stderr.trim()).toBe(
        'looplens: --stages lists baseline more than once — list each stage once (to measure a stage several times, use --runs N) [USAGE_BAD_VALUE]',
      );
      expect(readdirSync(cwd)).toEqual([]);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
