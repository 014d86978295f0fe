/**
 * The target-app stage list, read from the built target-app (dist/target-app/stages/index.js, its STAGE_NAMES), so a
 * stage added there (one module and one line in its list) is known here without a second list.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LooplensError } from '../errors.js';
import { closest } from '../flags.js';

export async function stageNames(root: string): Promise<string[]> {
  const file = join(root, 'dist/target-app/stages/index.js');
  if (!existsSync(file)) {
    throw new LooplensError('BUILD_MISSING', `target-app is not built (${file} is missing)`, 'run `npm run build` in the looplens folder');
  }
  const mod = (await import(pathToFileURL(file).href)) as { STAGE_NAMES?: unknown };
  if (!Array.isArray(mod.STAGE_NAMES) || !mod.STAGE_NAMES.every((s) => typeof s === 'string')) {
    throw new LooplensError('BUILD_MISSING', `${file} has no STAGE_NAMES list (a stale build?)`, 'run `npm run build` in the looplens folder');
  }
  return [...(mod.STAGE_NAMES as string[])];
}

/** Every stage known, and each listed once (a lab names its run folders after its stages). */
export function checkStages(wanted: readonly string[], known: readonly string[]): void {
  const twice = wanted.filter((s, i) => wanted.indexOf(s) !== i);
  if (twice.length > 0) {
    throw new LooplensError(
      'USAGE_BAD_VALUE',
      `--stages lists ${[...new Set(twice)].join(', ')} more than once`,
      'list each stage once (to measure a stage several times, use --runs N)',
    );
  }
  for (const s of wanted) {
    if (!known.includes(s)) {
      const guess = closest(s, known);
      throw new LooplensError('UNKNOWN_STAGE', `unknown stage "${s}"`, `${guess ? `did you mean ${guess}? ` : ''}stages: ${known.join(', ')}`);
    }
  }
}

export function targetAppMain(root: string): string {
  const main = join(root, 'dist/target-app/main.js');
  if (!existsSync(main)) {
    throw new LooplensError('BUILD_MISSING', `target-app is not built (${main} is missing)`, 'run `npm run build` in the looplens folder');
  }
  return main;
}
