/**
 * The looplens CLI: a thin shell over the library. It parses (one flag table per command), prints, and turns errors
 * into one actionable line and an exit code. It is the only place that does either; nothing calls process.exit.
 */
import { readFileSync } from 'node:fs';
import { COMMANDS, type CommandEntry } from './commands/index.js';
import { LooplensError, exitCodeOf, formatError } from './errors.js';
import { closest, parseFlags, renderHelp } from './flags.js';
import { Progress } from './progress.js';

export type ParsedCLI =
  | { kind: 'help'; text: string }
  | { kind: 'version'; text: string }
  | { kind: 'run'; entry: CommandEntry; options: Record<string, unknown>; positionals: string[]; appCommand: string[] };

export function topLevelHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.spec.name.length)) + 2;
  return [
    'looplens — event-loop profiling lab for Node.js',
    '',
    'Usage: looplens <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.spec.name.padEnd(width)}${c.spec.summary}`),
    '',
    'Run `looplens <command> --help` for its options. Errors print one line ending in [CODE] (see profiles/README.md);',
    'LOOPLENS_DEBUG=1 adds the stack.',
    '',
  ].join('\n');
}

/** Parse argv (without node and script) into a command and typed options. Throws LooplensError on bad input. */
export function parseCLI(argv: readonly string[]): ParsedCLI {
  const dash = argv.indexOf('--');
  const before = dash === -1 ? [...argv] : argv.slice(0, dash);
  const appCommand = dash === -1 ? [] : argv.slice(dash + 1);

  if (before.length === 0 || before[0] === '--help' || before[0] === '-h' || before[0] === 'help') {
    const topic = before[0] === 'help' ? before.slice(1).join(' ') : '';
    const entry = topic ? COMMANDS.find((c) => c.spec.name === topic) : undefined;
    return { kind: 'help', text: entry ? renderHelp(entry.spec) : topLevelHelp() };
  }
  if (before[0] === '--version' || before[0] === '-v') return { kind: 'version', text: version() + '\n' };

  const two = before.slice(0, 2).join(' ');
  let entry = COMMANDS.find((c) => c.spec.name === two);
  let rest = before.slice(2);
  if (!entry) {
    entry = COMMANDS.find((c) => c.spec.name === before[0]);
    rest = before.slice(1);
  }
  if (!entry) {
    const group = COMMANDS.filter((c) => c.spec.name.startsWith(`${before[0]} `));
    if (group.length > 0) {
      throw new LooplensError(
        'USAGE_UNKNOWN_COMMAND',
        before[1] ? `unknown command "${two}"` : `"${before[0]}" needs a subcommand`,
        `use one of: ${group.map((c) => c.spec.name).join(', ')}`,
      );
    }
    const guess = closest(before[0], COMMANDS.map((c) => c.spec.name.split(' ')[0]));
    throw new LooplensError(
      'USAGE_UNKNOWN_COMMAND',
      `unknown command "${before[0]}"`,
      guess ? `did you mean "${guess}"? (looplens --help lists the commands)` : 'looplens --help lists the commands',
    );
  }
  const parsed = parseFlags(entry.spec, rest);
  if (parsed.help) return { kind: 'help', text: renderHelp(entry.spec) };
  if (appCommand.length > 0 && !entry.spec.acceptsCommand) {
    throw new LooplensError('USAGE_BAD_VALUE', `${entry.spec.name} takes no command after --`, `see looplens ${entry.spec.name} --help`);
  }
  return { kind: 'run', entry, options: parsed.options, positionals: parsed.positionals, appCommand };
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    return `looplens ${pkg.version}`;
  } catch {
    return 'looplens';
  }
}

export interface MainIO {
  stdout?: { write(s: string): unknown };
  stderr?: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean };
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Run the CLI; resolves to the exit code. Ctrl-C (SIGINT, SIGTERM, SIGHUP) aborts the command, which cleans up. */
export async function main(argv: readonly string[], io: MainIO = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  let parsed: ParsedCLI;
  try {
    parsed = parseCLI(argv);
  } catch (err) {
    stderr.write(formatError(err, env) + '\n');
    return exitCodeOf(err);
  }
  if (parsed.kind !== 'run') {
    stdout.write(parsed.text);
    return 0;
  }

  const controller = new AbortController();
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const progress = new Progress(stderr, { quiet: env.LOOPLENS_QUIET === '1' });
  let interrupts = 0;
  // the phase Ctrl-C arrived in (cleaning up enters other phases), for the one line printed at the end
  let interruptedDuring = '';
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) {
      interruptedDuring = progress.label;
      controller.abort(new LooplensError('INTERRUPTED', `interrupted by ${sig === 'SIGINT' ? 'Ctrl-C' : sig}`, 'run it again'));
    }
  };
  for (const s of signals) process.on(s, onSignal);
  try {
    const handler = await parsed.entry.load();
    const code = await handler({ options: parsed.options, positionals: parsed.positionals, command: parsed.appCommand }, {
      progress,
      signal: controller.signal,
      out: (text) => {
        progress.done();
        stdout.write(text.endsWith('\n') ? text : text + '\n');
      },
      cwd: io.cwd ?? process.cwd(),
      env,
      argv,
    });
    progress.done();
    return code ?? 0;
  } catch (err) {
    progress.done();
    let shown = err;
    if (err instanceof LooplensError && err.code === 'INTERRUPTED' && interruptedDuring) {
      shown = new LooplensError('INTERRUPTED', `${err.message} during ${interruptedDuring}`, err.fix, { details: err.details, cause: err.cause });
    }
    stderr.write(formatError(shown, env) + '\n');
    return exitCodeOf(err);
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}
