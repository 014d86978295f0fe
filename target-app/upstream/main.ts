/**
 * `node dist/target-app/upstream/main.js` — the external-services stand-in the lab starts next to the app.
 * Env: PORT (default 3001), HOST (default 127.0.0.1), UPSTREAM_LATENCY_MS ("images=300,notify=200,index=150"),
 * UPSTREAM_FAILURE_RATE ("notify=0.5"; default all 0), UPSTREAM_TIMEOUT_RATE (share of calls never answered),
 * UPSTREAM_SEED (failure draws). Prints `upstream listening on http://HOST:PORT` once listening.
 */
import { exitOnShutdown } from '../lib/lifecycle.js';
import { DEFAULT_LATENCY_MS, NO_RATES, parsePerEndpoint } from './config.js';
import { createUpstreamServer } from './server.js';

const env = process.env;
let server;
try {
  const port = Number(env.PORT ?? 3001);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be 0–65535, got "${env.PORT}"`);
  server = createUpstreamServer({
    latencyMs: parsePerEndpoint('UPSTREAM_LATENCY_MS', env.UPSTREAM_LATENCY_MS, DEFAULT_LATENCY_MS, { min: 0, max: 60_000 }),
    failureRate: parsePerEndpoint('UPSTREAM_FAILURE_RATE', env.UPSTREAM_FAILURE_RATE, NO_RATES, { min: 0, max: 1 }),
    timeoutRate: parsePerEndpoint('UPSTREAM_TIMEOUT_RATE', env.UPSTREAM_TIMEOUT_RATE, NO_RATES, { min: 0, max: 1 }),
    seed: env.UPSTREAM_SEED ? Number(env.UPSTREAM_SEED) : undefined,
  });
  const url = await server.listen(port, env.HOST || '127.0.0.1');
  process.stdout.write(`upstream listening on ${url}\n`);
} catch (err) {
  const e = err as { code?: string; message?: string };
  process.stderr.write(`upstream: ${e.code === 'EADDRINUSE' ? `port ${env.PORT} is in use: pick another PORT` : e.message}\n`);
  process.exit(e.code === 'EADDRINUSE' ? 1 : 2);
}
const running = server;
exitOnShutdown(() => running.close());
