/** `looplens lab`: flags → LabOptions → the library; prints where the lab landed and its headline table. */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ProfilerName } from '../../profiles/contract/types.js';
import { LAB_FILES } from '../../profiles/contract/types.js';
import { LooplensError } from '../errors.js';
import { checkOutFolder } from '../out-path.js';
import type { OptionsOf } from '../flags.js';
import { cpus } from 'node:os';
import { runLab, type LabStagePlan } from '../lab/run.js';
import { checkStages, stageNames } from '../lab/stages.js';
import { findStory, type Story } from '../lab/stories/index.js';
import { loadFromFlags } from '../load/flags.js';
import { loadScenario } from '../load/scenario.js';
import { PROJECT_ROOT } from '../profile/run.js';
import type { CommandHandler, LAB_FLAGS } from './index.js';

type Options = OptionsOf<typeof LAB_FLAGS>;

export const run: CommandHandler = async (input, ctx) => {
  const o = input.options as Options;
  // --out first: before services, seeding or any stage (runLab creates the lab folder from it)
  if (o.out) checkOutFolder(o.out, { mustBeEmpty: true });
  const known = await stageNames(PROJECT_ROOT);
  const story = o.story ? findStory(o.story) : undefined;
  let plans: LabStagePlan[];
  let scenario;
  let scenarioName: string;
  if (story) {
    if (o.scenario) throw new LooplensError('USAGE_BAD_VALUE', `--story ${story.name} sends its own request mix; --scenario does not apply`, 'drop --scenario (the load flags --duration, --warmup, --connections and --rate do apply)');
    plans = storyPlans(story, o.stages, o.workers);
    checkStages([...new Set(plans.map((p) => p.appStage!))], known);
    scenario = story.scenario;
    scenarioName = story.scenario.name;
  } else {
    const stages = o.stages ?? known;
    checkStages(stages, known);
    plans = stages.map((name) => ({ name }));
    scenarioName = o.scenario ?? 'sns';
    scenario = loadScenario(scenarioName, ctx.cwd);
  }
  const { dir, lab, incomplete } = await runLab(
    {
      stages: plans,
      story,
      scale: o.scale,
      runs: o.runs,
      profiler: o.profiler as ProfilerName,
      workers: story ? undefined : o.workers,
      analysisTimeoutS: o['analysis-timeout'],
      cwd: ctx.cwd,
      out: o.out,
      env: ctx.env,
      command: ['looplens', ...ctx.argv],
      load: loadFromFlags(o, scenario, scenarioName),
    },
    { progress: ctx.progress, signal: ctx.signal },
  );
  const md = readFileSync(join(dir, LAB_FILES.labMd), 'utf8');
  // the headline table: the first "## " section of lab.md
  const headline = md.split('\n## ')[1]?.trim() ?? '';
  const rel = relative(ctx.cwd, dir);
  ctx.out([`lab folder: ${rel.startsWith('..') ? dir : rel} (${lab.stages.length} stage${lab.stages.length === 1 ? '' : 's'}; open lab.md)`, '', `## ${headline}`, ''].join('\n'));
  // every stage ran, but some runs are incomplete (their profiler did not finish): the table is shown, the exit is not 0
  if (incomplete.length > 0) {
    const first = incomplete[0]!.error;
    const which = incomplete.map((i) => i.stage).join(', ');
    throw new LooplensError(first.code, `${incomplete.length} stage run${incomplete.length === 1 ? '' : 's'} incomplete (${which}): ${first.message}`, first.fix);
  }
  return 0;
};

/**
 * A story's stages as lab stages: every one runs the story's target-app stage with its own environment and workers;
 * --stages picks some of them (in the story's order), --workers sets the worker stages' count.
 */
export function storyPlans(story: Story, wanted: readonly string[] | undefined, workers: number | undefined): LabStagePlan[] {
  const all = story.stages({ cores: cpus().length, workers });
  const names = all.map((s) => s.name);
  if (wanted) {
    try {
      checkStages(wanted, names);
    } catch (err) {
      const e = err as LooplensError;
      throw new LooplensError(e.code, `${e.message} in story ${story.name}`, e.fix);
    }
  }
  return all
    .filter((s) => !wanted || wanted.includes(s.name))
    .map((s) => ({ name: s.name, appStage: story.appStage, env: s.env, workers: s.workers, changes: s.changes }));
}
