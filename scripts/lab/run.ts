/**
 * `lab` as a library: services checked or started, database migrated and seeded (skipped when seeded), then copied
 * for this lab (./database.ts: every lab starts from the seeded rows and a cache of its own; the copy is dropped at
 * the end), the external services stand-in started, then every stage profiled under the same load and profiler →
 * profiles/<lab-id>/ with a run folder per stage, lab.json and lab.md (rewritten after every stage, so an interrupted
 * lab keeps what it has).
 *
 * A story lab (`options.story`, ./stories) runs the same way: its stages are plans (a target-app stage, extra
 * environment, workers), its routes never read the data — so it gets an empty database of its own, no seeding and no
 * Redis — and lab.md opens with the story told in figures (./stories/render.ts).
 */
import { basename, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LAB_FILES, type Finding, type LabFile, type LabStage, type ProfilerName, type Summary } from '../../profiles/contract/types.js';
import { writeJsonAtomic, writeTextAtomic } from '../../profiles/contract/write.js';
import { hasFile, readFindings } from '../../profiles/contract/read.js';
import { renderLabFindingsMarkdown } from '../diagnose/index.js';
import { fmt, renderLabMd, renderLabNPlusOne } from '../analysis/markdown.js';
import { DEFAULT_LATENCY_MS, parsePerEndpoint } from '../../target-app/upstream/config.js';
import { aggregateSummaries, medianRunIndex } from '../compare/aggregate.js';
import { LooplensError, withPhase } from '../errors.js';
import type { IdRanges, Scenario } from '../load/scenario.js';
import { stopApp, yieldToSignals } from '../profile/process.js';
import { createRunFolder, machineInfo, timestamp } from '../profile/runfolder.js';
import { PROJECT_ROOT, loadSettingsOf, profile, type ProfileLoad, type ProfileResult } from '../profile/run.js';
import type { Progress } from '../progress.js';
import { clearCacheOf, labDatabase } from './database.js';
import { loadAverage, serviceVersions, startRecord } from './recorded.js';
import { DEFAULT_DATABASE_URL, runSeed } from './seed.js';
import { ensureService, type Service } from './services.js';
import { targetAppMain } from './stages.js';
import { startUpstream } from './upstream.js';
import { renderStoryMd } from './stories/render.js';
import type { Story } from './stories/types.js';

/** One stage of a lab: a target-app stage, or a story's stage (a stage of target-app with its own environment). */
export interface LabStagePlan {
  /** Its name in lab.json, lab.md and its run folder (`<nn>-<name>`). */
  name: string;
  /** target-app stage it runs (STAGE); default `name`. */
  appStage?: string;
  /** Extra environment for the app. */
  env?: Record<string, string>;
  /** Cluster workers (WORKERS); default the lab's `workers`. */
  workers?: number;
  /** One line on what it changes (default: target-app's Stage.summary of its app stage). */
  changes?: string;
}

export interface LabOptions {
  stages: LabStagePlan[];
  /** A story lab: its stages are `stages` (from story.stages), and lab.md tells it. */
  story?: Story;
  scale: number;
  runs: number;
  profiler: ProfilerName;
  workers?: number;
  /** Passed to every stage's profile (see ProfileOptions.analysisTimeoutS). */
  analysisTimeoutS?: number;
  load: Omit<ProfileLoad, 'ids'>;
  cwd: string;
  out?: string;
  env: NodeJS.ProcessEnv;
  /** The looplens command line, for lab.json's `recorded` (default ["looplens", "lab"]). */
  command?: string[];
}

export interface LabResult {
  dir: string;
  lab: LabFile;
  /** Stages whose run timed out after SIGINT (ANALYSIS_TIMEOUT): kept in the lab, their run.json incomplete. */
  incomplete: { stage: string; error: LooplensError }[];
}

/**
 * For --runs N: the run with the median overall req/s (its folder stands for the stage), and the summary of every
 * run aggregated — medians, with each metric's [min, max] across the runs in `spread` (see ../compare/aggregate.ts).
 */
export function pickMedianRun(results: readonly ProfileResult[]): { result: ProfileResult; summary: Summary } {
  const summaries = results.map((r) => r.summary);
  return { result: results[medianRunIndex(summaries)], summary: aggregateSummaries(summaries) };
}

