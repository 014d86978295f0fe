/**
 * `profile --runs N`: the same app under the same load N times, a fresh app process each time, each a complete run
 * folder of its own (<run>/runs/1 … runs/N). The top-level folder is itself a run folder of the contract:
 * run.json (`load.runs` = N), summary.json with the medians over the runs and each metric's [min, max] in `spread`
 * (../compare/aggregate.ts — what `looplens compare` reads to mark noise), and the other files (event loop, blocking,
 * traces, CPU profile, stacks, flamegraph, findings) of the run with the median req/s.
 */
import { copyFileSync, existsSync, linkSync } from 'node:fs';
import { join } from 'node:path';
import { hasFile, readCpuProfile, readFindings, readFolded } from '../../profiles/contract/read.js';
import { RUN_FILES, type RunFileKey } from '../../profiles/contract/types.js';
import { writeJsonAtomic, writeTextAtomic } from '../../profiles/contract/write.js';
import { msPerSampleOf, renderFlamegraphHtml } from '../../dashboards/flamegraph/render.js';
import { aggregateSummaries, medianRunIndex } from '../compare/aggregate.js';
import { writeSummaryMd } from './collect.js';
import { loadSettingsOf, openRunFolder, profile, type ProfileHooks, type ProfileOptions, type ProfileResult } from './run.js';

/** Sub-folder of the repetitions, inside the top-level run folder. */
export const RUNS_DIR = 'runs';

/** Files of the median run that stand for the repetitions at the top level (flamegraph.html is re-titled). */
const FROM_MEDIAN_RUN: readonly RunFileKey[] = ['eventloop', 'blocking', 'tracesOtlp', 'tracesJaeger', 'cpuprofile', 'folded', 'findings', 'load'];

export interface ProfileRunsResult extends ProfileResult {
  /** The repetitions, in order (runs/1 first). */
  runs: ProfileResult[];
  /** Index into `runs` of the run with the median req/s. */
  medianIndex: number;
}

function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

export async function profileRuns(options: ProfileOptions & { runs: number }, hooks: ProfileHooks): Promise<ProfileRunsResult> {
  const { progress } = hooks;
  const n = options.runs;
  const run = openRunFolder(options, { ...loadSettingsOf(options.load), runs: n });
  const dir = run.dir;

  const runs: ProfileResult[] = [];
  try {
    for (let k = 1; k <= n; k++) {
      progress.setPrefix(`run ${k}/${n}`);
      run.update({ phase: `run ${k}/${n}` });
      runs.push(await profile({ ...options, name: undefined, profilesDir: undefined, out: join(dir, RUNS_DIR, String(k)) }, hooks));
      const r = runs[k - 1];
      const s = r.summary.overall;
      progress.log(`run ${k}/${n}: ${s.requests} requests, ${Math.round(s.rps * 10) / 10} req/s, p95 ${s.latencyMs.p95} ms${r.incomplete ? ` (incomplete: ${r.incomplete.message})` : ''}`);
    }
    progress.setPrefix('');
    progress.enter('aggregating', `medians of ${n} runs`);
    run.update({ phase: 'aggregating' });
    const summaries = runs.map((r) => r.summary);
    const medianIndex = medianRunIndex(summaries);
    const median = runs[medianIndex];
    const medianRel = `${RUNS_DIR}/${medianIndex + 1}`;
    for (const key of FROM_MEDIAN_RUN) {
      const from = join(median.dir, RUN_FILES[key]);
      if (existsSync(from)) linkOrCopy(from, join(dir, RUN_FILES[key]));
    }
    const info = median.info;
    writeTextAtomic(
      join(dir, RUN_FILES.flamegraph),
      renderFlamegraphHtml({
        folded: readFolded(median.dir),
        title: `looplens — ${run.info.id}`,
        subtitle: `${info.stage ? `stage ${info.stage} · ` : ''}profiler ${info.profiler} · ${info.command.join(' ')} · the median run of ${n} (${medianRel})`,
        msPerSample: hasFile(median.dir, 'cpuprofile') ? msPerSampleOf(readCpuProfile(median.dir)) : undefined,
      }),
    );
    const summary = aggregateSummaries(summaries);
    writeJsonAtomic(join(dir, RUN_FILES.summary), summary);

    const notes = [
      `summary.json aggregates ${n} runs (${RUNS_DIR}/1 … ${RUNS_DIR}/${n}): every number is the median over the runs, \`spread\` holds each metric's [min, max]; the other files are those of the run with the median req/s (${medianRel})`,
      // a note every run had once, not N times
      ...[...new Set(runs.flatMap((r, i) => (r.info.notes ?? []).map((note) => (runs.every((o) => o.info.notes?.includes(note)) ? note : `${RUNS_DIR}/${i + 1}: ${note}`))))],
    ];
    const outputs = runs.flatMap((r, i) => (r.info.profilerOutputs ?? []).map((p) => `${RUNS_DIR}/${i + 1}/${p}`));
    // a repetition that kept what it had after the analysis timeout (its run.json says complete:false) is counted,
    // and makes the whole incomplete: the CLI prints its error after the results, as for a single run
    const firstIncomplete = runs.findIndex((r) => r.incomplete);
    const incomplete = firstIncomplete >= 0 ? runs[firstIncomplete].incomplete : undefined;
    run.update({
      notes,
      ...(outputs.length ? { profilerOutputs: outputs } : {}),
      // the files at the top level are the median run's: so is the window their evidence is read over
      ...(info.window ? { window: info.window } : {}),
      ...(info.warmup ? { warmup: info.warmup } : {}),
      complete: !incomplete,
      ...(incomplete ? { reason: `${RUNS_DIR}/${firstIncomplete + 1} is incomplete: ${incomplete.message}`, reasonCode: incomplete.code } : {}),
      phase: 'done',
      endedAt: new Date().toISOString(),
    });
    const findings = hasFile(dir, 'findings') ? readFindings(dir).findings : [];
    writeSummaryMd(dir, summary, run.info, findings);
    return { dir, info: run.info, summary, runs, medianIndex, ...(incomplete ? { incomplete } : {}) };
  } catch (err) {
    progress.setPrefix('');
    const k = runs.length + 1;
    const e = err as Error;
    const reason = hooks.signal?.aborted
      ? `${(hooks.signal.reason as Error | undefined)?.message ?? 'interrupted'} during run ${Math.min(k, n)}/${n}`
      : `run ${Math.min(k, n)}/${n} failed: ${e.message ?? String(err)}`;
    run.update({ complete: false, reason, endedAt: new Date().toISOString() });
    throw err;
  }
}
