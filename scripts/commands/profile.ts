/** `looplens profile`: flags → ProfileOptions → the library; prints where the run landed and its headline numbers. */
import type { ProfilerName } from '../../profiles/contract/types.js';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { LooplensError } from '../errors.js';
import type { OptionsOf } from '../flags.js';
import { checkStages, stageNames, targetAppMain } from '../lab/stages.js';
import { loadScenario, pathsScenario } from '../load/scenario.js';
import { stopApp } from '../profile/process.js';
import { PROJECT_ROOT, profile } from '../profile/run.js';
import { startUpstream } from '../lab/upstream.js';
import { fmt } from '../analysis/markdown.js';
import type { CommandHandler } from './index.js';
import type { PROFILE_FLAGS } from './index.js';

type Options = OptionsOf<typeof PROFILE_FLAGS>;

export const run: CommandHandler = async (input, ctx) => {
  const o = input.options as Options;
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

  // target-app calls external services: start the stand-in unless UPSTREAM_URL points at one
  const upstream = isTargetApp && !ctx.env.UPSTREAM_URL ? await startUpstream(PROJECT_ROOT, join(tmpdir(), `looplens-upstream-${process.pid}.log`), ctx.env, ctx.signal) : null;
  let result: Awaited<ReturnType<typeof profile>>;
  try {
    result = await profile(
      {
        command,
        cwd: ctx.cwd,
        out: o.out,
        stage: o.stage,
        profiler: o.profiler as ProfilerName,
        port: o.port,
        readyTimeoutS: o['ready-timeout'],
        workers: o.workers,
        tracing: !o['no-tracing'],
        load: {
          durationS: o.duration,
          warmupS: o.warmup,
          connections: o.connections,
          rate: o.rate,
          scenario,
          scenarioLabel: scenarioName,
          paths,
          ids: { default: o.ids },
        },
        baseEnv: ctx.env,
        ...(upstream ? { env: { UPSTREAM_URL: upstream.url } } : {}),
      },
      { progress: ctx.progress, signal: ctx.signal },
    );
  } finally {
    if (upstream) await stopApp(upstream.app, { target: 'group', timeoutMs: 3000 });
  }
  const s = result.summary;
  const rel = relative(ctx.cwd, result.dir) || '.';
  ctx.out(
    [
      `run folder: ${rel.startsWith('..') ? result.dir : rel}`,
      `  ${s.overall.requests} requests, ${fmt(s.overall.rps)} req/s, p50 ${fmt(s.overall.latencyMs.p50)} ms, p99 ${fmt(s.overall.latencyMs.p99)} ms, errors ${s.overall.non2xx + s.overall.errors}`,
      `  event-loop delay p99 ${fmt(s.eventLoop.delayMs.p99, 2)} ms, blocked ${fmt(s.blocking.msPerRequest, 2)} ms/request${s.db ? `, ${fmt(s.db.queriesPerRequest, 2)} queries/request` : ''}`,
      ...(result.info.notes ?? []).map((n) => `  note: ${n}`),
      `  open: summary.md, flamegraph.html${result.info.profilerOutputs?.length ? `, ${result.info.profilerOutputs.filter((p) => p.endsWith('.html')).join(', ')}` : ''}`,
    ].join('\n'),
  );
  return 0;
};