export async function runLab(options: LabOptions, hooks: { progress: Progress; signal?: AbortSignal }): Promise<LabResult> {
  const { progress, signal } = hooks;
  const root = PROJECT_ROOT;
  const main = targetAppMain(root);
  const story = options.story;
  const plans = options.stages;
  const started = new Date();
  const dir = createRunFolder(join(options.cwd, 'profiles'), `${timestamp(started)}-lab`, options.out);
  const lab: LabFile = {
    id: basename(dir),
    startedAt: started.toISOString(),
    complete: false,
    settings: {
      profiler: options.profiler,
      load: { ...loadSettingsOf(options.load), ...(options.runs > 1 ? { runs: options.runs } : {}) },
      ...(options.workers && !story ? { workers: options.workers } : {}),
      ...(story ? {} : { scale: options.scale }),
    },
    stages: [],
    ...(story ? { story: { name: story.name, title: story.title, stages: plans.map((p) => ({ stage: p.name, changes: p.changes ?? '', ...(p.workers ? { workers: p.workers } : {}) })) } } : {}),
    recorded: startRecord(options.command ?? ['looplens', 'lab', ...(story ? ['--story', story.name] : [])]),
  };
  const notes: string[] = [];
  const m = machineInfo();
  const l = options.load;
  const settingsLine =
    `Same load for every stage: scenario ${l.scenarioLabel ?? l.scenario.name}, ${l.durationS} s after ${l.warmupS} s warmup, ` +
    `${l.connections} connections${l.rate ? `, ${l.rate} req/s fixed` : ''}; profiler ${options.profiler}` +
    `${options.workers && !story ? `; ${options.workers} workers` : ''}` +
    `${story ? `; target-app stage ${story.appStage} with each stage's own environment (its routes never read the database)` : `; ${fmt(options.scale, 0)} users`}` +
    `${options.runs > 1 ? `; ${options.runs} runs per stage (medians shown)` : ''}. Node ${m.node}, ${m.cpu.cores} × ${m.cpu.model}. Latency in ms.`;
  // for lab.md: what each stage changes (target-app's own one-liners) and POST /posts' designed wait for its upload
  const stageChanges = story
    ? {
        summaries: Object.fromEntries(plans.map((p) => [p.name, p.changes ?? ''])),
        href: relative(dir, join(root, `scripts/lab/stories/${story.name}.ts`)),
        label: `scripts/lab/stories/${story.name}.ts`,
      }
    : { summaries: await stageSummaries(root), href: relative(dir, join(root, 'target-app/README.md')) };
  const imageUploadMs = uploadLatencyMs(options.env);
  const save = () => {
    writeJsonAtomic(join(dir, LAB_FILES.lab), lab);
    const status = { complete: lab.complete, reason: lab.reason, endedAt: lab.endedAt, stagesPlanned: plans.length };
    const lead = story ? renderStoryMd({ story, stages: lab.stages, findings: stageFindings(dir, lab.stages), labPath: labPathFor(options.cwd, dir) }) : undefined;
    writeTextAtomic(
      join(dir, LAB_FILES.labMd),
      renderLabMd({ id: lab.id, stages: lab.stages, settingsLine, notes, status, stageChanges, imageUploadMs, lead }) + labFindingsMd(dir, lab.stages),
    );
  };
  save();

  const cleanups: (() => Promise<void> | void)[] = [];
  const incomplete: LabResult['incomplete'] = [];
  // where Ctrl-C arrived (stopping a stage's app after it enters other phases)
  let abortedDuring = '';
  const onAbort = () => {
    abortedDuring = progress.label;
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    progress.enter('services', 'checking PostgreSQL and Redis');
    const log = (msg: string) => progress.log(msg);
    const pg: Service = await ensureService('postgres', options.env.DATABASE_URL ?? DEFAULT_DATABASE_URL, log);
    cleanups.push(() => pg.stop());
    // a story's routes read no data and no cache: no Redis, no seeding (below)
    const redis: Service | null = story ? null : await ensureService('redis', options.env.REDIS_URL, log);
    if (redis) cleanups.push(() => redis.stop());
    if (pg.source !== 'existing' && pg.source !== 'external') notes.push(`PostgreSQL: ${pg.source}`);
    if (redis && redis.source !== 'existing' && redis.source !== 'external') notes.push(`Redis: ${redis.source}`);
    lab.recorded = { ...lab.recorded!, ...(await serviceVersions(pg.url, redis?.url)) };

    let ids: IdRanges = { default: 1 };
    if (!story) {
      progress.enter('seed', `scale ${options.scale} (skipped when already seeded)`);
      const seeded = await runSeed({ root, databaseUrl: pg.url, scale: options.scale, progress, signal, env: options.env });
      progress.log(seeded.skipped ? `database already seeded at scale ${seeded.scale ?? options.scale}` : `seeded in ${fmt((seeded.ms ?? 0) / 1000)} s`);
      lab.recorded = { ...lab.recorded!, seed: { skipped: seeded.skipped === true, ms: seeded.ms ?? 0 } };
      const users = Number(seeded.users ?? options.scale);
      const posts = Number(seeded.posts ?? users);
      ids = { default: users, userId: users, id: users, postId: posts };
    }

    // this lab's own copy of the seeded data (a story: an empty database of its own), and no cache entries for it
    // (./database.ts)
    progress.enter('database', story ? 'creating an empty database for this lab' : 'copying the seeded database for this lab');
    const labDb = await labDatabase(pg.url, log, { empty: !!story });
    cleanups.push(() => labDb.drop());
    if (labDb.note) {
      notes.push(labDb.note);
      progress.log(`note: ${labDb.note}`);
    }
    if (signal?.aborted) throw signal.reason;
    if (redis) {
      await clearCacheOf(redis.url, labDb.name);
      cleanups.push(async () => {
        await clearCacheOf(redis.url, labDb.name);
      });
    }

    progress.enter('upstream', 'starting the external-services stand-in');
    const upstream = await startUpstream(root, join(dir, 'upstream.log'), options.env, signal);
    cleanups.push(async () => {
      await stopApp(upstream.app, { target: 'group', timeoutMs: 3000 });
    });

    // interleave repeated runs (A B C A B C …) so drift over time spreads evenly over the stages
    const results = new Map<string, ProfileResult[]>();
    const total = plans.length * options.runs;
    let k = 0;
    for (let r = 1; r <= options.runs; r++) {
      for (const plan of plans) {
        const stage = plan.name;
        // a Ctrl-C that arrived while the previous stage finished belongs to that stage (the progress label still
        // names it), not to this one
        await yieldToSignals();
        if (signal?.aborted) throw signal.reason;
        k++;
        const idx = plans.indexOf(plan) + 1;
        progress.setPrefix(`stage ${idx}/${plans.length} ${stage}${options.runs > 1 ? ` run ${r}/${options.runs}` : ''}`);
        const workers = plan.workers ?? options.workers;
        const name = `${String(idx).padStart(2, '0')}-${stage}${options.runs > 1 ? `-run${r}` : ''}`;
        const result = await profile(
          {
            command: [process.execPath, main],
            cwd: root,
            out: join(dir, name),
            stage: plan.appStage ?? stage,
            profiler: options.profiler,
            workers,
            analysisTimeoutS: options.analysisTimeoutS,
            // the lab shows each stage's memory (heap kept per 1,000 requests, allocation per request): it takes the
            // heap profile unless LOOPLENS_HEAP_PROFILE=0 (its cost, 13–32 % CPU a request, is in every stage alike)
            heap: (options.env ?? process.env).LOOPLENS_HEAP_PROFILE !== '0',
            load: { ...options.load, ids },
            env: { ...plan.env, DATABASE_URL: labDb.url, ...(redis ? { REDIS_URL: redis.url } : {}), UPSTREAM_URL: upstream.url },
            baseEnv: options.env,
          },
          { progress, signal },
        );
        if (result.incomplete) {
          // the stage keeps what it has (its run.json says complete:false); the lab goes on and lab.md notes it
          // (its run.json notes carry the message into lab.md's notes)
          progress.log(`stage ${stage}: run incomplete: ${result.incomplete.message} — ${result.incomplete.fix} [${result.incomplete.code}]`);
          incomplete.push({ stage: options.runs > 1 ? `${stage} run ${r}` : stage, error: result.incomplete });
        }
        const list = results.get(stage) ?? [];
        list.push(result);
        results.set(stage, list);
        if (r === options.runs) {
          const { result: chosen, summary } = pickMedianRun(list);
          const entry: LabStage = { stage, run: basename(chosen.dir), ...(workers ? { workers } : {}), summary };
          lab.stages.push(entry);
          const s = summary.overall;
          progress.log(`stage ${idx}/${plans.length} ${stage}: ${fmt(s.rps)} req/s, p95 ${fmt(s.latencyMs.p95)} ms, loop delay p99 ${fmt(summary.eventLoop.delayMs.p99, 2)} ms (${k}/${total})`);
          for (const n of chosen.info.notes ?? []) notes.push(`${stage}: ${n}`);
          save();
        }
      }
    }
    progress.setPrefix('');
    // a stage whose run timed out is in the table, but the lab is only as complete as its runs
    lab.complete = incomplete.length === 0;
    if (incomplete.length) lab.reason = `${incomplete.length} stage run${incomplete.length > 1 ? 's' : ''} incomplete: ${incomplete.map((i) => `${i.stage} (${i.error.message})`).join('; ')}`;
    lab.endedAt = new Date().toISOString();
    lab.recorded = { ...lab.recorded!, loadAverageEnd: loadAverage() };
    save();
    return { dir, lab, incomplete };
  } catch (err) {
    const phase = abortedDuring || progress.label || 'start';
    progress.setPrefix('');
    lab.complete = false;
    lab.endedAt = new Date().toISOString();
    lab.recorded = { ...lab.recorded!, loadAverageEnd: loadAverage() };
    lab.reason = signal?.aborted ? `${(signal.reason as Error | undefined)?.message ?? 'interrupted'} during ${phase}` : withPhase((err as Error).message, phase);
    save();
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {
        /* best effort */
      }
    }
  }
}

