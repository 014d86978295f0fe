/** The probes' pure parts: config from env, NODE_OPTIONS, stacks from a CPU profile, OTLP → Jaeger. */
import { describe, expect, it } from 'vitest';
import { readConfig, threadFacts } from '../../probes/config.js';
import { parseTraceparent, sampled } from '../../probes/request-identity.js';
import { withProbeNodeOptions } from '../../probes/node-options.js';
import { indexProfile, longestBusyStretch, stackInWindow, type CpuProfile } from '../../probes/blocking/stacks.js';
import { otlpToJaeger } from '../../profiles/contract/jaeger.js';
import { ArmingMonitor } from '../../probes/blocking/arming.js';
import { openRunQueueClock } from '../../probes/blocking/runqueue.js';

const facts = { pid: 100, argv: ['/usr/bin/node', '/app/server.js'], isMainThread: true, isClusterWorker: false };

describe('readConfig', () => {
  it('defaults and the run folder', () => {
    const c = readConfig({ LOOPLENS_OUT: '/tmp/run' }, facts);
    // the span profile (every CPU sample charged to its request) needs every callback timed: the detector runs always
    expect(c).toMatchObject({ out: '/tmp/run', thresholdMs: 20, tracing: true, cpuProfile: true, cpuProfileIntervalUs: 5000, spanProfile: true, blockDetect: 'always' });
  });
  it('the on-demand detector when asked for, or when the span profile is off', () => {
    expect(readConfig({ LOOPLENS_OUT: '/r', LOOPLENS_BLOCK_DETECT: 'auto' }, facts)).toMatchObject({ spanProfile: false, blockDetect: 'auto' });
    expect(readConfig({ LOOPLENS_OUT: '/r', LOOPLENS_SPAN_PROFILE: '0' }, facts)).toMatchObject({ spanProfile: false, blockDetect: 'auto' });
    expect(readConfig({ LOOPLENS_OUT: '/r', LOOPLENS_TRACING: '0' }, facts)).toMatchObject({ spanProfile: false, blockDetect: 'auto' });
  });
  it('off without LOOPLENS_OUT, in internal threads (loader hooks, the probes’ own), with a bad preset and in launchers', () => {
    expect(readConfig({}, facts).out).toBeNull();
    expect(readConfig({ LOOPLENS_OUT: '/r' }, { ...facts, isMainThread: false, isInternalThread: true }).out).toBeNull();
    const bad = readConfig({ LOOPLENS_OUT: '/r', LOOPLENS_PRESET: 'prod' }, facts);
    expect(bad.out).toBeNull();
    expect(bad.offReason).toBe('LOOPLENS_PRESET=prod is not a preset (known: production)');
    expect(readConfig({ LOOPLENS_OUT: '/r' }, { ...facts, argv: ['node', '/x/node_modules/tsx/dist/cli.mjs'] }).out).toBeNull();
  });
  it('worker threads: their own folder, every callback timed, no tracing', () => {
    const c = readConfig({ LOOPLENS_OUT: '/r' }, { ...facts, isMainThread: false, threadId: 3 });
    expect(c).toMatchObject({ out: '/r/threads/100-3', workerThread: true, tracing: false, blockDetect: 'always', spanProfile: false });
    // Node's loader-hooks thread has no parentPort; the watchdog says so in its workerData
    expect(threadFacts({ isMainThread: false, threadId: 1, parentPort: null, workerData: null }).isInternalThread).toBe(true);
    expect(threadFacts({ isMainThread: false, threadId: 2, parentPort: {}, workerData: { looplensProbe: true } }).isInternalThread).toBe(true);
    expect(threadFacts({ isMainThread: false, threadId: 2, parentPort: {}, workerData: { task: 1 } }).isInternalThread).toBe(false);
    expect(readConfig({ LOOPLENS_OUT: '/r', LOOPLENS_THREADS: '0' }, { ...facts, isMainThread: false, threadId: 3 }).out).toBeNull();
  });
  it('the production preset: no OpenTelemetry SDK, on-demand detection, 1 % sampled, bounded', () => {
    const c = readConfig({ LOOPLENS_OUT: '/r', LOOPLENS_PRESET: 'production', LOOPLENS_TRACING: '1' }, facts);
    expect(c).toMatchObject({ preset: 'production', tracing: false, spanProfile: false, blockDetect: 'auto', traceSampleRate: 0.01, rotateS: 60, maxBlocks: 10_000, maxSpans: 2_000 });
    expect(readConfig({ LOOPLENS_OUT: '/r', LOOPLENS_PRESET: 'production', LOOPLENS_TRACE_SAMPLE_RATE: '0.5' }, facts).traceSampleRate).toBe(0.5);
    expect(readConfig({ LOOPLENS_OUT: '/r' }, facts)).toMatchObject({ preset: null, rotateS: 0 });
  });
  it('traceparent and trace-id sampling', () => {
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7' });
    expect(parseTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBeNull();
    expect(parseTraceparent('garbage')).toBeNull();
    expect(parseTraceparent(['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'])).toBeNull();
    // decided on the trace id's last 8 hex digits: the same for every instance that sees the trace
    expect(sampled('4bf92f3577b34da6a3ce929d00000010', 0.01)).toBe(true);
    expect(sampled('4bf92f3577b34da6a3ce929dffffff00', 0.01)).toBe(false);
    expect(sampled(null, 0)).toBe(false);
    expect(sampled(null, 1)).toBe(true);
  });
  it('cluster workers and child processes get their own folders', () => {
    expect(readConfig({ LOOPLENS_OUT: '/r' }, { ...facts, isClusterWorker: true }).out).toBe('/r/workers/100');
    expect(readConfig({ LOOPLENS_OUT: '/r', LOOPLENS_PROBE_PID: '7' }, facts).out).toBe('/r/children/100');
  });
  it('reads the switches', () => {
    const c = readConfig(
      { LOOPLENS_OUT: '/r', LOOPLENS_TRACING: '0', LOOPLENS_BLOCK_THRESHOLD_MS: '50', LOOPLENS_BLOCK_DETECT: 'always', LOOPLENS_OTEL_INSTRUMENTATIONS: 'fs, dns' },
      facts,
    );
    expect(c).toMatchObject({ tracing: false, thresholdMs: 50, blockDetect: 'always', extraInstrumentations: ['fs', 'dns'] });
  });
  it('samples a quarter of the threshold (1–5 ms) unless the interval is set', () => {
    const interval = (env: Record<string, string>) => readConfig({ LOOPLENS_OUT: '/r', ...env }, facts).cpuProfileIntervalUs;
    expect(interval({})).toBe(5000);
    expect(interval({ LOOPLENS_BLOCK_THRESHOLD_MS: '10' })).toBe(2500);
    expect(interval({ LOOPLENS_BLOCK_THRESHOLD_MS: '3' })).toBe(1000);
    expect(interval({ LOOPLENS_BLOCK_THRESHOLD_MS: '200' })).toBe(5000);
    expect(interval({ LOOPLENS_BLOCK_THRESHOLD_MS: '3', LOOPLENS_CPU_PROFILE_INTERVAL_US: '500' })).toBe(500);
  });
});

describe('withProbeNodeOptions', () => {
  it('appends to the app’s own NODE_OPTIONS, once', () => {
    const once = withProbeNodeOptions('--max-old-space-size=512', 'esm');
    expect(once).toMatch(/^--max-old-space-size=512 --import=file:\/\/.*\/dist\/probes\/register\.js$/);
    expect(withProbeNodeOptions(once, 'esm')).toBe(once);
    expect(withProbeNodeOptions(undefined, 'cjs')).toMatch(/^--require=.*\/dist\/probes\/preload\.cjs$/);
  });
});

/** A profile: root → main (app) → work (app) → pbkdf2Sync (node:) ; plus idle and GC nodes. */
function profile(samples: number[]): CpuProfile {
  const frame = (functionName: string, url: string, lineNumber = 9) => ({ functionName, url, lineNumber, columnNumber: 4 });
  return {
    nodes: [
      { id: 1, callFrame: frame('(root)', '', -1), children: [2, 5, 6] },
      { id: 2, callFrame: frame('main', 'file:///app/server.js', 3), children: [3] },
      { id: 3, callFrame: frame('work', 'file:///app/work.js', 12), children: [4] },
      { id: 4, callFrame: frame('pbkdf2Sync', 'node:internal/crypto/pbkdf2', 40) },
      { id: 5, callFrame: frame('(idle)', '', -1) },
      { id: 6, callFrame: frame('(garbage collector)', '', -1) },
    ],
    startTime: 1000,
    endTime: 1000 + samples.length * 1000,
    samples,
    timeDeltas: samples.map(() => 1000),
  };
}

/** The same nodes, sampled at the given times (µs): [time, node id]. */
function profileAt(samples: [number, number][]): CpuProfile {
  const base = profile([]);
  return { ...base, startTime: 0, endTime: samples[samples.length - 1]![0], samples: samples.map(([, id]) => id), timeDeltas: samples.map(([t], i) => t - (i ? samples[i - 1]![0] : 0)) };
}

describe('stacks from a CPU profile', () => {
  it('names the JS caller of a native *Sync call, innermost app frame first', () => {
    const idx = indexProfile(profile([5, 4, 4, 4, 3, 5]));
    const s = stackInWindow(idx, 2000, 6000, { cwd: '/app' });
    expect(s.topFrame).toBe('work (work.js:13)');
    expect(s.frames.map((f) => f.functionName)).toEqual(['pbkdf2Sync', 'work', 'main']);
    expect(s.frames[1]).toEqual({ functionName: 'work', url: 'file:///app/work.js', lineNumber: 13, columnNumber: 5 });
  });
  it('says garbage collector when GC dominates, and no samples when there are none', () => {
    const idx = indexProfile(profile([6, 6, 6, 3, 5]));
    expect(stackInWindow(idx, 2000, 5000, { cwd: '/app' }).topFrame).toBe('(garbage collector)');
    expect(stackInWindow(idx, 90_000, 95_000, { cwd: '/app' }).topFrame).toBe('(no samples)');
  });
  it('finds the longest busy stretch between idle samples', () => {
    const idx = indexProfile(profile([5, 3, 3, 5, 4, 4, 4, 4, 5]));
    expect(longestBusyStretch(idx, 0, 20_000, 5000)).toEqual([6000, 9000]);
  });
  it('starts a new stretch at each break (a request that started): back-to-back requests are not one block', () => {
    const idx = indexProfile(profile([5, 3, 3, 5, 4, 4, 4, 4, 5]));
    expect(longestBusyStretch(idx, 0, 20_000, 5000, { breaksUs: [8500] })).toEqual([6000, 8000]);
    // each request alone is shorter than the stretch before them
    expect(longestBusyStretch(idx, 0, 20_000, 5000, { breaksUs: [6500, 7500, 8500] })).toEqual([3000, 4000]);
    // a break before the stretch began changes nothing
    expect(longestBusyStretch(idx, 0, 20_000, 5000, { breaksUs: [5500] })).toEqual([6000, 9000]);
  });
  it('does not end a stretch at a gap in the samples the loop was held through (a mark in it, or the thread off the CPU)', () => {
    // busy 1–3 ms and 10–12 ms, nothing sampled in between (the sampler missed it, or the OS took the thread away)
    const idx = indexProfile(profileAt([[1000, 4], [2000, 4], [3000, 4], [10_000, 4], [11_000, 4], [12_000, 4], [13_000, 5]]));
    expect(longestBusyStretch(idx, 0, 20_000, 5000)).toEqual([1000, 3000]);
    expect(longestBusyStretch(idx, 0, 20_000, 5000, { bridgesUs: [6000] })).toEqual([1000, 12_000]);
    expect(longestBusyStretch(idx, 0, 20_000, 5000, { offCpuUs: 7000 })).toEqual([1000, 12_000]);
    expect(longestBusyStretch(idx, 0, 20_000, 5000, { offCpuUs: 6000 })).toEqual([1000, 3000]);
    // a break still ends it
    expect(longestBusyStretch(idx, 0, 20_000, 5000, { bridgesUs: [6000], breaksUs: [9000] })).toEqual([1000, 3000]);
  });
});

describe('otlpToJaeger', () => {
  const otlp = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }, { key: 'host.name', value: { stringValue: 'h' } }] },
        scopeSpans: [
          {
            scope: { name: '@opentelemetry/instrumentation-http', version: '1' },
            spans: [
              {
                traceId: 'a'.repeat(32), spanId: '1'.repeat(16), name: 'GET /x', kind: 2,
                startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000050000000',
                attributes: [{ key: 'http.route', value: { stringValue: '/x' } }, { key: 'looplens.eventloop.waited_ms', value: { doubleValue: 12.5 } }],
                events: [{ timeUnixNano: '1700000000010000000', name: 'looplens.eventloop.blocked', attributes: [{ key: 'duration_ms', value: { doubleValue: 40 } }] }],
                status: { code: 2, message: 'boom' },
              },
              {
                traceId: 'a'.repeat(32), spanId: '2'.repeat(16), parentSpanId: '1'.repeat(16), name: 'pg.query', kind: 3,
                startTimeUnixNano: 1700000000001000000, endTimeUnixNano: 1700000000002000000,
              },
              {
                traceId: 'a'.repeat(32), spanId: '3'.repeat(16), parentSpanId: '9'.repeat(16), name: 'orphan', kind: 1,
                startTimeUnixNano: '1700000000003000000', endTimeUnixNano: '1700000000004000000',
              },
            ],
          },
        ],
      },
    ],
  };
  const jaeger = otlpToJaeger(otlp);
  const spans = jaeger.data[0].spans;
  it('groups by trace with one process per service, times in µs', () => {
    expect(jaeger.data).toHaveLength(1);
    expect(jaeger.data[0].processes).toEqual({ p1: { serviceName: 'api', tags: [{ key: 'host.name', type: 'string', value: 'h' }] } });
    expect(spans[0]).toMatchObject({ operationName: 'GET /x', startTime: 1700000000000000, duration: 50000, processID: 'p1' });
  });
  it('parents as CHILD_OF inside the trace; a missing parent becomes a warning, not a dangling link', () => {
    expect(spans.find((s) => s.spanID === '2'.repeat(16))!.references).toEqual([{ refType: 'CHILD_OF', traceID: 'a'.repeat(32), spanID: '1'.repeat(16) }]);
    const orphan = spans.find((s) => s.operationName === 'orphan')!;
    expect(orphan.references).toEqual([]);
    expect(orphan.warnings?.[0]).toContain('9999999999999999');
  });
  it('events become logs named by an "event" field; kind, status and attributes become tags', () => {
    expect(spans[0].logs).toEqual([
      { timestamp: 1700000000010000, fields: [{ key: 'event', type: 'string', value: 'looplens.eventloop.blocked' }, { key: 'duration_ms', type: 'float64', value: 40 }] },
    ]);
    const tag = (k: string) => spans[0].tags.find((t) => t.key === k);
    expect(tag('span.kind')?.value).toBe('server');
    expect(tag('error')?.value).toBe(true);
    expect(tag('looplens.eventloop.waited_ms')).toEqual({ key: 'looplens.eventloop.waited_ms', type: 'float64', value: 12.5 });
  });
});

