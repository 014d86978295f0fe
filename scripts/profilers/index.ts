import type { ProfilerName } from '../../profiles/contract/types.js';
import { bubbleprof, doctor, flame } from './clinic.js';
import { none } from './none.js';
import type { ProfilerAdapter } from './types.js';
import { zerox } from './zerox.js';

export const PROFILER_ADAPTERS: Record<ProfilerName, ProfilerAdapter> = { none, '0x': zerox, doctor, flame, bubbleprof };

export type { ProfilerAdapter } from './types.js';
