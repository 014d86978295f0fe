/**
 * A static file server for the report: loopback only, GET/HEAD only, files under one root only (no traversal, no
 * symlink escape), and only requests whose Host header names the loopback address (no DNS rebinding).
 */
import { createReadStream, existsSync, realpathSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, relative, resolve, isAbsolute } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.jsonl': 'application/x-ndjson; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.folded': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.cpuprofile': 'application/json; charset=utf-8',
};

export interface ServeOptions {
  /** The folder served (e.g. profiles/): the report's links are relative, so flamegraphs resolve under it. */
  root: string;
  /** 0 = a free port. */
  port?: number;
  /** Loopback address to bind: 127.0.0.1 (default) or ::1. */
  host?: '127.0.0.1' | '::1';
}

export interface RunningServer {
  /** http://127.0.0.1:<port>/ */
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' });
  res.end(text + '\n');
}

/** The file a URL path names under root, or null when it would leave root (.., encoded slashes, symlinks). */
export function resolveUnder(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0].split('#')[0]);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const realRoot = realpathSync(root);
  const target = resolve(realRoot, '.' + (decoded.startsWith('/') ? decoded : '/' + decoded));
  const inside = (p: string) => {
    const rel = relative(realRoot, p);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  };
  if (!inside(target)) return null;
  if (!existsSync(target)) return target; // 404 later
  const real = realpathSync(target);
  return inside(real) ? real : null;
}

function allowedHost(req: IncomingMessage, port: number): boolean {
  const host = (req.headers.host ?? '').toLowerCase();
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host);
}

export async function serveReport(options: ServeOptions): Promise<RunningServer> {
  const root = resolve(options.root);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new Error(`${root} is not a folder`);
  const host = options.host ?? '127.0.0.1';
  let port = 0;
  const server = createServer((req, res) => {
    if (!allowedHost(req, port)) return send(res, 421, 'misdirected request: use http://127.0.0.1:' + port + '/');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
    let file = resolveUnder(root, req.url ?? '/');
    if (!file) return send(res, 403, 'forbidden');
    if (existsSync(file) && statSync(file).isDirectory()) {
      if (!(req.url ?? '/').split('?')[0].endsWith('/')) {
        res.writeHead(301, { location: (req.url ?? '/').split('?')[0] + '/' });
        return res.end();
      }
      file = join(file, 'index.html');
    }
    if (!existsSync(file) || !statSync(file).isFile()) return send(res, 404, 'not found');
    res.writeHead(200, {
      'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': statSync(file).size,
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', fail);
      ok();
    });
  });
  port = (server.address() as AddressInfo).port;
  const shown = host === '::1' ? '[::1]' : host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    server,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections?.();
        server.close(() => ok());
      }),
  };
}
