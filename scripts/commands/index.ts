/**
 * The command registry: one spec (flag table, help) per command, and a lazy loader for its handler, so parsing and
 * `--help` never load autocannon, the profilers or the lab. Adding a command = one spec here + one file beside it.
 */
import { PROFILERS } from '../../profiles/contract/types.js';
import { COMPARE_SPEC } from '../compare/spec.js';
import { DIAGNOSE_SPEC } from '../diagnose/spec.js';
import { REPORT_SPEC } from './report.js';
import { SERVE_SPEC } from './serve.js';
import { STORIES, STORY_NAMES } from '../lab/stories/index.js';
import type { CommandSpec, FlagSpec } from '../flags.js';
import type { Progress } from '../progress.js';

export interface CommandContext {
  progress: Progress;
  /** Aborted on Ctrl-C (SIGINT/SIGTERM/SIGHUP to the CLI). */
  signal: AbortSignal;
  /** Results for people (paths, tables) go here; progress and errors do not. */
  out: (text: string) => void;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The command line as given (without node and the script), for records such as lab.json's `recorded.command`. */
  argv: readonly string[];
}

export interface CommandInput {
  /** Parsed flags, keyed by flag name (typed per command with OptionsOf<typeof FLAGS>). */
  options: Record<string, unknown>;
  /** Positional arguments declared in the spec, in order. */
  positionals: string[];
  /** Words after `--` (the app command), for specs with acceptsCommand. */
  command: string[];
}

/** Resolves to the exit code (default 0); throws LooplensError for failures (the CLI prints them). */
export type CommandHandler = (input: CommandInput, ctx: CommandContext) => Promise<number | void>;

export interface CommandEntry {
  spec: CommandSpec;
  load: () => Promise<CommandHandler>;
}

/** Load flags shared by `profile` and `lab`. */
function loadTimeFlags<D extends number, W extends number>(duration: D, warmup: W) {
  return [
    { name: 'duration', short: 'd', type: 'number', min: 1, default: duration, valueName: 's', description: 'seconds of measured load' },
    { name: 'warmup', type: 'number', min: 0, default: warmup, valueName: 's', description: 'seconds of warmup load before measuring (results discarded)' },
  ] as const satisfies readonly FlagSpec[];
}

export const LOAD_FLAGS = [
  { name: 'connections', short: 'c', type: 'number', min: 1, integer: true, default: 10, valueName: 'n', description: 'concurrent connections' },
  { name: 'rate', type: 'number', min: 1, valueName: 'req/s', description: 'fixed overall request rate (open loop; avoids coordinated omission)' },
  {
    name: 'scenario',
    type: 'string',
    valueName: 'name|file',
    description: 'weighted request mix: built-in "sns" or a JSON file {name, requests:[{weight, method, path, body?, headers?}], placeholders?, headers?, auth?} (profile --help and docs/scenarios.md describe it)',
  },
  {
    name: 'ids',
    type: 'number',
    min: 1,
    integer: true,
    default: 1000,
    valueName: 'n',
    description: 'scenario placeholders the scenario does not declare ({userId}, {postId}, {id}) are ids drawn from 1..n (the lab uses the seeded counts)',
  },
  {
    name: 'profiler',
    short: 'p',
    type: 'string',
    valueName: 'name',
    choices: PROFILERS,
    default: 'none',
    description: 'wrap the app in a profiler; every run also gets profile.cpuprofile, stacks.folded, flamegraph.html',
  },
  { name: 'workers', type: 'number', min: 1, integer: true, valueName: 'n', description: 'cluster workers (sets WORKERS for the app)' },
  {
    name: 'runs',
    type: 'number',
    min: 1,
    integer: true,
    default: 1,
    valueName: 'n',
    description:
      'repeat the run n times under the same load, a fresh app each time (lab: every stage, interleaved); summary.json holds the medians and each metric\'s [min, max] in spread, which compare uses to mark noise',
  },
  {
    name: 'analysis-timeout',
    type: 'number',
    min: 1,
    valueName: 's',
    description:
      'seconds the app and its profiler may take to exit after SIGINT, analysis included; then looplens kills them, keeps what the run has and marks it incomplete (default 15 without a profiler, 90 for bubbleprof, 120 for 0x, doctor, flame)',
  },
  { name: 'out', short: 'o', type: 'string', valueName: 'dir', description: 'output folder, missing or empty (default profiles/<timestamp>-<stage|app>-<profiler>, or profiles/<timestamp>-lab)' },
] as const satisfies readonly FlagSpec[];

