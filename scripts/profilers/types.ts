/** One adapter per profiler behind one interface. Adding a profiler = one file + one line in ./index.ts. */
import type { ProfilerName } from '../../profiles/contract/types.js';

export interface WrapInput {
  /** The node command with the probe preload already in its flags: [node, ...nodeFlags, script, ...args]. */
  command: string[];
  runDir: string;
  env: NodeJS.ProcessEnv;
}

export interface SpawnSpec {
  command: string[];
  env: NodeJS.ProcessEnv;
}

export interface CollectResult {
  /** Paths relative to the run folder. */
  outputs: string[];
  notes: string[];
}

export interface ProfilerAdapter {
  readonly name: ProfilerName;
  /** Which probe preload works under this profiler (clinic needs the CommonJS one: FACTS.md). */
  readonly preload: 'esm' | 'cjs';
  /** Whether the app command must be `node …` (wrappers re-spawn node themselves). */
  readonly requiresNode: boolean;
  /** Who gets SIGINT at the end, and how long the profiler may take to exit (its analysis included). */
  readonly stop: { target: 'group' | 'leader'; timeoutMs: number };
  /** A note for run.json when the stop timed out (bubbleprof's known hang); the run is then incomplete (ANALYSIS_TIMEOUT). */
  readonly timeoutNote?: string;
  /** Before the app starts, in the app's working directory: refuse early (PROFILER_FAILED) what the profiler would. */
  preflight?(cwd: string): void;
  /** After the run, however it ended (Ctrl-C and timeouts included): tidy what the profiler left in the app's cwd. */
  cleanup?(cwd: string, runDir: string): void;
  wrap(input: WrapInput): SpawnSpec;
  /** After the wrapper exited: find its outputs, or throw PROFILER_FAILED. `forced`: the stop timed out. */
  collect(runDir: string, info: { forced: boolean }): Promise<CollectResult>;
}
