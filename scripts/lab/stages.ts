/**
 * The target-app stage list, read from the built target-app (its names module) rather than hard-coded here; the
 * fallback is only for a tree where target-app is not built yet.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LooplensError } from '../errors.js';
import { closest } from '../flags.js';

export const FALLBACK_STAGES = ['baseline', 'async-db', 'parallel', 'pooled', 'cached'] as const;

export async function stageNames(root: string): Promise<string[]> {
  for (const rel of ['dist/target-app/stages/names.js', 'dist/target-app/stages/index.js']) {
    const file = join(root, rel);
    if (!existsSync(file)) continue;
    try {
      const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      for (const v of [mod.STAGE_NAMES, mod.STAGES, mod.stageNames, mod.default]) {
        if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
        if (v && typeof v === 'object' && !Array.isArray(v) && rel.endsWith('index.js')) return Object.keys(v);
      }
    } catch {
      /* fall through */
    }
  }
  return [...FALLBACK_STAGES];
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
