/**
 * The stand-in for the image, notification and search services the app calls (and a slow GET for the
 * blocking-io routes). Latency, failure rate and "hangs" are configurable per endpoint; randomness comes from a
 * seeded generator, so a run with the same settings fails the same calls.
 *
 *   POST /images {sourceUrl}  → 201 {url}        the hosted copy's URL (a function of sourceUrl)
 *   POST /notify {…}          → 202 {accepted}
 *   POST /index {…}           → 202 {indexed}
 *   GET  /slow?ms=N           → 200 {ms}         answers after N ms (0–10000)
 *   GET  /health, GET /stats
 * An injected failure is a 503 JSON answer after the endpoint's latency; an injected timeout never answers.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_LATENCY_MS, ENDPOINTS, NO_RATES, type Endpoint } from './config.js';
import { mulberry32 } from '../lib/random.js';

export interface UpstreamOptions {
  latencyMs?: Partial<Record<Endpoint, number>>;
  failureRate?: Partial<Record<Endpoint, number>>;
  timeoutRate?: Partial<Record<Endpoint, number>>;
  /** Seed of the failure draws. */
  seed?: number;
}

export interface UpstreamStats {
  calls: Record<Endpoint | 'slow', number>;
  failures: Record<Endpoint, number>;
  timeouts: Record<Endpoint, number>;
}

export interface UpstreamServer {
  server: http.Server;
  listen(port: number, host: string): Promise<string>;
  stats(): UpstreamStats;
  close(): Promise<void>;
}

/** The hosted URL of an uploaded image: deterministic, so every stage answers the same JSON. */
export function hostedImageUrl(sourceUrl: string): string {
  return `https://cdn.looplens.example/i/${createHash('sha256').update(sourceUrl).digest('hex').slice(0, 24)}.jpg`;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown> | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1_000_000) return null;
    chunks.push(chunk as Buffer);
  }
  if (!size) return {};
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return value && typeof value === 'object' ? value : null;
  } catch {
    return null;
  }
}

export function createUpstreamServer(options: UpstreamOptions = {}): UpstreamServer {
  const latency = { ...DEFAULT_LATENCY_MS, ...options.latencyMs };
  const failureRate = { ...NO_RATES, ...options.failureRate };
  const timeoutRate = { ...NO_RATES, ...options.timeoutRate };
  const random = mulberry32(options.seed ?? 1);
  const zero = () => ({ images: 0, notify: 0, index: 0 });
  const stats: UpstreamStats = { calls: { ...zero(), slow: 0 }, failures: zero(), timeouts: zero() };
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://upstream');
    const path = url.pathname;
    if (req.method === 'GET' && path === '/health') return send(res, 200, { ok: true });
    if (req.method === 'GET' && path === '/stats') return send(res, 200, stats);
    if (req.method === 'GET' && path === '/slow') {
      const ms = Number(url.searchParams.get('ms') ?? 50);
      if (!Number.isFinite(ms) || ms < 0 || ms > 10_000) return send(res, 400, { error: 'Bad Request', message: 'ms must be 0–10000' });
      stats.calls.slow++;
      return later(ms, () => send(res, 200, { ms }));
    }
    const endpoint = path.slice(1) as Endpoint;
    if (req.method !== 'POST' || !ENDPOINTS.includes(endpoint)) {
      return send(res, 404, { error: 'Not Found', message: `${req.method} ${path} is not an endpoint here` });
    }
    const body = await readJson(req);
    if (!body) return send(res, 400, { error: 'Bad Request', message: 'the body must be a JSON object' });
    stats.calls[endpoint]++;
    if (random() < timeoutRate[endpoint]) {
      stats.timeouts[endpoint]++;
      return; // never answers; the connection is dropped when the client gives up or the server closes
    }
    const fail = random() < failureRate[endpoint];
    later(latency[endpoint], () => {
      if (fail) {
        stats.failures[endpoint]++;
        return send(res, 503, { error: 'Service Unavailable', message: `injected ${endpoint} failure` });
      }
      if (endpoint === 'images') {
        const sourceUrl = typeof body.sourceUrl === 'string' ? body.sourceUrl : '';
        if (!sourceUrl) return send(res, 400, { error: 'Bad Request', message: 'sourceUrl is required' });
        return send(res, 201, { url: hostedImageUrl(sourceUrl) });
      }
      return send(res, 202, endpoint === 'notify' ? { accepted: true } : { indexed: true });
    });
  });
  server.keepAliveTimeout = 30_000;

  return {
    server,
    stats: () => structuredClone(stats),
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const a = server.address() as AddressInfo;
          resolve(`http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
