/**
 * 0x: `0x --output-dir <run>/0x -- node …`. 0x exits 0 even when the app crashed, so success means its
 * flamegraph.html exists. Its files (v8 log, ticks) are ~20 MB; they stay in the run folder (gitignored).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { BlockingFile } from '../../profiles/contract/types.js';
import { runFilePath, writeRunJson, writeTextAtomic } from '../../profiles/contract/write.js';
import type { CpuProfile } from '../analysis/fold.js';
import { LooplensError } from '../errors.js';
import { v8LogToCpuProfile } from './v8-log.js';
import type { ProfilerAdapter } from './types.js';

const require = createRequire(import.meta.url);

/**
 * Why the probes' CPU profiler is off under 0x. V8 stops writing `--prof` ticks while a CPU profiler runs in the
 * isolate (CpuProfiler::StartProcessorIfNotStarted sets the logger's is_logging_ to false until the profile stops),
 * whatever its sampling interval. Measured on the fixture app (3 s of /block load, Node 20): with the probes' 1 ms
 * profile on, 0x's v8 log had ≈ 850 ticks, all from start-up and shutdown, none during the load, and 0x's graph
 * lacked the blocking function; with the 5 ms stacks-only sampler (LOOPLENS_CPU_PROFILE=0), or a 100 ms one, the same;
 * with no probe profiler at all, ≈ 3,000 ticks over the load and the function is there. The blocking detector needs
 * that profiler for its stacks, so under 0x it is off too (LOOPLENS_BLOCKING=0): blocking.json is written empty and
 * the note says blocked time was not measured. profile.cpuprofile (and so stacks.folded and flamegraph.html) comes
 * from 0x's ticks instead (./v8-log.ts).
 */
export const ZEROX_NOTE =
  "under 0x the probes' CPU profiler and blocking detector are off (V8 writes no --prof ticks for 0x while a CPU profiler runs): profile.cpuprofile, stacks.folded and flamegraph.html come from 0x's ticks; blocking.json has no events — blocked time was not measured in this run (use --profiler none for it)";

/** 0x's preprocessed v8 log(s) in its output folder, largest first (0x keeps one isolate's). */
function tickLogs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith('-v8.log.json'))
    .map((n) => join(dir, n))
    .sort((a, b) => statSync(b).size - statSync(a).size);
}

export const zerox: ProfilerAdapter = {
  name: '0x',
  // the ESM preload registers loader hooks, which run in a second isolate: 0x keeps only one isolate's v8 log and
  // may pick the hooks thread's, so the app's own frames go missing. The CommonJS preload keeps one isolate.
  preload: 'cjs',
  requiresNode: true,
  // Ctrl-C in a terminal reaches 0x and the app together; 0x then turns the v8 log into a flamegraph.
  stop: { target: 'group', timeoutMs: 120_000 },
  wrap: ({ command, runDir, env }) => {
    mkdirSync(join(runDir, '0x-logs'), { recursive: true });
    // no probe CPU profiler beside 0x (see ZEROX_NOTE); the contract's blocking.json, empty, is written here
    const t = Number(env.LOOPLENS_BLOCK_THRESHOLD_MS);
    const blocking: BlockingFile = { thresholdMs: env.LOOPLENS_BLOCK_THRESHOLD_MS?.trim() && Number.isFinite(t) && t >= 0 ? t : 20, events: [] };
    writeRunJson(runDir, 'blocking', blocking);
    return {
    // --working-dir: where node writes its v8 logs; 0x moves one isolate's log into --output-dir (which must be
    // another folder) and leaves any other isolate's (worker threads) behind: in the run folder, not the cwd
      command: [process.execPath, require.resolve('0x/cmd.js'), '--output-dir', join(runDir, '0x'), '--working-dir', join(runDir, '0x-logs'), '--', ...command],
      env: { ...env, LOOPLENS_CPU_PROFILE: '0', LOOPLENS_BLOCKING: '0' },
    };
  },
  collect: async (runDir) => {
    const html = join('0x', 'flamegraph.html');
    if (!existsSync(join(runDir, html))) {
      throw new LooplensError('PROFILER_FAILED', '0x produced no flamegraph.html (the app probably crashed under 0x)', 'see app.log in the run folder');
    }
    const logs = tickLogs(join(runDir, '0x'));
    if (logs.length === 0) {
      throw new LooplensError('PROFILER_FAILED', "0x left no preprocessed v8 log (0x/isolate-…-v8.log.json) to build profile.cpuprofile from", 'see app.log in the run folder');
    }
    let profile: CpuProfile;
    try {
      profile = v8LogToCpuProfile(JSON.parse(readFileSync(logs[0], 'utf8')));
    } catch (err) {
      throw new LooplensError('PROFILER_FAILED', `cannot read 0x's v8 log ${logs[0]}: ${(err as Error).message}`, 'see app.log in the run folder', { cause: err });
    }
    writeTextAtomic(runFilePath(runDir, 'cpuprofile'), JSON.stringify(profile));
    return { outputs: [html, '0x'], notes: [ZEROX_NOTE] };
  },
};
