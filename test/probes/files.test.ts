/**
 * The run files the probes write, read after the child exits: blocking.json against the contract schema,
 * traces.jaeger.json in the Jaeger UI's file format with the blocked-loop event as a log and waited_ms on the
 * requests that waited, OTLP JSON, eventloop.jsonl, profile.cpuprofile — and no authorization or cookie value
 * anywhere.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readBlocking, readCpuProfile, readEventLoop, readJaeger, readOtlpTraces } from '../../profiles/contract/read.js';
import { validateBlocking } from '../../profiles/contract/validate.js';
import type { JaegerFile, JaegerSpan } from '../../profiles/contract/types.js';
import { load, runFixture, SECRET_AUTH, SECRET_COOKIE, type FixtureRun } from './harness.js';

let run: FixtureRun;
let jaeger: JaegerFile;

beforeAll(async () => {
  run = await runFixture({
    app: 'fastify-app.mjs',
    preload: 'esm',
    // the on-demand detector (the default span profile times every callback instead), so armed is reported
    env: { LOOPLENS_SERVICE_NAME: 'probe-files-test', LOOPLENS_BLOCK_DETECT: 'auto' },
    warmup: ['/clean', '/busy/1'],
    load: (port) => load(port, ['/busy/1', '/clean', '/clean', '/timer', '/clean'], { connections: 6, durationS: 3 }),
  });
  jaeger = readJaeger(run.out);
});

describe('probe run files', () => {
  it('exit by the re-raised SIGINT (the app has no handler of its own)', () => {
    expect(run.signal, run.stderr).toBe('SIGINT');
  });

  it('blocking.json matches the contract schema and names the blocking function', () => {
    const raw = JSON.parse(readFileSync(join(run.out, 'blocking.json'), 'utf8'));
    expect(validateBlocking(raw)).toBeNull();
    const blocking = readBlocking(run.out);
    expect(blocking.events.length).toBeGreaterThan(5);
    // /busy blocks every few requests, so the on-demand detector armed and stayed armed for much of the load.
    expect(blocking.armed?.count).toBeGreaterThanOrEqual(1);
    expect(blocking.armed?.totalMs).toBeGreaterThan(500);
    for (const e of blocking.events.filter((e) => e.route === 'GET /busy/:id' && e.startMs >= run.loadStartMs)) {
      expect(e.topFrame).toMatch(/^busyLoop \(test\/probes\/fixtures\/work\.mjs:\d+\)$/);
      expect(e.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(e.spanId).toMatch(/^[0-9a-f]{16}$/);
      const app = e.frames.find((f) => f.functionName === 'busyLoop');
      expect(app?.url).toMatch(/^file:\/\/.*\/work\.mjs$/);
      expect(app?.lineNumber).toBeGreaterThan(0);
    }
  });

  it('traces.jaeger.json: every span has a process, µs times, CHILD_OF links inside its trace', () => {
    expect(jaeger.data.length).toBeGreaterThan(10);
    for (const trace of jaeger.data) {
      const ids = new Set(trace.spans.map((s) => s.spanID));
      for (const span of trace.spans) {
        expect(trace.processes[span.processID]).toBeDefined();
        expect(trace.processes[span.processID].serviceName).toBe('probe-files-test');
        expect(span.traceID).toBe(trace.traceID);
        // µs since the epoch: 2001..2286
        expect(span.startTime).toBeGreaterThan(1e15);
        expect(span.startTime).toBeLessThan(1e16);
        expect(Number.isInteger(span.duration)).toBe(true);
        for (const ref of span.references) {
          expect(ref.refType).toBe('CHILD_OF');
          expect(ref.traceID).toBe(trace.traceID);
          expect(ids.has(ref.spanID)).toBe(true);
        }
      }
    }
  });

  it('the blocked-loop event is a span log with duration_ms, top_frame and stack; waiting requests carry waited_ms', () => {
    const spans = jaeger.data.flatMap((t) => t.spans);
    const isBlocked = (l: JaegerSpan['logs'][number]) => l.fields.some((f) => f.key === 'event' && f.value === 'looplens.eventloop.blocked');
    const field = (l: JaegerSpan['logs'][number], k: string) => l.fields.find((f) => f.key === k)?.value;
    const blocked = spans.flatMap((s) => s.logs.filter(isBlocked).map((log) => ({ span: s, log })));
    expect(blocked.length).toBeGreaterThan(5);
    for (const { log } of blocked) {
      expect(field(log, 'duration_ms')).toBeGreaterThanOrEqual(20);
      expect(String(field(log, 'top_frame'))).toMatch(/^\S+ \(.+:\d+\)$/);
      expect(String(field(log, 'stack'))).toMatch(/^at /);
    }
    // The busy route's handler span carries its loop: busyLoop on top, the stack naming it.
    const busy = blocked.filter(({ span }) => span.tags.some((t) => t.key === 'http.route' && t.value === '/busy/:id'));
    expect(busy.length).toBeGreaterThan(5);
    const named = busy.filter(({ log }) => /^busyLoop \(/.test(String(field(log, 'top_frame'))));
    expect(named.length / busy.length).toBeGreaterThanOrEqual(0.9);
    for (const { log } of named) expect(String(field(log, 'stack'))).toContain('at busyLoop (file://');
    const waited = spans.filter((s) => s.tags.some((t) => t.key === 'looplens.eventloop.waited_ms'));
    expect(waited.length).toBeGreaterThan(5);
    const servers = spans.filter((s) => s.tags.some((t) => t.key === 'span.kind' && t.value === 'server'));
    expect(servers.some((s) => s.operationName === 'GET /busy/:id')).toBe(true);
  });

  it('never records authorization or cookie values', () => {
    for (const file of ['traces.otlp.json', 'traces.jaeger.json', 'blocking.json']) {
      const text = readFileSync(join(run.out, file), 'utf8');
      expect(text).not.toContain('SECRET-TOKEN');
      expect(text).not.toContain('SECRET-COOKIE');
      expect(text).not.toContain(SECRET_AUTH);
      expect(text).not.toContain(SECRET_COOKIE);
      expect(text).not.toMatch(/"(http\.request\.header\.)?(authorization|cookie)"/i);
    }
  });

  it('traces.otlp.json is OTLP JSON with the service name', () => {
    const otlp = readOtlpTraces(run.out) as { resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] } }[] };
    expect(otlp.resourceSpans.length).toBeGreaterThan(0);
    const name = otlp.resourceSpans[0].resource.attributes.find((a) => a.key === 'service.name');
    expect(name?.value.stringValue).toBe('probe-files-test');
  });

  it('eventloop.jsonl has a sample a second with delay percentiles and utilization', () => {
    const samples = readEventLoop(run.out);
    expect(samples.length).toBeGreaterThanOrEqual(3);
    for (const s of samples) {
      expect(s.t).toBeGreaterThan(1.6e12);
      expect(s.utilization).toBeGreaterThanOrEqual(0);
      expect(s.utilization).toBeLessThanOrEqual(1);
      expect(s.delayMs.p99).toBeGreaterThanOrEqual(s.delayMs.p50);
      expect(s.delayMs.max).toBeGreaterThanOrEqual(s.delayMs.p99);
    }
    // The busy route blocks for 40 ms at a time: some second must show it.
    expect(Math.max(...samples.map((s) => s.delayMs.max))).toBeGreaterThan(20);
  });

  it('profile.cpuprofile is a V8 CPU profile', () => {
    const profile = readCpuProfile(run.out) as { nodes: unknown[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };
    expect(profile.nodes.length).toBeGreaterThan(10);
    expect(profile.samples.length).toBe(profile.timeDeltas.length);
    // Sampled every 5 ms by default (LOOPLENS_CPU_PROFILE_INTERVAL_US): the samples cover the run at about that rate
    // (a loaded machine can delay the sampler thread, never speed it up).
    const deltas = [...profile.timeDeltas].sort((a, b) => a - b);
    const median = deltas[deltas.length >> 1];
    expect(median).toBeGreaterThanOrEqual(4500);
    expect(median).toBeLessThan(20_000);
    expect(profile.samples.length).toBeGreaterThan(Math.max(300, (0.3 * (profile.endTime - profile.startTime)) / 5000));
  });
});
