/**
 * The app's client for the external services. Every call has a timeout (2 s by default). A failed call — error
 * status, refused connection, timeout — is counted and logged and answers null/false: an external service being
 * down never fails a request whose own work (the post, the like) is done.
 *
 * keepAlive: false opens a new connection for every call (like `async with httpx.AsyncClient()` per call in the
 * seed article); true reuses connections through one keep-alive agent (the pooled stage).
 */
import http from 'node:http';
import type { Logger } from '../lib/log.js';
import { ENDPOINTS, type Endpoint } from './config.js';

export const DEFAULT_UPSTREAM_TIMEOUT_MS = 2000;

export interface UpstreamCallStats {
  calls: number;
  failures: number;
  byEndpoint: Record<Endpoint, { calls: number; failures: number }>;
}

export interface UpstreamClientOptions {
  baseUrl: string;
  keepAlive: boolean;
  log: Logger;
  timeoutMs?: number;
}

export class UpstreamClient {
  readonly #base: URL;
  readonly #agent: http.Agent | false;
  readonly #timeoutMs: number;
  readonly #log: Logger;
  readonly #stats: UpstreamCallStats = {
    calls: 0,
    failures: 0,
    byEndpoint: Object.fromEntries(ENDPOINTS.map((e) => [e, { calls: 0, failures: 0 }])) as UpstreamCallStats['byEndpoint'],
  };

  constructor(options: UpstreamClientOptions) {
    this.#base = new URL(options.baseUrl);
    this.#agent = options.keepAlive ? new http.Agent({ keepAlive: true, maxSockets: 128, keepAliveMsecs: 10_000 }) : false;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
    this.#log = options.log;
  }

  /** Uploads the image at `sourceUrl`; answers the hosted URL, or null when the upload failed. */
  async uploadImage(sourceUrl: string): Promise<string | null> {
    const body = (await this.#call('images', { sourceUrl })) as { url?: unknown } | null;
    return typeof body?.url === 'string' ? body.url : null;
  }

  /** Tells the notification service about a new post; false when that failed. */
  async notify(payload: { userId: number; postId: number }): Promise<boolean> {
    return (await this.#call('notify', { ...payload, event: 'post.created' })) !== null;
  }

  /** Sends a post to the search index; false when that failed. */
  async index(payload: { postId: number; content: string }): Promise<boolean> {
    return (await this.#call('index', payload)) !== null;
  }

  stats(): UpstreamCallStats {
    return structuredClone(this.#stats);
  }

  close(): void {
    if (this.#agent) this.#agent.destroy();
  }

  async #call(endpoint: Endpoint, payload: unknown): Promise<unknown> {
    this.#stats.calls++;
    this.#stats.byEndpoint[endpoint].calls++;
    try {
      return await this.#post(endpoint, payload);
    } catch (err) {
      this.#stats.failures++;
      this.#stats.byEndpoint[endpoint].failures++;
      this.#log.warn(`upstream-${endpoint}`, `${endpoint} call failed: ${(err as Error).message}`);
      return null;
    }
  }

  #post(endpoint: Endpoint, payload: unknown): Promise<unknown> {
    const text = JSON.stringify(payload);
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (err: Error | null, value?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(value);
      };
      const req = http.request(new URL(endpoint, this.#base), {
        method: 'POST',
        agent: this.#agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
      });
      const timer = setTimeout(() => {
        settle(new Error(`no answer within ${this.#timeoutMs} ms`));
        req.destroy();
      }, this.#timeoutMs);
      req.on('error', (err) => settle(err));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => settle(err));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) return settle(new Error(`HTTP ${status}`));
          try {
            settle(null, chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {});
          } catch {
            settle(new Error('the answer was not JSON'));
          }
        });
      });
      req.end(text);
    });
  }
}