export const PROFILE_FLAGS = [
  { name: 'path', type: 'string', multiple: true, valueName: 'path', description: 'request this path (requests spread across all given; reported per path)' },
  ...loadTimeFlags(10, 3),
  ...LOAD_FLAGS,
  { name: 'stage', short: 's', type: 'string', valueName: 'name', description: 'target-app stage (sets STAGE; with no command, runs target-app)' },
  {
    name: 'port',
    type: 'number',
    min: 1,
    integer: true,
    valueName: 'n',
    description: 'port for the app (sets PORT; default: a free port); an app that listens on a port of its own is loaded there without it',
  },
  { name: 'ready-timeout', type: 'number', min: 1, default: 30, valueName: 's', description: 'how long to wait for the app to accept connections (on PORT, or on the port it says it listens on)' },
  { name: 'method', type: 'string', default: 'GET', valueName: 'verb', description: 'HTTP method for --path requests' },
  { name: 'no-tracing', type: 'boolean', description: 'do not trace requests (no spans, no per-request queries)' },
  {
    name: 'heap',
    type: 'boolean',
    description:
      'also take a sampling heap profile (heap.heapprofile: allocation sites, memory growth per route, the allocation flamegraph; LOOPLENS_HEAP_PROFILE=1). Off by default in profile (the lab takes it unless LOOPLENS_HEAP_PROFILE=0): it cost 13–32 % more CPU a request on the cached stage (BENCHMARKS.md); memory.jsonl (heap, RSS, GC pauses) is always written',
  },
  {
    name: 'preset',
    type: 'string',
    choices: ['lab', 'production'],
    default: 'lab',
    valueName: 'name',
    description:
      'probe preset: lab (a span per request, every callback timed) or production (LOOPLENS_PRESET=production: no span per request, blocks still charged to their route, function and incoming trace; LOOPLENS_TRACE_SAMPLE_RATE of requests, 1 % by default, as spans)',
  },
] as const satisfies readonly FlagSpec[];

export const LAB_FLAGS = [
  {
    name: 'story',
    type: 'string',
    valueName: 'name',
    choices: STORY_NAMES,
    description: 'run a story lab instead of the main one (the stories are below)',
  },
  { name: 'stages', type: 'string', multiple: true, valueName: 'a,b', description: 'stages to run, in order (default: all; with --story, the story\'s)' },
  { name: 'scale', type: 'number', min: 1, integer: true, default: 150000, valueName: 'n', description: 'users to seed (skipped when already seeded)' },
  // defaults, measured: 5 stages × (≈ 5 s start and stop + 10 s warmup + 15 s load) ≈ 2.5 min, plus seeding at
  // 150,000 users when needed (≈ 60–100 s on an idle 2-core machine) stay within 6 minutes. 10 s of warmup, not 3:
  // the cached stage must be measured with a warm cache (after 3 s its hit ratio was ~35 % and it trailed pooled;
  // after 10 s, ~43 % and ahead), and every stage gets the same warmup.
  ...loadTimeFlags(15, 10),
  ...LOAD_FLAGS.filter((f) => f.name !== 'ids'),
] as const satisfies readonly FlagSpec[];

export const DB_FLAGS = [
  { name: 'scale', type: 'number', min: 1, integer: true, default: 150000, valueName: 'n', description: 'users to seed' },
] as const satisfies readonly FlagSpec[];

