/**
 * Flags declared once: one table per command drives node:util parseArgs (strict), value checks and `--help`.
 */
import { parseArgs } from 'node:util';
import { LooplensError } from './errors.js';

export interface FlagSpec {
  /** Long name, without dashes. The parsed value is stored under this name. */
  readonly name: string;
  readonly short?: string;
  readonly type: 'string' | 'number' | 'boolean';
  /** Repeatable (`--path /a --path /b`); comma-separated values are split too. */
  readonly multiple?: boolean;
  readonly description: string;
  /** Shown in help as `--name <valueName>`. */
  readonly valueName?: string;
  readonly default?: string | number | boolean;
  /** Allowed values (strings). */
  readonly choices?: readonly string[];
  readonly min?: number;
  readonly integer?: boolean;
}

export interface PositionalSpec {
  readonly name: string;
  readonly description: string;
  readonly optional?: boolean;
  /** Only on the last positional: it takes any number of values (`report [folders…]`). */
  readonly variadic?: boolean;
}

export interface CommandSpec {
  /** "profile", "db seed". */
  readonly name: string;
  readonly summary: string;
  /** Usage line after `looplens `. */
  readonly usage: string;
  readonly flags: readonly FlagSpec[];
  /** Whether words after `--` are accepted (the app command). */
  readonly acceptsCommand?: boolean;
  /** Positional arguments, in order (e.g. compare's <base> <head>). None accepted when absent. */
  readonly positionals?: readonly PositionalSpec[];
  readonly examples?: readonly string[];
  /** Extra help paragraphs. */
  readonly notes?: readonly string[];
}

type ValueOf<F extends FlagSpec> = F['type'] extends 'number'
  ? F['multiple'] extends true
    ? number[]
    : number
  : F['type'] extends 'boolean'
    ? boolean
    : F['multiple'] extends true
      ? string[]
      : string;

/** The typed options object a flag table produces: flags with a default are always present. */
export type OptionsOf<T extends readonly FlagSpec[]> = {
  [F in T[number] as F['name']]: F extends { default: string | number | boolean } ? ValueOf<F> : ValueOf<F> | undefined;
};

export interface ParsedFlags {
  options: Record<string, unknown>;
  positionals: string[];
  help: boolean;
}

export function parseFlags(spec: CommandSpec, argv: readonly string[]): ParsedFlags {
  const config: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const f of spec.flags) {
    config[f.name] = {
      type: f.type === 'boolean' ? 'boolean' : 'string',
      ...(f.short ? { short: f.short } : {}),
      ...(f.multiple ? { multiple: true } : {}),
    };
  }
  let values: Record<string, unknown>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: joinNegativeNumbers(spec, argv), options: config, strict: true, allowPositionals: true }));
  } catch (err) {
    throw translateParseError(spec, err as Error & { code?: string });
  }
  if (values.help) return { options: {}, positionals: [], help: true };
  const declared = spec.positionals ?? [];
  const required = declared.filter((p) => !p.optional);
  if (positionals.length < required.length) {
    const missing = required.slice(positionals.length).map((p) => `<${p.name}>`);
    throw new LooplensError('USAGE_BAD_VALUE', `${spec.name} needs ${missing.join(' ')}`, `usage: looplens ${spec.usage}`);
  }
  if (positionals.length > declared.length && !declared[declared.length - 1]?.variadic) {
    const extra = positionals[declared.length];
    const hint = spec.acceptsCommand ? `put the app command after -- (looplens ${spec.name} [options] -- node app.js)` : `see looplens ${spec.name} --help`;
    throw new LooplensError('USAGE_BAD_VALUE', `unexpected argument "${extra}" for ${spec.name}`, hint);
  }
  const options: Record<string, unknown> = {};
  for (const f of spec.flags) {
    const raw = values[f.name];
    if (raw === undefined) {
      if (f.default !== undefined) options[f.name] = f.multiple ? [f.default] : f.default;
      continue;
    }
    if (f.type === 'boolean') {
      options[f.name] = raw;
      continue;
    }
    const items = f.multiple ? (raw as string[]).flatMap((s) => s.split(',')).filter((s) => s !== '') : [raw as string];
    const converted = items.map((s) => convert(spec, f, s));
    options[f.name] = f.multiple ? converted : converted[0];
  }
  return { options, positionals, help: false };
}

function convert(spec: CommandSpec, f: FlagSpec, s: string): string | number {
  if (f.choices && !f.choices.includes(s)) {
    throw new LooplensError(
      f.name === 'profiler' ? 'UNKNOWN_PROFILER' : f.name === 'stage' || f.name === 'stages' ? 'UNKNOWN_STAGE' : 'USAGE_BAD_VALUE',
      `unknown ${f.name === 'stages' ? 'stage' : f.name} "${s}"`,
      `use one of: ${f.choices.join(', ')}`,
    );
  }
  if (f.type !== 'number') return s;
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n) || (f.integer && !Number.isInteger(n)) || (f.min !== undefined && n < f.min)) {
    const want = `${f.integer ? 'an integer' : 'a number'}${f.min !== undefined ? ` ≥ ${f.min}` : ''}`;
    throw new LooplensError('USAGE_BAD_VALUE', `--${f.name} must be ${want}, got "${s}"`, `see looplens ${spec.name} --help`);
  }
  return n;
}

