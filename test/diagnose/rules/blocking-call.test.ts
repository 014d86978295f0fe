import { describe, expect, it } from 'vitest';
import { blockingCall, classifyBlocker, parseTopFrame } from '../../../scripts/diagnose/rules/blocking-call.js';
import { TraceBuilder, blockingEvent, summaryWith } from '../builder.js';

const frames = (...fs: [string, string, number?][]) => fs.map(([functionName, url, lineNumber]) => ({ functionName, url, lineNumber }));

describe('rule: blocking call', () => {
  it('names the function, its file:line, ms per request and share of blocked time', () => {
    const events = [
      ...Array.from({ length: 40 }, () => blockingEvent('GET /users/:id/timeline', 'querySync (file:///app/db/sync-client.js:42)', 30, frames(['querySync', 'file:///app/db/sync-client.js', 42]))),
      ...Array.from({ length: 10 }, () => blockingEvent('POST /posts', 'render (file:///app/views.js:7)', 30, frames(['render', 'file:///app/views.js']))),
    ];
    const findings = blockingCall.detect(new TraceBuilder().input({ blocking: { thresholdMs: 20, events }, summary: summaryWith({ 'GET /users/:id/timeline': 100, 'POST /posts': 20 }) }));
    expect(findings).toHaveLength(2);
    const sync = findings.find((f) => f.route === 'GET /users/:id/timeline')!;
    expect(sync.evidence).toMatchObject({ function: 'querySync', file: '/app/db/sync-client.js', line: 42, blocker: 'sync-db-driver', events: 40, msPerRequest: 12, requests: 100, sameStackShare: 100 });
    expect(sync.evidence.shareOfBlockedTime).toBeCloseTo(80, 0);
    expect(sync.savingMsPerRequest).toBe(12);
    expect(sync.title).toContain('querySync');
    expect(sync.key).toBe('blocking-call GET /users/:id/timeline querySync (sync-client.js)');
    expect(sync.fix).toMatch(/asynchronous driver/);
    const cpu = findings.find((f) => f.route === 'POST /posts')!;
    expect(cpu.evidence).toMatchObject({ blocker: 'cpu-loop', msPerRequest: 15 });
  });

  it('does not mistake a CPU-starved process for a blocker (scattered stacks, a few requests)', () => {
    const scattered = ['mainFetch', 'nextTick', 'onRequestHeaders', 'writev', 'lookup', 'consumeBody'].map((fn) =>
      blockingEvent('POST /publish', 'getJson (file:///app/a.js:51)', 40, frames([fn, 'node:internal/deps/undici/undici'])),
    );
    const few = Array.from({ length: 4 }, () => blockingEvent('GET /b', 'render (file:///app/a.js:71)', 30, frames(['render', 'file:///app/a.js'])));
    const writes = Array.from({ length: 20 }, () => blockingEvent('GET /c', 'send (file:///app/a.js:71)', 30, frames(['writev', ''], ['Socket._writeGeneric', 'node:net'])));
    const summary = summaryWith({ 'POST /publish': 20, 'GET /b': 20, 'GET /c': 20 });
    expect(blockingCall.detect(new TraceBuilder().input({ blocking: { thresholdMs: 20, events: [...scattered, ...few, ...writes] }, summary }))).toEqual([]);
  });

  it('keeps a write that a *Sync call made (fs.writeSync blocks for real)', () => {
    const events = Array.from({ length: 10 }, () => blockingEvent('GET /log', 'log (file:///app/a.js:9)', 30, frames(['writeBuffer', ''], ['writeSync', 'node:fs'], ['log', 'file:///app/a.js'])));
    const [f] = blockingCall.detect(new TraceBuilder().input({ blocking: { thresholdMs: 20, events }, summary: summaryWith({ 'GET /log': 10 }) }));
    expect(f!.evidence).toMatchObject({ blocker: 'sync-fs', function: 'log' });
  });

  it('ignores rare or negligible blocks', () => {
    const events = [blockingEvent('GET /a', 'f (file:///a.js:1)', 40), blockingEvent('GET /a', 'f (file:///a.js:1)', 40), ...Array.from({ length: 5 }, () => blockingEvent('GET /b', 'g (file:///b.js:1)', 21))];
    const findings = blockingCall.detect(new TraceBuilder().input({ blocking: { thresholdMs: 20, events }, summary: summaryWith({ 'GET /a': 10, 'GET /b': 1000 }) }));
    expect(findings).toEqual([]); // 2 events on /a; 0.1 ms per request on /b
    expect(blockingCall.detect(new TraceBuilder().input({ blocking: null }))).toEqual([]);
  });

  it('recognises the kind of blocker from the stack', () => {
    expect(classifyBlocker(frames(['gzipSync', 'node:zlib'], ['send', 'file:///app/server.js']), 'send (file:///app/server.js:3)')).toBe('sync-zlib');
    expect(classifyBlocker(frames(['readFileSync', 'node:fs']), 'load (file:///app/a.js:1)')).toBe('sync-fs');
    expect(classifyBlocker(frames(['pbkdf2Sync', 'node:internal/crypto/pbkdf2']), 'hash (file:///app/a.js:1)')).toBe('sync-crypto');
    expect(classifyBlocker(frames(['execSync', 'node:child_process']), 'run (file:///app/a.js:1)')).toBe('sync-child-process');
    expect(classifyBlocker(frames(['parse', ''], ['handler', 'file:///app/a.js']), 'handler (file:///app/a.js:1)')).toBe('json');
    expect(classifyBlocker(frames(['exec', ''], ['check', 'file:///app/a.js']), 'check (file:///app/a.js:1)')).toBe('regex');
    expect(classifyBlocker(frames(['wait', ''], ['runSync', 'file:///app/db/blocking-client.js']), 'runSync (file:///app/db/blocking-client.js:9)')).toBe('sync-db-driver');
    expect(classifyBlocker([], 'fib (file:///app/a.js:1)')).toBe('cpu-loop');
  });

  it('recognises a synchronous database driver by its queries running inside the block, whatever it is called', () => {
    const t = new TraceBuilder();
    const requests = t.requests(10, 'GET', '/users/:id/timeline', 100, 40, (r) => {
      for (let i = 0; i < 10; i++) r.query('SELECT name FROM users WHERE id = $1', 2 + i * 3, 2.5);
    });
    // The loop is held from 1 ms to 33 ms of each request: the ten queries ran inside it.
    const events = requests.map((r) => ({
      ...blockingEvent('GET /users/:id/timeline', 'run (file:///app/db/client.js:12)', 32, frames(['run', 'file:///app/db/client.js']), r.server.startMs + 1),
      traceId: r.traceId,
    }));
    const [f] = blockingCall.detect(t.input({ blocking: { thresholdMs: 20, events } }));
    expect(f!.evidence).toMatchObject({ blocker: 'sync-db-driver', function: 'run', requests: 10, msPerRequest: 32 });
    expect(f!.evidence.dbShareOfBlock as number).toBeGreaterThan(70);
    // The same block with the queries outside it (an async driver, the block is something else): not a DB driver.
    const later = events.map((e) => ({ ...e, startMs: e.startMs + 100 }));
    expect(blockingCall.detect(t.input({ blocking: { thresholdMs: 20, events: later } }))[0]!.evidence.blocker).toBe('cpu-loop');
  });

  it('names the synchronous API the app called, not the plumbing under it', () => {
    const root = 'file:///srv/app/';
    const bridge = ['callSync', `${root}dist/lib/blocking-bridge.js`, 39] as [string, string, number];
    const query = frames(bridge, ['', `${root}dist/db/sync-client.js`, 80], ['traced', `${root}dist/db/sync-client.js`, 50], ['querySync', `${root}dist/db/sync-client.js`, 79], ['findUser', `${root}dist/stages/baseline.js`, 17], ['runMicrotasks', '']);
    const end = frames(bridge, ['endSync', `${root}dist/db/sync-client.js`, 93], ['withDb', `${root}dist/stages/baseline.js`, 28], ['runMicrotasks', '']);
    const events = [0, 1, 2, 3, 4, 5].map((i) => blockingEvent('GET /t', 'callSync (dist/lib/blocking-bridge.js:39)', 30, i < 4 ? query : end));
    const [f] = blockingCall.detect(new TraceBuilder().input({ blocking: { thresholdMs: 20, events }, summary: summaryWith({ 'GET /t': 6 }) }));
    expect(f!.title).toMatch(/^querySync\/endSync \(dist\/db\/sync-client\.js\) blocks the event loop 30 ms per GET \/t/);
    expect(f!.evidence).toMatchObject({ function: 'querySync', file: 'dist/db/sync-client.js', line: 79, syncCalls: ['querySync', 'endSync'] });
  });

  it('names frames of a compiled app at their source positions, relative to the app folder (no dist/, no absolute path)', () => {
    // blocking.json after the runner mapped it: the top frame at its source, each frame's original position beside it
    const root = '/srv/app/';
    const at = (functionName: string, js: string, line: number, ts: string, tsLine: number) => ({
      functionName,
      url: `file://${root}dist/${js}`,
      lineNumber: line,
      columnNumber: 1,
      original: { url: `${root}${ts}`, lineNumber: tsLine, columnNumber: 1 },
    });
    const stack = [
      at('callSync', 'lib/blocking-bridge.js', 39, 'lib/blocking-bridge.ts', 57),
      at('querySync', 'db/sync-client.js', 79, 'db/sync-client.ts', 101),
      at('findUser', 'stages/baseline.js', 17, 'stages/baseline.ts', 22),
      { functionName: 'runMicrotasks', url: '', lineNumber: 0, columnNumber: 0 },
    ];
    const events = Array.from({ length: 6 }, () => blockingEvent('GET /t', 'callSync (lib/blocking-bridge.ts:57)', 30, stack));
    const [f] = blockingCall.detect(new TraceBuilder().input({ blocking: { thresholdMs: 20, events }, summary: summaryWith({ 'GET /t': 6 }) }));
    expect(f!.title).toMatch(/^querySync \(db\/sync-client\.ts:101\) blocks the event loop 30 ms per GET \/t/);
    expect(f!.evidence).toMatchObject({ function: 'querySync', file: 'db/sync-client.ts', line: 101, caller: 'findUser (stages/baseline.ts:22)' });
    // the compiled location is kept beside the source one, in its own field, relative like the rest
    const { compiledAt, ...rest } = f!.evidence;
    expect(compiledAt).toBe('querySync (dist/db/sync-client.js:79)');
    expect(JSON.stringify({ ...f, evidence: rest })).not.toMatch(/dist\/|\/srv\/app/);
  });

  it('charges blocks to the route\'s requests as every view counts them: the load generator\'s when it drove the route, else the traced ones', () => {
    const t = new TraceBuilder();
    t.requests(10, 'GET', '/x', 10, 5);
    const events = Array.from({ length: 40 }, () => blockingEvent('GET /x', 'f (file:///app/a.js:1)', 30, frames(['f', 'file:///app/a.js'])));
    const traced = blockingCall.detect(t.input({ blocking: { thresholdMs: 20, events } }));
    expect(traced[0]!.evidence).toMatchObject({ requests: 10, msPerRequest: 120 });
    const loaded = t.input({ blocking: { thresholdMs: 20, events }, summary: summaryWith({ 'GET /x': 100 }) });
    expect(blockingCall.detect(loaded)[0]!.evidence).toMatchObject({ requests: 100, msPerRequest: 12 });
    // the same figure as the route's blocked ms per request in the evidence (what summary.json shows)
    expect(loaded.measured.routes.find((r) => r.route === 'GET /x')!.blockedMsPerRequest).toBe(12);
  });

  it('parses top frames', () => {
    expect(parseTopFrame('querySync (/app/db.js:42:7)')).toEqual({ fn: 'querySync', file: '/app/db.js', line: 42 });
    expect(parseTopFrame('(anonymous) (file:///app/a.js:3)')).toEqual({ fn: '(anonymous)', file: 'file:///app/a.js', line: 3 });
    expect(parseTopFrame('weird')).toEqual({ fn: 'weird', file: '', line: null });
  });
});
