/**
 * clinic doctor / flame / bubbleprof through the clinic CLI: NO_INSIGHT=1 (else it exits 0 with no output),
 * --open=false, --dest <run>/<tool>. We drive the load ourselves (clinic bundles autocannon 7). clinic relays SIGINT
 * to the app itself, so only clinic gets it. bubbleprof hangs after collection (node-clinic#477): --analysis-timeout
 * (90 s by default for it) bounds the wait; the run then keeps what it has and is marked incomplete (ANALYSIS_TIMEOUT).
 */
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { LooplensError } from '../errors.js';
import type { ProfilerAdapter } from './types.js';

const require = createRequire(import.meta.url);

/**
 * clinic doctor and bubbleprof have node write its trace events to node_trace.<n>.log in the app's cwd and move the
 * file into --dest only when their own analysis completes; a run stopped earlier (Ctrl-C, --analysis-timeout, the
 * bubbleprof hang) leaves it behind, and every later `clinic doctor` in that folder then refuses to start (and
 * bubbleprof would take the stray file for its own).
 */
const traceLogs = (cwd: string) => (existsSync(cwd) ? readdirSync(cwd).filter((n) => /^node_trace\.\d+\.log$/.test(n)) : []);

function traceLogHygiene(tool: string): Pick<ProfilerAdapter, 'preflight' | 'cleanup'> {
  return {
    preflight: (cwd) => {
      const stray = traceLogs(cwd);
      if (stray.length) {
        throw new LooplensError(
          'PROFILER_FAILED',
          `clinic ${tool} will not start while ${cwd} holds ${stray.join(', ')} (trace events of an earlier, interrupted run)`,
          `delete or move ${stray.join(', ')}`,
        );
      }
    },
    // preflight made sure the folder had none, so what is there now is this run's
    cleanup: (cwd, runDir) => {
      const stray = traceLogs(cwd);
      if (!stray.length) return;
      mkdirSync(join(runDir, tool), { recursive: true });
      for (const n of stray) renameSync(join(cwd, n), join(runDir, tool, n));
    },
  };
}

/**
 * clinic flame samples with V8's --prof ticks (it runs 0x), which V8 does not write while another CPU profiler runs
 * (./zerox.ts). Unlike under --profiler 0x, the probes keep theirs here — so the run keeps its blocking detector and
 * its own profile.cpuprofile — and clinic's graph shows start-up and shutdown, not the load. Checked: the fixture's
 * blocking function is in stacks.folded and not in clinic flame's samples.
 */
export const FLAME_NOTE =
  "under clinic flame the probes' CPU profiler runs, and V8 then writes no --prof ticks: clinic flame's own graph misses the load — read flamegraph.html (the probes' profile), or use --profiler 0x for an external flamegraph";

function clinicAdapter(tool: 'doctor' | 'flame' | 'bubbleprof', timeoutMs: number, timeoutNote?: string): ProfilerAdapter {
  return {
    ...(tool === 'flame' ? {} : traceLogHygiene(tool)),
    name: tool,
    preload: 'cjs',
    requiresNode: true,
    // doctor and bubbleprof relay SIGINT to the app themselves; flame runs the app under 0x, which (like 0x alone)
    // expects the terminal's Ctrl-C to reach the app too — sent to clinic only, the app never stopped and flame waited
    stop: { target: tool === 'flame' ? 'group' : 'leader', timeoutMs },
    ...(timeoutNote ? { timeoutNote } : {}),
    wrap: ({ command, runDir, env }) => ({
      command: [process.execPath, require.resolve('clinic/bin.js'), tool, '--dest', join(runDir, tool), '--open=false', '--', ...command],
      env: { ...env, NO_INSIGHT: '1' },
    }),
    collect: async (runDir, { forced }) => {
      const dir = join(runDir, tool);
      const names = existsSync(dir) ? readdirSync(dir) : [];
      const html = names.filter((n) => n.endsWith('.html')).map((n) => join(tool, n));
      const data = names.filter((n) => n.endsWith(`.clinic-${tool}`)).map((n) => join(tool, n));
      if (html.length === 0) {
        if (forced && timeoutNote) return { outputs: data, notes: [timeoutNote] };
        throw new LooplensError(
          'PROFILER_FAILED',
          `clinic ${tool} produced no HTML report${forced ? ` (it did not finish within ${timeoutMs / 1000} s)` : ''}`,
          'see app.log in the run folder for clinic\'s output',
        );
      }
      return { outputs: [...html, ...data], notes: [...(forced && timeoutNote ? [timeoutNote] : []), ...(tool === 'flame' ? [FLAME_NOTE] : [])] };
    },
  };
}

export const doctor = clinicAdapter('doctor', 120_000);
export const flame = clinicAdapter('flame', 120_000);
export const bubbleprof = clinicAdapter(
  'bubbleprof',
  90_000,
  'clinic bubbleprof did not finish its analysis after the app stopped (known upstream hang, node-clinic#477); its report is missing',
);
