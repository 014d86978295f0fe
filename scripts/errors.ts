/**
 * Errors with stable codes. Library code throws LooplensError; only scripts/cli.ts prints (through formatError) and
 * turns an error into an exit code. Every code is documented in the table in profiles/README.md (a test checks it).
 */
import { RunFolderError } from '../profiles/contract/errors.js';

/** Every code, with the exit code the CLI uses for it. 2 = the command line was wrong, 130 = Ctrl-C, 1 = the rest. */
export const ERROR_CODES = {
  USAGE_UNKNOWN_COMMAND: 2,
  USAGE_UNKNOWN_FLAG: 2,
  USAGE_BAD_VALUE: 2,
  USAGE_MISSING_COMMAND: 2,
  UNKNOWN_STAGE: 2,
  UNKNOWN_PROFILER: 2,
  UNKNOWN_SCENARIO: 2,
  SCENARIO_INVALID: 2,
  PORT_IN_USE: 1,
  OUT_NOT_EMPTY: 1,
  OUT_INVALID: 1,
  BUILD_MISSING: 1,
  APP_EXITED: 1,
  APP_NOT_LISTENING: 1,
  APP_CRASHED: 1,
  LOAD_FAILED: 1,
  AUTH_FAILED: 1,
  RUN_EMPTY: 1,
  RUN_ERRORS: 1,
  PROBE_OUTPUT_MISSING: 1,
  PROFILER_FAILED: 1,
  ANALYSIS_TIMEOUT: 1,
  SERVICE_UNAVAILABLE: 1,
  SEED_FAILED: 1,
  DB_NOT_SEEDED: 1,
  INTERRUPTED: 130,
  RUN_FILE_MISSING: 1,
  RUN_FILE_CORRUPT: 1,
  RUN_FILE_INVALID: 1,
  NOT_A_RUN_FOLDER: 1,
  INTERNAL: 1,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class LooplensError extends Error {
  readonly code: ErrorCode;
  /** How to fix it, one short clause ("pass --port N or omit it to get a free port"). */
  readonly fix: string;
  /** Extra lines worth showing under the one-line message (e.g. the app's last stderr lines). */
  readonly details: string[];
  constructor(code: ErrorCode, message: string, fix: string, options: { details?: string[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LooplensError';
    this.code = code;
    this.fix = fix;
    this.details = options.details ?? [];
  }
}

export function exitCodeOf(err: unknown): number {
  const code = (err as { code?: string } | null)?.code;
  if (code && code in ERROR_CODES) return ERROR_CODES[code as ErrorCode];
  return 1;
}

/** Any error → a LooplensError (contract read errors keep their code; anything else is INTERNAL). */
export function toLooplensError(err: unknown): LooplensError {
  if (err instanceof LooplensError) return err;
  if (err instanceof RunFolderError) {
    return new LooplensError(err.code, err.message, 'check the folder, or re-run the command that writes it', { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new LooplensError('INTERNAL', message.split('\n')[0] ?? 'unknown error', 'run again with LOOPLENS_DEBUG=1 and report the stack', {
    cause: err,
  });
}

/**
 * `looplens: <what failed> — <how to fix> [CODE]`, then any detail lines indented. A stack only with LOOPLENS_DEBUG=1.
 */
export function formatError(err: unknown, env: NodeJS.ProcessEnv = process.env): string {
  const e = toLooplensError(err);
  const lines = [`looplens: ${oneLine(e.message)} — ${oneLine(e.fix)} [${e.code}]`];
  for (const d of e.details) lines.push(`  ${d}`);
  if (env.LOOPLENS_DEBUG === '1') {
    const original = e.cause instanceof Error ? e.cause : e;
    if (original.stack) lines.push(original.stack);
  }
  return lines.join('\n');
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * A run's or lab's `reason`: the error's message with the phase it failed in. A message that already ends
 * "during <phase>" (APP_CRASHED says "… during load") is not told twice: "… during load", or, for a lab whose phase
 * is "stage 1/2 pooled load", "… during stage 1/2 pooled load".
 */
export function withPhase(message: string, phase: string): string {
  const m = / during ([^()]+)$/.exec(message);
  if (m && (phase === m[1] || phase.endsWith(` ${m[1]}`))) return `${message.slice(0, m.index)} during ${phase}`;
  return `${message} (during ${phase})`;
}
