/** `looplens profile`: flags → ProfileOptions → the library; prints where the run landed and its headline numbers. */
import type { ProfilerName } from '../../profiles/contract/types.js';
import { copyFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { LooplensError } from '../errors.js';
import { checkOutFolder } from '../out-path.js';
import type { OptionsOf } from '../flags.js';
import { checkStages, stageNames, targetAppMain } from '../lab/stages.js';
import { loadScenario, pathsScenario } from '../load/scenario.js';
import { canConnect, stopApp } from '../profile/process.js';
import { DEFAULT_DATABASE_URL } from '../lab/seed.js';
import { DEFAULT_REDIS_URL, describeRefusal, pingRedis } from '../services.js';
import { connectOnce, redactUrl } from '../../target-app/db/connection.js';
import { seedInfo } from '../../target-app/db/seed.js';
import { PROJECT_ROOT, profile, type ProfileOptions, type ProfileResult } from '../profile/run.js';
import { profileRuns } from '../profile/runs.js';
import { loadFromFlags } from '../load/flags.js';
import { startUpstream } from '../lab/upstream.js';
import { fmt } from '../analysis/markdown.js';
import type { CommandHandler } from './index.js';
import type { PROFILE_FLAGS } from './index.js';

type Options = OptionsOf<typeof PROFILE_FLAGS>;

export const run: CommandHandler = async (input, ctx) => {
  const o = input.options as Options;
  // --out first: before any service, stand-in or app starts (the run folder is created from it later)
  if (o.out) checkOutFolder(o.out, { mustBeEmpty: true });
  let command = input.command;
  if (o.stage) checkStages([o.stage], await stageNames(PROJECT_ROOT));
  if (command.length === 0) {
    if (!o.stage) {
      throw new LooplensError('USAGE_MISSING_COMMAND', 'no app command given', 'put it after --, e.g. looplens profile -- node server.js (or pass --stage to run target-app)');
    }
    command = [process.execPath, targetAppMain(PROJECT_ROOT)];
  }
  const isTargetApp = command.some((a) => /target-app[\\/]main\.js$/.test(a));
  if (o.path && o.scenario) throw new LooplensError('USAGE_BAD_VALUE', '--path and --scenario cannot be combined', 'use one of them');
  const scenarioName = o.scenario ?? (o.path ? undefined : isTargetApp ? 'sns' : undefined);
  const paths = o.path ?? (scenarioName ? undefined : ['/']);
  const scenario = scenarioName ? loadScenario(scenarioName, ctx.cwd) : pathsScenario(paths!, o.method);

  // target-app needs PostgreSQL (and Redis for the cached stage): say so in one line before anything starts, rather
  // than an app that exits (or a cached stage that quietly answers from PostgreSQL) under load
  if (isTargetApp) await checkTargetAppServices(o.stage ?? ctx.env.STAGE, ctx.env);

  // target-app calls external services: start the stand-in unless UPSTREAM_URL points at one
  // its log goes into the run folder once there is one (as in a lab), and never stays in the temp folder
  const upstreamLog = join(tmpdir(), `looplens-upstream-${process.pid}.log`);
  const upstream = isTargetApp && !ctx.env.UPSTREAM_URL ? await startUpstream(PROJECT_ROOT, upstreamLog, ctx.env, ctx.signal) : null;
  let result: (ProfileResult & { runs?: ProfileResult[]; medianIndex?: number }) | undefined;
  try {
    const options: ProfileOptions = {
      command,
      cwd: ctx.cwd,
      out: o.out,
      stage: o.stage,
      profiler: o.profiler as ProfilerName,
      port: o.port,
      readyTimeoutS: o['ready-timeout'],
      analysisTimeoutS: o['analysis-timeout'],
      workers: o.workers,
      tracing: !o['no-tracing'],
      heap: o.heap === true,
      preset: o.preset as ProfileOptions['preset'],
      load: { ...loadFromFlags(o, scenario, scenarioName, paths), ids: { default: o.ids } },
      baseEnv: ctx.env,
      ...(upstream ? { env: { UPSTREAM_URL: upstream.url } } : {}),
    };
    const hooks = { progress: ctx.progress, signal: ctx.signal };
    result = o.runs > 1 ? await profileRuns({ ...options, runs: o.runs }, hooks) : await profile(options, hooks);
  } finally {
    if (upstream) {
      await stopApp(upstream.app, { target: 'group', timeoutMs: 3000 });
      keepLog(upstreamLog, result ? join(result.dir, 'upstream.log') : null);
    }
  }
  const s = result.summary;
  const rel = relative(ctx.cwd, result.dir) || '.';
  ctx.out(
    [
      `run folder: ${rel.startsWith('..') ? result.dir : rel}${result.runs ? ` (medians of ${result.runs.length} runs in runs/1 … runs/${result.runs.length}; files of the median run, runs/${result.medianIndex! + 1})` : ''}`,
      `  ${s.overall.requests} requests, ${fmt(s.overall.rps)} req/s, p50 ${fmt(s.overall.latencyMs.p50)} ms, p99 ${fmt(s.overall.latencyMs.p99)} ms, errors ${s.overall.non2xx + s.overall.errors}`,
      `  event-loop delay p99 ${fmt(s.eventLoop.delayMs.p99, 2)} ms, blocked ${fmt(s.blocking.msPerRequest, 2)} ms/request${s.db ? `, ${fmt(s.db.queriesPerRequest, 2)} queries/request` : ''}`,
      ...(result.info.notes ?? []).map((n) => `  note: ${n}`),
      `  open: summary.md, flamegraph.html${result.info.profilerOutputs?.length ? `, ${result.info.profilerOutputs.filter((p) => p.endsWith('.html')).join(', ')}` : ''}`,
    ].join('\n'),
  );
  // the results above are worth having; the run is still incomplete, and that is the one error line
  if (result.incomplete) throw result.incomplete;
  return 0;
};

/** PostgreSQL at DATABASE_URL accepts TCP connections; for the cached stage, Redis at REDIS_URL answers PING. */
async function checkTargetAppServices(stage: string | undefined, env: NodeJS.ProcessEnv): Promise<void> {
  const dbUrl = env.DATABASE_URL || DEFAULT_DATABASE_URL;
  let db: URL;
  try {
    db = new URL(dbUrl);
  } catch {
    throw new LooplensError('SERVICE_UNAVAILABLE', `DATABASE_URL is not a URL: "${redactUrl(dbUrl)}"`, 'set DATABASE_URL like postgres://postgres@127.0.0.1:5432/looplens');
  }
  const host = db.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  if (!(await canConnect(Number(db.port || 5432), host, 2000))) {
    throw new LooplensError(
      'SERVICE_UNAVAILABLE',
      `PostgreSQL is not reachable at ${redactUrl(dbUrl)}, which target-app needs`,
      'start PostgreSQL or set DATABASE_URL to a running one (looplens lab starts an embedded PostgreSQL when none runs)',
    );
  }
  if (stage) await checkSeeded(dbUrl);
  if (stage === 'cached') {
    const redisUrl = env.REDIS_URL || DEFAULT_REDIS_URL;
    const ping = URL.canParse(redisUrl) ? await pingRedis(redisUrl, 2000) : { ok: false as const, reason: 'not a URL' };
    if (!ping.ok) {
      throw new LooplensError(
        'SERVICE_UNAVAILABLE',
        `Redis is not reachable at ${redactUrl(redisUrl)} (${ping.reason}): the cached stage would run without its cache`,
        'start Redis or set REDIS_URL to a running one',
      );
    }
  }
}

/**
 * A reference-app stage reads the seeded users: on a database that is missing or not seeded every route answers 404,
 * and the run would end in RUN_EMPTY naming --path. Say what is wrong before anything starts.
 */
async function checkSeeded(dbUrl: string): Promise<void> {
  let seeded = false;
  try {
    const db = await connectOnce(dbUrl);
    try {
      seeded = (await seedInfo(db)) !== null;
    } finally {
      await db.end().catch(() => {});
    }
  } catch (err) {
    // 3D000: the database does not exist yet (not seeded); any other refusal (a wrong role or password) says what it is
    if ((err as { code?: string }).code !== '3D000') {
      const refusal = describeRefusal(err, dbUrl);
      throw new LooplensError('SERVICE_UNAVAILABLE', `PostgreSQL at ${redactUrl(dbUrl)} refused: ${refusal.what}`, refusal.fix, { cause: err });
    }
  }
  if (!seeded) {
    throw new LooplensError(
      'DB_NOT_SEEDED',
      `the database at ${redactUrl(dbUrl)} is not seeded: every target-app route would answer 404 (no users to read)`,
      'seed it first with looplens db seed (the same DATABASE_URL; npm run lab seeds it too), or point DATABASE_URL at a seeded database',
    );
  }
}

/** Moves `from` to `to` (a copy across file systems), or deletes it when there is nowhere to keep it. */
function keepLog(from: string, to: string | null): void {
  try {
    if (to) {
      try {
        renameSync(from, to);
        return;
      } catch {
        copyFileSync(from, to);
      }
    }
    rmSync(from, { force: true });
  } catch {
    /* best effort: a log */
  }
}
