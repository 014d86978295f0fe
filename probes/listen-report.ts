/**
 * Tells looplens where the app listens, so an app that ignores $PORT (NestJS examples hard-code 3000) is profiled on
 * its own port: every TCP server the process starts listening writes listen.json in its run folder
 * ({ servers: [{ pid, port, address, family, http, atMs }] }, in the order they listened; pipes are left out).
 *
 * Node ≥ 20.16 and ≥ 22.3 publish every completed `net.Server.listen()` on the `tracing:net.server.listen:asyncEnd`
 * diagnostics channel (http and https servers included); on older versions listen() is wrapped to wait for the
 * server's own 'listening' event. Nothing is kept beyond one small entry a server; a failed write is ignored. No
 * networking module is imported here (the app's own import of node:http must reach the OpenTelemetry loader hook).
 */
import dc from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import type net from 'node:net';
import type { ListenFile, ListeningServer } from '../profiles/contract/types.js';
import { writeRunJson } from '../profiles/contract/write.js';

const CHANNEL = 'tracing:net.server.listen:asyncEnd';

/** Whether this Node publishes net.Server.listen() on the tracing channel (added in 22.3.0, backported to 20.16.0). */
export function hasListenChannel(version = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major >= 23 || (major === 22 && minor >= 3) || (major === 20 && minor >= 16);
}

/** `useChannel`: the diagnostics channel (default where Node has it) or the listen() wrap. */
export function reportListening(out: string, useChannel = hasListenChannel()): void {
  const servers: ListeningServer[] = [];
  const seen = new WeakSet<object>();
  const record = (server: net.Server) => {
    if (seen.has(server)) return;
    const address = server.address();
    if (!address || typeof address === 'string') return; // a pipe or socket file: no port to load
    seen.add(server);
    servers.push({
      pid: process.pid,
      port: address.port,
      address: address.address,
      family: address.family,
      // http.Server and https.Server (and only they, of Node's servers) carry the HTTP parser's timeouts
      http: 'headersTimeout' in server && 'requestTimeout' in server,
      atMs: Date.now(),
    });
    try {
      writeRunJson(out, 'listen', { servers } satisfies ListenFile);
    } catch {
      // best effort: without it looplens waits for $PORT, as before
    }
  };
  if (useChannel) {
    dc.subscribe(CHANNEL, (message) => record((message as { server: net.Server }).server));
    return;
  }
  const { Server } = createRequire(import.meta.url)('node:net') as typeof net;
  const listen = Server.prototype.listen;
  Server.prototype.listen = function (this: net.Server, ...args: unknown[]) {
    this.once('listening', () => record(this));
    return listen.apply(this, args as Parameters<typeof listen>);
  } as typeof listen;
}