export const COMMANDS: readonly CommandEntry[] = [
  {
    spec: {
      name: 'profile',
      summary: 'run one Node server under load with the probes (and optionally a profiler); write a run folder',
      usage: 'profile [options] -- <command…>',
      flags: PROFILE_FLAGS,
      acceptsCommand: true,
      notes: [
        'The app gets PORT (a free port, or --port) and LOOPLENS_OUT (the run folder). An app that ignores PORT and listens on a port of its own (NestJS examples hard-code 3000) is loaded there: the probes report where it listens (listen.json), and a note says so.',
        'Durations are in seconds. Ctrl-C stops everything and marks the run incomplete.',
        'Under --profiler 0x the probes\' CPU profiler and blocking detector are off (V8 writes no ticks for 0x while another CPU profiler runs): profile.cpuprofile comes from 0x\'s ticks and blocked time is not measured.',
        'With --runs N the run folder holds runs/1 … runs/N (each a complete run folder) and, at the top, the medians (summary.json, with spread) and the median run\'s files.',
        [
          'Scenarios (a JSON file for --scenario; docs/scenarios.md has a full example):',
          '  requests      [{weight, method, path, body?, headers?, route?}]: picked by weight; a {name} in a path, body or',
          '                header value is a placeholder, filled anew for each request (one value per request wherever',
          '                it appears; percent-encoded in the path)',
          '  placeholders  {"userId": {"min": 1, "max": 150000}, "slug": {"file": "slugs.txt"}, "tag": {"values": ["a", "b"]}}:',
          '                a range, or values inline or from a file (one a line, relative to the scenario file), each',
          '                optionally with "distribution": "zipf"; a placeholder not declared draws an id from 1..--ids',
          '  headers       {"x-api-key": "…"}: sent with every request (a request\'s own headers override them)',
          '  auth          {"method": "POST", "path": "/api/users/login", "body": {…}, "token": {"json": "user.token"}}:',
          '                each connection logs in before its first request, and again when an answer is 401; the token',
          '                (a JSON field by dot path, {"header": "x-auth-token"} or {"cookie": "sid"}) fills {token},',
          '                e.g. "headers": {"Authorization": "Bearer {token}"}; login requests are a route of their own',
          '  A request\'s load route is its method and path with {name} → :name ("GET /api/articles/:slug"), or its',
          '  "route"; it meets the app\'s own route template in the summary and findings.',
        ].join('\n'),
      ],
      examples: [
        'looplens profile --path / -- node server.js',
        'looplens profile --stage baseline --duration 20',
        'looplens profile --runs 3 --path / -- node server.js',
        'looplens profile --profiler 0x --scenario sns --ids 1000 -- node dist/target-app/main.js',
        'looplens profile --scenario realworld.json -- node dist/server.js',
      ],
    },
    load: async () => (await import('./profile.js')).run,
  },
  {
    spec: {
      name: 'lab',
      summary: 'services, database, external services, then every target-app stage under the same load → lab.md',
      usage: 'lab [options]',
      flags: LAB_FLAGS,
      notes: [
        'The main lab runs target-app\'s stages (baseline → async-db → parallel → pooled → cached), the first seed article\'s story. A story lab (--story) runs its own stages of target-app under one load and opens lab.md with the story in figures:',
        ...STORIES.map((s) => `--story ${s.name}: ${s.title}. ${s.help}`),
      ],
      examples: ['looplens lab', 'looplens lab --stages baseline,cached --duration 10', 'looplens lab --profiler doctor', 'looplens lab --story blocking-io'],
    },
    load: async () => (await import('./lab.js')).run,
  },
  {
    spec: {
      name: 'db seed',
      summary: 'create, migrate and seed the database (skipped when already seeded at that scale)',
      usage: 'db seed [--scale n]',
      flags: DB_FLAGS,
      notes: ['Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/looplens, created if missing).'],
    },
    load: async () => (await import('./db.js')).seed,
  },
  {
    spec: {
      name: 'db migrate',
      summary: 'create the database if missing and apply the schema',
      usage: 'db migrate',
      flags: [],
      notes: ['Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/looplens, created if missing).'],
    },
    load: async () => (await import('./db.js')).migrate,
  },
  { spec: COMPARE_SPEC, load: async () => (await import('./compare.js')).run },
  { spec: DIAGNOSE_SPEC, load: async () => (await import('./diagnose.js')).run },
  { spec: REPORT_SPEC, load: async () => (await import('./report.js')).run },
  { spec: SERVE_SPEC, load: async () => (await import('./serve.js')).run },
];
