/**
 * `node dist/target-app/main.js` — the SNS API, one stage of it.
 *
 * Env: STAGE (baseline | async-db | parallel | pooled | cached; default baseline), PORT (3000), HOST (127.0.0.1),
 * DATABASE_URL (postgres://postgres@127.0.0.1:5432/looplens, created and migrated if missing), REDIS_URL
 * (redis://127.0.0.1:6379), UPSTREAM_URL (the external-services stand-in; required), WORKERS (1; more forks that
 * many node:cluster workers sharing the port), PG_POOL_MAX, BLOCKING_POOL_SIZE, BLOCKING_IO_MODE (how GET /blocking-io makes
 * its call: sync | offloaded | async, default async), UPSTREAM_TIMEOUT_MS.
 *
 * Prints exactly one stdout line once every worker listens: `target-app listening on http://HOST:PORT stage=STAGE`.
 * SIGINT/SIGTERM close gracefully and exit 0; the process also ends when its parent dies.
 * Exit codes: 2 configuration (one stderr line), 1 a service missing or the port taken (one stderr line).
 */
import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { ConfigError, readConfig, type AppConfig } from './config.js';
import { DatabaseUnavailableError } from './db/connection.js';
import { migrate } from './db/schema.js';
import { closeSyncPg } from './db/sync-client.js';
import { exitOnShutdown } from './lib/lifecycle.js';
import { createLogger } from './lib/log.js';
import { buildApp } from './server.js';
import { findStage } from './stages/index.js';

const log = createLogger();

function die(code: number, message: string): never {
  process.stderr.write(`target-app: ${message}\n`);
  process.exit(code);
}

function explain(err: unknown, config: AppConfig): never {
  if (err instanceof DatabaseUnavailableError) die(1, err.message);
  const e = err as { code?: string; message?: string };
  if (e.code === 'EADDRINUSE') die(1, `port ${config.port} on ${config.host} is in use: set PORT to a free port (or 0)`);
  if (e.code === 'EACCES') die(1, `not allowed to listen on ${config.host}:${config.port}: use a port above 1023`);
  die(1, `could not start: ${(e.message ?? String(err)).split('\n')[0]}`);
}

function listeningLine(config: AppConfig, port: number): string {
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return `target-app listening on http://${host}:${port} stage=${config.stage}`;
}

/** One process serving the app (the only one, or one cluster worker). */
async function serve(config: AppConfig): Promise<void> {
  const stage = findStage(config.stage)!;
  const running = await stage.start({
    databaseUrl: config.databaseUrl,
    redisUrl: config.redisUrl,
    upstreamUrl: config.upstreamUrl,
    workers: config.workers,
    log,
    poolMax: config.poolMax,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    dbTimeouts: config.dbTimeouts,
  });
  const app = await buildApp({
    stage: running,
    stageName: stage.name,
    upstreamUrl: config.upstreamUrl,
    log,
    blockingPoolSize: config.blockingPoolSize,
    blockingIoMode: config.blockingIoMode,
  });
  exitOnShutdown(async () => {
    await app.close();
    await running.close();
    await closeSyncPg();
  });
  await app.listen({ port: config.port, host: config.host });
  const { port } = app.server.address() as AddressInfo;
  if (cluster.isWorker) process.send?.({ listening: port });
  else process.stdout.write(listeningLine(config, port) + '\n');
}

/** The cluster primary: forks the workers, prints the line once all listen, restarts a worker that dies. */
function supervise(config: AppConfig): void {
  const listening = new Set<number>();
  let printed = false;
  let stopping = false;
  let restarts = 0;
  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.on('message', (m: { listening?: number }) => {
      if (typeof m?.listening !== 'number') return;
      listening.add(worker.id);
      if (!printed && listening.size >= config.workers) {
        printed = true;
        process.stdout.write(listeningLine(config, m.listening) + '\n');
      }
    });
    return worker;
  };
  cluster.on('exit', (worker, code, signal) => {
    listening.delete(worker.id);
    if (stopping) {
      if (!Object.keys(cluster.workers ?? {}).length) process.exit(0);
      return;
    }
    if (!printed || restarts >= 10) die(1, `a worker exited (${signal ?? `code ${code}`}) ${printed ? 'too often' : 'before listening'}; see its message above`);
    restarts++;
    log.warn('worker-exit', `worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting another`);
    fork();
  });
  exitOnShutdown(async () => {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
    if (!workers.length) return;
    for (const w of workers) w.process.kill('SIGTERM');
    await new Promise<void>((resolve) => cluster.on('exit', () => !Object.keys(cluster.workers ?? {}).length && resolve()));
  });
  for (let i = 0; i < config.workers; i++) fork();
}

let config: AppConfig;
try {
  config = readConfig(process.env);
} catch (err) {
  die(2, err instanceof ConfigError ? err.message : String(err));
}

try {
  if (cluster.isWorker) {
    await serve(config);
  } else {
    await migrate(config.databaseUrl); // once, before any worker: creates the database and the schema if missing
    if (config.workers > 1) supervise(config);
    else await serve(config);
  }
} catch (err) {
  explain(err, config);
}
