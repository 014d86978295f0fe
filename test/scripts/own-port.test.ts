/**
 * The app's own port: an app that ignores $PORT is profiled without --port on the port it listens on (the probes
 * report it in listen.json), with a one-line note; an app that never listens gets a message naming --port and
 * --ready-timeout. The listen report itself is checked in-process on real servers, through the diagnostics channel
 * and through the listen() wrap older Node versions need.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasFile, readListen, readRunInfo } from '../../profiles/contract/read.js';
import { hasListenChannel, reportListening } from '../../probes/listen-report.js';
import { NON_HTTP_GRACE_MS, connectHost, reportedListenTarget } from '../../scripts/profile/listen.js';
import { freePort } from '../../scripts/profile/process.js';
import { FIXTURE, ROOT, errorLines, runCli } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'looplens-own-port-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const OWN_PORT_APP = join(ROOT, 'test/scripts/fixtures/own-port-app.mjs');

function listening<T extends Server | TcpServer>(server: T, port = 0): Promise<T> {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}
const closing = (server: Server | TcpServer) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('the listen report', () => {
  it('knows which Node versions publish net.Server.listen() on the diagnostics channel', () => {
    expect(hasListenChannel('20.15.1')).toBe(false);
    expect(hasListenChannel('20.16.0')).toBe(true);
    expect(hasListenChannel('21.7.3')).toBe(false);
    expect(hasListenChannel('22.2.0')).toBe(false);
    expect(hasListenChannel('22.3.0')).toBe(true);
    expect(hasListenChannel('24.1.0')).toBe(true);
  });

  for (const useChannel of [true, false]) {
    it(`writes every TCP server as it listens, HTTP ones marked (${useChannel ? 'diagnostics channel' : 'listen() wrap'})`, async () => {
      const out = join(tmp, `report-${useChannel}`);
      reportListening(out, useChannel);
      const tcp = await listening(createTcpServer());
      expect(readListen(out).servers).toEqual([expect.objectContaining({ pid: process.pid, port: (tcp.address() as { port: number }).port, address: '127.0.0.1', http: false })]);
      // a plain TCP server is the app's only once no HTTP server followed it for a while (an admin port opened first)
      const tcpAt = readListen(out).servers[0]!.atMs;
      expect(reportedListenTarget(out, tcpAt + 10)).toBeNull();
      expect(reportedListenTarget(out, tcpAt + NON_HTTP_GRACE_MS)).toEqual({ host: '127.0.0.1', port: (tcp.address() as { port: number }).port });
      const http = await listening(createHttpServer());
      const servers = readListen(out).servers;
      expect(servers.map((s) => [s.port, s.http])).toEqual([
        [(tcp.address() as { port: number }).port, false],
        [(http.address() as { port: number }).port, true],
      ]);
      // the HTTP server is the one to load, though the TCP one listened first
      expect(reportedListenTarget(out)).toEqual({ host: '127.0.0.1', port: (http.address() as { port: number }).port });
      await Promise.all([closing(tcp), closing(http)]);
    });
  }

  it('connects to loopback for the wildcard addresses', () => {
    expect(connectHost('0.0.0.0')).toBe('127.0.0.1');
    expect(connectHost('::')).toBe('127.0.0.1');
    expect(connectHost('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(connectHost('::1')).toBe('::1');
    expect(connectHost('10.1.2.3')).toBe('10.1.2.3');
    expect(reportedListenTarget(join(tmp, 'nothing-here'))).toBeNull();
  });
});

describe('looplens profile of an app that ignores $PORT (built CLI)', () => {
  it('is loaded on the port it listens on, without --port, and says so in one line', async () => {
    const own = await freePort();
    let admin = await freePort();
    while (admin === own) admin = await freePort();
    const out = join(tmp, 'own');
    const r = await runCli(['profile', '--path', '/', '--duration', '2', '--warmup', '1', '-c', '2', '--ready-timeout', '20', '--out', out, '--', 'node', OWN_PORT_APP], {
      OWN_PORT: String(own),
      OWN_ADMIN_PORT: String(admin),
      // the admin socket listens alone for a while: it must not be taken for the app's server
      OWN_HTTP_DELAY_MS: '600',
    });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const info = readRunInfo(out);
    expect(info.complete, info.reason).toBe(true);
    const notes = (info.notes ?? []).filter((n) => n.includes('of its own'));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(new RegExp(`^the app listens on 127\\.0\\.0\\.1:${own} of its own, not on PORT \\d+: it was loaded there$`));
    expect(r.stdout).toContain(`note: ${notes[0]}`);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.overall.requests).toBeGreaterThan(20);
    expect(summary.overall.non2xx + summary.overall.errors, JSON.stringify(summary.overall)).toBe(0);
    // both servers reported, the plain TCP one first; the HTTP one was loaded
    expect(readListen(out).servers.map((s) => [s.port, s.http])).toEqual([
      [admin, false],
      [own, true],
    ]);
  });

  it('an app on PORT gets no note, and its listen.json names PORT', async () => {
    const out = join(tmp, 'on-port');
    const r = await runCli(['profile', '--path', '/', '--duration', '1', '--warmup', '0', '-c', '1', '--out', out, '--', 'node', FIXTURE]);
    expect(r.code, r.stderr).toBe(0);
    expect((readRunInfo(out).notes ?? []).filter((n) => n.includes('of its own'))).toEqual([]);
    expect(hasFile(out, 'listen')).toBe(true);
    expect(readListen(out).servers).toHaveLength(1);
  });

  it('an app that never listens: APP_NOT_LISTENING names --port and --ready-timeout', async () => {
    const out = join(tmp, 'silent');
    const r = await runCli(['profile', '--path', '/', '--ready-timeout', '3', '--out', out, '--', 'node', FIXTURE], { FIXTURE_MODE: 'silent' });
    expect(r.code).toBe(1);
    const [line] = errorLines(r.stderr);
    expect(line).toMatch(/^looplens: the app did not accept connections on 127\.0\.0\.1:\d+ within 3 s, and started listening on no port of its own — .*--port.*--ready-timeout.* \[APP_NOT_LISTENING\]$/);
  });
});
