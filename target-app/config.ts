/** target-app's configuration, from the environment. A mistake is one ConfigError line (exit code 2). */
import { DEFAULT_DATABASE_URL } from './db/connection.js';
import { STAGE_NAMES } from './stages/index.js';
import { DEFAULT_DB_TIMEOUTS, type DbTimeouts } from './db/timeouts.js';
import { BLOCKING_IO_MODES, type Mode as BlockingIoMode } from './blocking-io/routes.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface AppConfig {
  stage: string;
  port: number;
  host: string;
  databaseUrl: string;
  redisUrl: string;
  upstreamUrl: string;
  /** Processes serving the port (node:cluster when > 1). */
  workers: number;
  /** PG_POOL_MAX: pool size per process for the pooled stages (default: sized for the machine). */
  poolMax?: number;
  /** BLOCKING_POOL_SIZE: threads of the blocking-io offload pool. */
  blockingPoolSize: number;
  /** BLOCKING_IO_MODE: how GET /blocking-io makes its slow upstream call (sync | offloaded | async). */
  blockingIoMode: BlockingIoMode;
  /** UPSTREAM_TIMEOUT_MS: timeout of every external call. */
  upstreamTimeoutMs: number;
  /** PG_CONNECT_TIMEOUT_MS, PG_QUERY_TIMEOUT_MS: the waits for PostgreSQL (db/timeouts.ts). */
  dbTimeouts: DbTimeouts;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  return n;
}

function url(env: NodeJS.ProcessEnv, name: string, fallback: string | undefined, protocols: string[]): string {
  const raw = env[name] || fallback;
  if (raw === undefined) throw new ConfigError(`${name} is not set`);
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a URL: "${raw}"`);
  }
  if (!protocols.includes(parsed.protocol)) throw new ConfigError(`${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')}, got "${raw}"`);
  return raw;
}

export function readConfig(env: NodeJS.ProcessEnv): AppConfig {
  const stage = env.STAGE || 'baseline';
  if (!STAGE_NAMES.includes(stage)) throw new ConfigError(`unknown STAGE "${stage}": use one of ${STAGE_NAMES.join(', ')}`);
  if (!env.UPSTREAM_URL) {
    throw new ConfigError(
      'UPSTREAM_URL is not set: start the external-services stand-in (node dist/target-app/upstream/main.js, it prints its URL) ' +
        'and set UPSTREAM_URL to it, e.g. http://127.0.0.1:3001',
    );
  }
  const poolMax = int(env, 'PG_POOL_MAX', 0, 0, 1000);
  const blockingIoMode = (env.BLOCKING_IO_MODE || 'async') as BlockingIoMode;
  if (!BLOCKING_IO_MODES.includes(blockingIoMode)) throw new ConfigError(`BLOCKING_IO_MODE must be one of ${BLOCKING_IO_MODES.join(', ')}, got "${env.BLOCKING_IO_MODE}"`);
  return {
    stage,
    port: int(env, 'PORT', 3000, 0, 65535),
    host: env.HOST || '127.0.0.1',
    databaseUrl: url(env, 'DATABASE_URL', DEFAULT_DATABASE_URL, ['postgres:', 'postgresql:']),
    redisUrl: url(env, 'REDIS_URL', DEFAULT_REDIS_URL, ['redis:', 'rediss:']),
    upstreamUrl: url(env, 'UPSTREAM_URL', undefined, ['http:']),
    workers: int(env, 'WORKERS', 1, 1, 64),
    poolMax: poolMax || undefined,
    blockingPoolSize: int(env, 'BLOCKING_POOL_SIZE', 4, 1, 64),
    blockingIoMode,
    upstreamTimeoutMs: int(env, 'UPSTREAM_TIMEOUT_MS', 2000, 1, 120_000),
    dbTimeouts: {
      connectMs: int(env, 'PG_CONNECT_TIMEOUT_MS', DEFAULT_DB_TIMEOUTS.connectMs, 100, 600_000),
      queryMs: int(env, 'PG_QUERY_TIMEOUT_MS', DEFAULT_DB_TIMEOUTS.queryMs, 100, 600_000),
    },
  };
}