describe('ArmingMonitor', () => {
  const runQueue = openRunQueueClock();
  // Spins until `ms` have passed on the wall clock and the process has run for `ms` of CPU (a loaded machine lengthens
  // the spin but never shortens it; CPU alone is not enough: process CPU time also counts other threads, GC's included).
  const spin = (ms: number) => {
    const cpu = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    const endCpu = cpu() + ms;
    const endWall = performance.now() + ms;
    while (cpu() < endCpu || performance.now() < endWall);
  };
  const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('arms on a late tick, with the window and the requests that started in it', async () => {
    let arms = 0;
    const monitor = new ArmingMonitor({
      thresholdMs: 20,
      onArm: () => arms++,
      onDisarm: () => {},
      ownWork: () => {},
      requestStartsIn: (from, to) => [from + 1, to - 1],
      // the machine's own stalls (time waiting for a CPU) do not arm it before the spin
      runQueueWaitMs: runQueue?.read,
    });
    monitor.start();
    await settle(15);
    spin(60);
    await settle(30);
    monitor.stop();
    expect(arms).toBe(1);
    expect(monitor.isArmed).toBe(true);
    const w = monitor.unarmedWindows[0];
    expect(w.to - w.from).toBeGreaterThanOrEqual(60);
    expect(w.requestStarts).toEqual([w.from + 1, w.to - 1]);
    // Still armed: the current arming counts, from the late tick that armed it to now.
    const stats = monitor.armedStats();
    expect(stats.count).toBe(1);
    expect(stats.totalMs).toBeGreaterThan(0);
    expect(stats.totalMs).toBeLessThanOrEqual(Math.ceil(performance.now() - w.to) + 1);
  });

  it('does not arm when the lateness is time the thread waited for a CPU', async () => {
    let arms = 0;
    // A run-queue clock that says the thread waited the whole time: no lateness is the app's.
    const monitor = new ArmingMonitor({ thresholdMs: 20, onArm: () => arms++, onDisarm: () => {}, ownWork: () => {}, runQueueWaitMs: () => performance.now() });
    monitor.start();
    await settle(30);
    spin(60);
    await settle(30);
    monitor.stop();
    runQueue?.close();
    expect(arms).toBe(0);
    expect(monitor.unarmedWindows).toEqual([]);
    expect(monitor.armedStats()).toEqual({ count: 0, totalMs: 0 });
  });
});
