/** `looplens lab`: flags → LabOptions → the library; prints where the lab landed and its headline table. */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ProfilerName } from '../../profiles/contract/types.js';
import { LAB_FILES } from '../../profiles/contract/types.js';
import { LooplensError } from '../errors.js';
import { checkOutFolder } from '../out-path.js';
import type { OptionsOf } from '../flags.js';
import { runLab } from '../lab/run.js';
import { checkStages, stageNames } from '../lab/stages.js';
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
  const stages = o.stages ?? known;
  checkStages(stages, known);
  const scenarioName = o.scenario ?? 'sns';
  const scenario = loadScenario(scenarioName, ctx.cwd);
  const { dir, lab, incomplete } = await runLab(
    {
      stages,
      scale: o.scale,
      runs: o.runs,
      profiler: o.profiler as ProfilerName,
      workers: o.workers,
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
