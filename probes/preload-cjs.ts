/**
 * CommonJS preload: `node --require looplens/probes/cjs app.js`. Built into dist/probes/preload.cjs by
 * probes/build-cjs.mjs (esbuild; node_modules stay external). Use it where an ESM loader hook must not be
 * registered — under clinic doctor — and for CJS apps. Without the loader hook, modules the app loads with ESM
 * `import` are not instrumented (require()d ones are).
 */
import * as workerThreads from 'node:worker_threads';
import { isMainThread } from 'node:worker_threads';
import cluster from 'node:cluster';
import { readConfig, threadFacts } from './config.js';
import { reportListening } from './listen-report.js';
import { watchParent } from './parent-watch.js';
import { startProbes, type ExportModule, type TracingModule } from './start.js';

// launched by looplens: do not outlive it (./parent-watch.ts), whether or not the probes are on in this process
if (isMainThread) watchParent(process.env);

const config = readConfig(process.env, {
  pid: process.pid,
  argv: process.argv,
  ...threadFacts(workerThreads),
  isClusterWorker: cluster.isWorker,
});

if (config.out) {
  reportListening(config.out);
  // Synchronous on purpose: a --require preload must be fully set up before the app's first require.
  const tracing = config.tracing ? (require('./tracing.js') as TracingModule) : null;
  const exporting = config.otlpEndpoint && !config.tracing ? (require('./export.js') as ExportModule) : null;
  startProbes(config, tracing, __dirname, exporting);
} else if (config.offReason?.startsWith('LOOPLENS_PRESET=')) {
  process.emitWarning(`looplens probes are off: ${config.offReason}`, { code: 'LOOPLENS_BAD_PRESET' });
} else if (config.offReason === 'LOOPLENS_OUT is not set' && isMainThread) {
  process.emitWarning('looplens probes are off: set LOOPLENS_OUT to the run folder', { code: 'LOOPLENS_NO_OUT' });
}
