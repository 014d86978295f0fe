/**
 * Where the app said it listens: the probes write listen.json (probes/listen-report.ts) in the run folder, and in a
 * cluster worker's or a child process's folder of it. An app that ignores $PORT (NestJS examples hard-code 3000) is
 * loaded there.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { hasFile, readListen } from '../../profiles/contract/read.js';
import type { ListeningServer } from '../../profiles/contract/types.js';
import type { ListenTarget } from './process.js';

/** The run folder and the probe folders of the app's workers and child processes. */
function probeDirs(runDir: string): string[] {
  const dirs = [runDir];
  for (const sub of ['workers', 'children']) {
    const d = join(runDir, sub);
    if (existsSync(d)) for (const n of readdirSync(d)) dirs.push(join(d, n));
  }
  return dirs;
}

/** Where to connect to a server listening on `address`: loopback for the wildcard addresses, else the address. */
export function connectHost(address: string): string {
  if (address === '' || address === '0.0.0.0' || address === '::' || address === '::ffff:0.0.0.0') return '127.0.0.1';
  return address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
}

/**
 * How long a plain TCP server (not HTTP) must have been listening, with no HTTP server reported, before it is taken
 * for the app's: an app often opens another socket (an admin or metrics port, a cluster primary's handle) just before
 * its HTTP server, and a poll in between must not load the wrong one.
 */
export const NON_HTTP_GRACE_MS = 1000;

/**
 * The server the app listens on, by its own report: the first HTTP server to listen (the first TCP server, once it
 * has listened NON_HTTP_GRACE_MS with no HTTP server beside it), or null when it reported none yet. Files being
 * written are skipped (the next poll reads them).
 */
export function reportedListenTarget(runDir: string, nowMs = Date.now()): ListenTarget | null {
  const servers: ListeningServer[] = [];
  for (const dir of probeDirs(runDir)) {
    if (!hasFile(dir, 'listen')) continue;
    try {
      servers.push(...readListen(dir).servers);
    } catch {
      // not readable yet
    }
  }
  if (servers.length === 0) return null;
  servers.sort((a, b) => a.atMs - b.atMs);
  const chosen = servers.find((s) => s.http) ?? (nowMs - servers[0]!.atMs >= NON_HTTP_GRACE_MS ? servers[0]! : null);
  return chosen ? { host: connectHost(chosen.address), port: chosen.port } : null;
}