export type { Scenario };

/** Each stage's findings.json, by stage name (stages without one are left out). */
export function stageFindings(labDir: string, stages: readonly LabStage[]): Map<string, Finding[]> {
  const out = new Map<string, Finding[]>();
  for (const s of stages) if (hasFile(join(labDir, s.run), 'findings')) out.set(s.stage, readFindings(join(labDir, s.run)).findings);
  return out;
}

/** The findings-by-stage table for lab.md, from each stage's findings.json (stages without one are left out). */
function labFindingsMd(labDir: string, stages: readonly LabStage[]): string {
  const withFindings = stages
    .filter((s) => hasFile(join(labDir, s.run), 'findings'))
    .map((s) => ({ stage: s.stage, findings: readFindings(join(labDir, s.run)).findings }));
  if (withFindings.length === 0) return '';
  const nPlusOne = renderLabNPlusOne(withFindings);
  return '\n' + renderLabFindingsMarkdown(withFindings) + (nPlusOne ? '\n' + nPlusOne : '');
}

/** Stage name → what it changes (Stage.summary), from the built target-app; {} when it cannot be read. */
async function stageSummaries(root: string): Promise<Record<string, string>> {
  try {
    const mod = (await import(pathToFileURL(join(root, 'dist/target-app/stages/index.js')).href)) as { STAGES?: { name: string; summary: string }[] };
    return Object.fromEntries((mod.STAGES ?? []).map((st) => [st.name, st.summary]));
  } catch {
    return {};
  }
}

/** The stand-in's image-upload latency for this lab (UPSTREAM_LATENCY_MS, else its default). */
function uploadLatencyMs(env: NodeJS.ProcessEnv): number | undefined {
  try {
    return parsePerEndpoint('UPSTREAM_LATENCY_MS', env.UPSTREAM_LATENCY_MS, DEFAULT_LATENCY_MS, { min: 0, max: 60_000 }).images;
  } catch {
    return undefined; // the stand-in refuses it itself, with the reason
  }
}

/** The lab folder as commands shown in lab.md name it: relative to where looplens ran, or absolute when outside. */
function labPathFor(cwd: string, dir: string): string {
  const rel = relative(cwd, dir);
  return rel === '' ? '.' : rel.startsWith('..') ? dir : rel;
}
