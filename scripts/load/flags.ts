/** The load flags `profile` and `lab` share (scripts/commands/index.ts) → the load settings the library takes. */
import type { ProfileLoad } from '../profile/run.js';
import type { Scenario } from './scenario.js';

export interface LoadFlagValues {
  duration: number;
  warmup: number;
  connections: number;
  rate?: number;
}

/** `scenarioLabel`: how the scenario was named on the command line; `paths`: the --path list, when that was the load. */
export function loadFromFlags(o: LoadFlagValues, scenario: Scenario, scenarioLabel?: string, paths?: string[]): Omit<ProfileLoad, 'ids'> {
  return {
    durationS: o.duration,
    warmupS: o.warmup,
    connections: o.connections,
    rate: o.rate,
    scenario,
    scenarioLabel,
    ...(paths ? { paths } : {}),
  };
}
