/**
 * The external-services stand-in (latency, failures, hangs) and the app's client of it (timeouts, keep-alive,
 * failures counted and never thrown), plus the bounded background work of the parallel stages.
 */
import { describe, expect, it } from 'vitest';
import { BackgroundWork } from '../../target-app/lib/background.js';
import { silentLogger } from '../../target-app/lib/log.js';
import { UpstreamClient } from '../../target-app/upstream/client.js';
import { DEFAULT_LATENCY_MS, NO_RATES, parsePerEndpoint } from '../../target-app/upstream/config.js';
import { hostedImageUrl } from '../../target-app/upstream/server.js';
import { distFile, run, startUpstream, stop } from './helpers.js';

describe('upstream stand-in and client', () => {
  it('parses per-endpoint settings and names the bad part', () => {
    expect(parsePerEndpoint('X', undefined, DEFAULT_LATENCY_MS, { min: 0, max: 1e5 })).toEqual({ images: 300, notify: 200, index: 150 });
    expect(parsePerEndpoint('X', 'notify=0.5, index=1', NO_RATES, { min: 0, max: 1 })).toEqual({ images: 0, notify: 0.5, index: 1 });
    expect(() => parsePerEndpoint('UPSTREAM_FAILURE_RATE', 'notify=2', NO_RATES, { min: 0, max: 1 })).toThrow('UPSTREAM_FAILURE_RATE: notify must be a number from 0 to 1, got "2"');
    expect(() => parsePerEndpoint('X', 'email=1', NO_RATES, { min: 0, max: 1 })).toThrow(/"email=1" is not <endpoint>=<number>/);
  });

  it('answers after the configured latency, fails and hangs at the configured rates; the client counts, never throws', async () => {
    const up = await startUpstream({ latencyMs: { images: 60, notify: 0, index: 0 }, failureRate: { notify: 1 }, timeoutRate: { index: 1 } });
    const client = new UpstreamClient({ baseUrl: up.url, keepAlive: false, log: silentLogger, timeoutMs: 300 });
    try {
      let t = performance.now();
      expect(await client.uploadImage('https://images.example/a.jpg')).toBe(hostedImageUrl('https://images.example/a.jpg'));
      expect(performance.now() - t).toBeGreaterThanOrEqual(55);
      expect(await client.notify({ userId: 1, postId: 1 })).toBe(false);
      t = performance.now();
      expect(await client.index({ postId: 1, content: 'x' })).toBe(false); // hangs: the client gives up at 300 ms
      expect(performance.now() - t).toBeGreaterThanOrEqual(290);
      expect(client.stats()).toEqual({
        calls: 3,
        failures: 2,
        byEndpoint: { images: { calls: 1, failures: 0 }, notify: { calls: 1, failures: 1 }, index: { calls: 1, failures: 1 } },
      });
      expect(up.upstream.stats()).toMatchObject({ calls: { images: 1, notify: 1, index: 1 }, failures: { notify: 1 }, timeouts: { index: 1 } });
    } finally {
      client.close();
      await up.close();
    }
    const gone = new UpstreamClient({ baseUrl: up.url, keepAlive: true, log: silentLogger });
    expect(await gone.notify({ userId: 1, postId: 1 })).toBe(false); // refused: counted, not thrown
    expect(gone.stats().failures).toBe(1);
    gone.close();
  });

  it('keep-alive reuses one connection; without it every call opens a new one', async () => {
    const up = await startUpstream({ latencyMs: { images: 0, notify: 0, index: 0 } });
    let connections = 0;
    up.upstream.server.on('connection', () => connections++);
    try {
      for (const keepAlive of [false, true]) {
        connections = 0;
        const client = new UpstreamClient({ baseUrl: up.url, keepAlive, log: silentLogger });
        for (let i = 0; i < 5; i++) expect(await client.notify({ userId: 1, postId: i })).toBe(true);
        client.close();
        expect({ keepAlive, connections }).toEqual({ keepAlive, connections: keepAlive ? 1 : 5 });
      }
    } finally {
      await up.close();
    }
  });

  it('background work is bounded, counts failures and drops, and never rejects unhandled', async () => {
    const work = new BackgroundWork({ log: silentLogger, maxInFlight: 2 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    expect(work.run('a', () => gate)).toBe(true);
    expect(work.run('b', () => gate.then(() => Promise.reject(new Error('boom'))))).toBe(true);
    expect(work.run('c', () => gate)).toBe(false);
    expect(work.stats()).toEqual({ running: 2, done: 0, failed: 0, dropped: 1 });
    release();
    await work.drain(1000);
    expect(work.stats()).toEqual({ running: 0, done: 1, failed: 1, dropped: 1 });
    expect(work.run('sync throw', () => {
      throw new Error('thrown before any promise');
    })).toBe(true);
    await work.drain(1000);
    expect(work.stats().failed).toBe(2);
  });

  it('upstream/main.js prints its URL, rejects a bad setting in one line, and exits 0 on SIGTERM', async () => {
    const main = distFile('target-app/upstream/main.js');
    const up = run([main], { PORT: '0', UPSTREAM_FAILURE_RATE: 'notify=1' });
    const [, url] = await up.waitFor(/^upstream listening on (http:\/\/127\.0\.0\.1:\d+)$/m);
    const res = await fetch(`${url}/notify`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect([res.status, await res.json()]).toEqual([503, { error: 'Service Unavailable', message: 'injected notify failure' }]);
    expect(await stop(up)).toEqual({ code: 0, signal: null });
    const bad = run([main], { PORT: '0', UPSTREAM_LATENCY_MS: 'images=fast' });
    expect((await bad.exited).code).toBe(2);
    expect(bad.stderr()).toBe('upstream: UPSTREAM_LATENCY_MS: images must be a number from 0 to 60000, got "fast"\n');
  });
});
