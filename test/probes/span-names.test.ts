/**
 * Outgoing HTTP spans are named by their target ("POST /clean"), not by the method alone, through node:http and
 * fetch (undici) alike, the query string left out; server spans keep their own names.
 */
import { describe, expect, it } from 'vitest';
import { readTraces } from '../../profiles/contract/index.js';
import { runFixture } from './harness.js';

describe('span names', () => {
  it('an outgoing call is named "<METHOD> <path>" (node:http and fetch)', async () => {
    const run = await runFixture({ app: 'http-app.mjs', preload: 'esm', env: { LOOPLENS_CPU_PROFILE: '0' }, warmup: ['/calls', '/calls'] });
    const spans = readTraces(run.out).spans;
    const clients = spans.filter((s) => s.kind === 'client' && (s.attributes['http.request.method'] ?? s.attributes['http.method']) !== undefined);
    const names = new Set(clients.map((s) => s.name));
    expect(names).toEqual(new Set(['POST /clean', 'GET /timer']));
    // the server spans of those calls are the app's own (named by the instrumentation, method first)
    expect(spans.filter((s) => s.kind === 'server').every((s) => /^(GET|POST)\b/.test(s.name))).toBe(true);
  });
});
