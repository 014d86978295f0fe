/** No profiler: the app runs as given (the probes still write profile.cpuprofile). */
import type { ProfilerAdapter } from './types.js';

export const none: ProfilerAdapter = {
  name: 'none',
  preload: 'esm',
  requiresNode: false,
  stop: { target: 'group', timeoutMs: 15_000 },
  wrap: ({ command, env }) => ({ command, env }),
  collect: async () => ({ outputs: [], notes: [] }),
};