/**
 * `--duration -5` / `-d -5`: parseArgs refuses a value that starts with a dash ("ambiguous"), so a number flag
 * followed by a negative number becomes `--duration=-5`, and the range check says what is wrong with it.
 */
function joinNegativeNumbers(spec: CommandSpec, argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = argv[i + 1];
    const f = flagOf(spec, a);
    if (f && f.type === 'number' && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`--${f.name}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** The flag an argument names (`--name` or `-s`, without a value), if the command has it. */
function flagOf(spec: CommandSpec, arg: string): FlagSpec | undefined {
  if (arg.startsWith('--')) return spec.flags.find((f) => f.name === arg.slice(2));
  if (/^-\w$/.test(arg)) return spec.flags.find((f) => f.short === arg.slice(1));
  return undefined;
}

/** `--name`, or `--name (-s)` when the user typed the short form. */
function flagLabel(f: FlagSpec, typed: string): string {
  return typed === `-${f.short}` ? `--${f.name} (-${f.short})` : `--${f.name}`;
}

function translateParseError(spec: CommandSpec, err: Error & { code?: string }): LooplensError {
  const m = /option '([^']+)'/i.exec(err.message) ?? /'([^']+)'/.exec(err.message);
  const flag = m?.[1] ?? '';
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    // "Option '-d, --duration <value>' argument missing" / "Option '-d' argument is ambiguous. …"
    const typed = flag.split(/[ ,]+/).find((w) => w.startsWith('-')) ?? flag;
    const long = /--([\w-]+)/.exec(flag)?.[1];
    const f = (long ? spec.flags.find((x) => x.name === long) : undefined) ?? flagOf(spec, typed);
    // the "missing" message lists both forms ('-d, --duration <value>'): name the long one
    const label = f ? (flag.includes(',') ? `--${f.name}` : flagLabel(f, typed)) : typed || 'a flag';
    const want = f?.valueName ? ` <${f.valueName}>` : '';
    if (/ambiguous/.test(err.message)) {
      return new LooplensError(
        'USAGE_BAD_VALUE',
        `${label} needs a value${want}, but the next argument starts with a dash`,
        f ? `to pass a value that starts with a dash write --${f.name}=<value>; see looplens ${spec.name} --help` : `see looplens ${spec.name} --help`,
      );
    }
    return new LooplensError('USAGE_BAD_VALUE', `${label} needs a value${want}`, `e.g. ${f ? `--${f.name} ${exampleValue(f)}` : 'see'} (looplens ${spec.name} --help)`);
  }
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const name = flag.replace(/^-+/, '');
    const close = closest(name, spec.flags.map((f) => f.name));
    return new LooplensError(
      'USAGE_UNKNOWN_FLAG',
      `unknown flag ${flag || '(?)'} for ${spec.name}`,
      close ? `did you mean --${close}? (looplens ${spec.name} --help lists all flags)` : `looplens ${spec.name} --help lists the flags`,
    );
  }
  return new LooplensError('USAGE_BAD_VALUE', err.message.split('\n')[0] ?? 'bad arguments', `see looplens ${spec.name} --help`);
}

function exampleValue(f: FlagSpec): string {
  if (f.default !== undefined && typeof f.default !== 'boolean') return String(f.default);
  if (f.choices?.length) return f.choices[0];
  if (f.type === 'number') return String(f.min !== undefined && f.min > 0 ? f.min : 1);
  return `<${f.valueName ?? 'value'}>`;
}

/** The nearest name by edit distance, when it is close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}

export function renderHelp(spec: CommandSpec): string {
  const lines = [`looplens ${spec.name} — ${spec.summary}`, '', `Usage: looplens ${spec.usage}`, ''];
  if (spec.positionals?.length) {
    const w = Math.max(...spec.positionals.map((p) => p.name.length + (p.variadic ? 1 : 0))) + 4;
    lines.push('Arguments:', ...spec.positionals.map((p) => `  ${`<${p.name}${p.variadic ? '…' : ''}>`.padEnd(w)}${p.description}${p.optional ? ' (optional)' : ''}`), '');
  }
  lines.push('Options:');
  const rows = [
    ...spec.flags.map((f) => {
      const left = `${f.short ? `-${f.short}, ` : '    '}--${f.name}${f.type === 'boolean' ? '' : ` <${f.valueName ?? f.type}>`}`;
      const extra = [
        f.choices ? `one of ${f.choices.join('|')}` : '',
        f.multiple ? 'repeatable' : '',
        f.default !== undefined && f.default !== false ? `default ${f.default}` : '',
      ].filter(Boolean);
      return [left, `${f.description}${extra.length ? ` (${extra.join('; ')})` : ''}`];
    }),
    ['-h, --help', 'show this help'],
  ];
  const width = Math.max(...rows.map((r) => r[0].length)) + 2;
  for (const [left, right] of rows) lines.push(`  ${left.padEnd(width)}${right}`);
  for (const n of spec.notes ?? []) lines.push('', n);
  if (spec.examples?.length) {
    lines.push('', 'Examples:');
    for (const e of spec.examples) lines.push(`  ${e}`);
  }
  return lines.join('\n') + '\n';
}
