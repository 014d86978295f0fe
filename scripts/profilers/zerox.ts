/**
 * 0x: `0x --output-dir <run>/0x -- node …`. 0x exits 0 even when the app crashed, so success means its
 * flamegraph.html exists. Its files (v8 log, ticks) are ~20 MB; they stay in the run folder (gitignored).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { LooplensError } from '../errors.js';
import type { ProfilerAdapter } from './types.js';

const require = createRequire(import.meta.url);

/**
 * Measured here: while the probes' V8 CPU profiler runs (for profile.cpuprofile and the blocking detector's stacks),
 * V8 records far fewer --prof ticks (≈ 200 instead of ≈ 10,000 in 3 s), so 0x's own graph is sparse. The run keeps
 * every looplens file; the note says where the full-resolution flamegraph is.
 */
export const ZEROX_SAMPLER_NOTE =
  "0x's flamegraph is sparse: the probes' CPU profiler (blocking stacks, profile.cpuprofile) takes V8's sampler from --prof; flamegraph.html has the full profile";

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
    return {
    // --working-dir: where node writes its v8 logs; 0x moves one isolate's log into --output-dir (which must be
    // another folder) and leaves any other isolate's (worker threads) behind: in the run folder, not the cwd
      command: [process.execPath, require.resolve('0x/cmd.js'), '--output-dir', join(runDir, '0x'), '--working-dir', join(runDir, '0x-logs'), '--', ...command],
      env,
    };
  },
  collect: async (runDir) => {
    const html = join('0x', 'flamegraph.html');
    if (!existsSync(join(runDir, html))) {
      throw new LooplensError('PROFILER_FAILED', '0x produced no flamegraph.html (the app probably crashed under 0x)', 'see app.log in the run folder');
    }
    return { outputs: [html, '0x'], notes: [ZEROX_SAMPLER_NOTE] };
  },
};
