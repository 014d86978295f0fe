/** Every diagnosis looplens knows. Adding one = one file in this folder + one line here (and its fixture test). */
import type { Rule } from '../rule.js';
import { blockingCall } from './blocking-call.js';
import { nPlusOne } from './n-plus-one.js';
import { serialExternalCalls } from './serial-external-calls.js';
import { unawaitedWork } from './unawaited-work-on-critical-path.js';
import { connectionPerRequest } from './connection-per-request.js';
import { cacheableReads } from './cacheable-reads.js';
import { poolStarvation } from './pool-starvation.js';
import { serialQueries } from './serial-queries.js';
import { cpuHotspot } from './cpu-hotspot.js';
import { memoryGrowth } from './memory-growth.js';
import { gcPressure } from './gc-pressure.js';

export const RULES: readonly Rule[] = [
  blockingCall,
  nPlusOne,
  serialExternalCalls,
  unawaitedWork,
  connectionPerRequest,
  cacheableReads,
  poolStarvation,
  serialQueries,
  cpuHotspot,
  memoryGrowth,
  gcPressure,
];
