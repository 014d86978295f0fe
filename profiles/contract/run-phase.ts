/**
 * The measured window as the probes see it from inside the app: run.json's `phase` and planned load duration, read
 * without the contract's validators (the probes load this inside the user's app: no dependencies). null when run.json
 * is missing or unreadable (the probes preloaded by hand, or the runner between two atomic writes).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_FILES } from './types.js';

export interface RunPhase {
  phase: string | null;
  /** load.durationS: the planned length of the measured load. */
  durationS: number | null;
}

export function readRunPhase(dir: string): RunPhase | null {
  try {
    const value = JSON.parse(readFileSync(join(dir, RUN_FILES.run), 'utf8')) as { phase?: unknown; load?: { durationS?: unknown } };
    return {
      phase: typeof value.phase === 'string' ? value.phase : null,
      durationS: typeof value.load?.durationS === 'number' ? value.load.durationS : null,
    };
  } catch {
    return null;
  }
}
