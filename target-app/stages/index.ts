/**
 * The stages, in the order the lab runs them; each changes one thing compared with the one before
 * (`git diff --no-index stages/parallel.ts stages/pooled.ts` reads as a before/after).
 * Adding a stage: one module exporting a Stage, plus one line here.
 */
import { asyncDb } from './async-db.js';
import { baseline } from './baseline.js';
import { cached } from './cached.js';
import { parallel } from './parallel.js';
import { pooled } from './pooled.js';
import type { Stage } from './types.js';

export const STAGES: readonly Stage[] = [baseline, asyncDb, parallel, pooled, cached];

/** The names, for the CLI (read from dist/target-app/stages/index.js). */
export const STAGE_NAMES: readonly string[] = STAGES.map((s) => s.name);

export function findStage(name: string): Stage | undefined {
  return STAGES.find((s) => s.name === name);
}

export type { RunningStage, Stage, StageContext, StageStats } from './types.js';
