/**
 * ESM preload: `node --import looplens/probes app.js` (or NODE_OPTIONS="--import …").
 * Registers the OpenTelemetry loader hook first, so ESM imports of pg, ioredis, http… are instrumented; only the
 * modules an instrumentation asked for are wrapped.
 */
import { createRequire, register } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as workerThreads from 'node:worker_threads';
import { isMainThread } from 'node:worker_threads';
import cluster from 'node:cluster';
import { readConfig, threadFacts } from './config.js';
import { reportListening } from './listen-report.js';
import { watchParent } from './parent-watch.js';
import { startProbes, type TracingModule } from './start.js';

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
  let tracing: TracingModule | null = null;
  let acknowledged: (() => Promise<void>) | null = null;
  if (config.tracing) {
    // The same import-in-the-middle instance as @opentelemetry/instrumentation's, so its Hook()s reach the loader.
    const requireFromOtel = createRequire(createRequire(import.meta.url).resolve('@opentelemetry/instrumentation'));
    const iitm = requireFromOtel('import-in-the-middle') as {
      createAddHookMessageChannel(): { registerOptions: object; waitForAllMessagesAcknowledged(): Promise<void> };
    };
    const channel = iitm.createAddHookMessageChannel();
    register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, channel.registerOptions);
    acknowledged = channel.waitForAllMessagesAcknowledged;
    tracing = await import('./tracing.js');
  }
  // live export of blocks and loop metrics without SDK tracing (the production preset): ./export.ts
  const exporting = config.otlpEndpoint && !config.tracing ? await import('./export.js') : null;
  startProbes(config, tracing, dirname(fileURLToPath(import.meta.url)), exporting);
  if (acknowledged) await acknowledged();
} else if (config.offReason?.startsWith('LOOPLENS_PRESET=')) {
  process.emitWarning(`looplens probes are off: ${config.offReason}`, { code: 'LOOPLENS_BAD_PRESET' });
} else if (config.offReason === 'LOOPLENS_OUT is not set' && isMainThread) {
  process.emitWarning('looplens probes are off: set LOOPLENS_OUT to the run folder', { code: 'LOOPLENS_NO_OUT' });
}
