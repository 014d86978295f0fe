/**
 * Live export under the production preset, against a real OTLP/HTTP receiver this test starts: a local HTTP server
 * that decodes what the OpenTelemetry SDK's exporters send (OTLP/JSON to /v1/logs and /v1/metrics). The blocks arrive
 * as log records with their route and function, the loop metrics under their semantic-convention names, and the
 * blocked time by route — from the Fastify fixture whose /busy/:id and /late routes block.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBlocking } from '../../profiles/contract/index.js';
import { BLOCKED_EVENT, BLOCKED_EVENT_FIELDS, BLOCKED_LOG_ATTRIBUTES, LOOP_METRICS } from '../../profiles/contract/semconv.js';
import { load, runFixture, type FixtureRun } from './harness.js';

interface KeyValue {
  key: string;
  value: { stringValue?: string; doubleValue?: number; intValue?: number | string };
}
const attr = (list: KeyValue[] | undefined, key: string) => {
  const v = list?.find((a) => a.key === key)?.value;
  return v ? (v.stringValue ?? v.doubleValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined)) : undefined;
};

const received: { path: string; body: any; contentType: string }[] = [];
let receiver: Server;
let endpoint = '';
let run: FixtureRun;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      received.push({ path: req.url ?? '', body: JSON.parse(text), contentType: String(req.headers['content-type']) });
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  run = await runFixture({
    // an app with no SIGINT handler of its own: the probes send what is batched before the signal ends it
    app: 'fastify-app.mjs',
    preload: 'esm',
    env: { LOOPLENS_PRESET: 'production', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_METRIC_EXPORT_INTERVAL: '1000', OTEL_SERVICE_NAME: 'export-test' },
    warmup: ['/clean', '/busy/1', '/late'],
    load: (port) => load(port, ['/busy/1', '/late', '/clean', '/timer'], { connections: 4, durationS: 3 }),
  });
}, 60_000);

afterAll(() => new Promise<void>((r) => receiver.close(() => r())));

describe('live export under the production preset (OTLP/HTTP)', () => {
  it('sends every block as a log record with its route and function, before the app exits', () => {
    expect(run.signal ?? run.exitCode, run.stderr).toSatisfy((v) => v === 0 || v === 'SIGINT');
    const logs = received.filter((r) => r.path === '/v1/logs');
    expect(logs.length, received.map((r) => r.path).join(' ')).toBeGreaterThan(0);
    expect(logs[0]!.contentType).toMatch(/json/);
    const records = logs.flatMap((l) => l.body.resourceLogs.flatMap((rl: any) => rl.scopeLogs.flatMap((sl: any) => sl.logRecords.map((lr: any) => ({ ...lr, resource: rl.resource })))));
    const blocked = records.filter((r: any) => r.eventName === BLOCKED_EVENT || r.body?.stringValue === BLOCKED_EVENT);
    const events = readBlocking(run.out).events;
    expect(blocked.length).toBe(events.length);
    for (const e of events) {
      const r = blocked.find((x: any) => attr(x.attributes, BLOCKED_EVENT_FIELDS.blockId) === e.id);
      expect(r, e.id).toBeDefined();
      // (a block of no request — start-up, GC — has no route attributes)
      const [method, route] = e.route ? e.route.split(' ') : [undefined, undefined];
      expect(attr(r.attributes, BLOCKED_LOG_ATTRIBUTES.method)).toBe(method);
      expect(attr(r.attributes, BLOCKED_LOG_ATTRIBUTES.route)).toBe(route);
      expect(attr(r.attributes, BLOCKED_EVENT_FIELDS.topFrame)).toBe(e.topFrame);
      expect(attr(r.attributes, BLOCKED_EVENT_FIELDS.durationMs)).toBeCloseTo(e.durationMs, 1);
      expect(attr(r.resource.attributes, 'service.name')).toBe('export-test');
      expect(String(attr(r.resource.attributes, 'service.instance.id'))).toMatch(/\/\d+$/);
    }
    const inRequests = blocked.filter((r: any) => attr(r.attributes, BLOCKED_LOG_ATTRIBUTES.route) !== undefined);
    const routes = new Set(inRequests.map((r: any) => attr(r.attributes, BLOCKED_LOG_ATTRIBUTES.route)));
    expect([...routes].sort()).toEqual(['/busy/:id', '/late']);
    expect(inRequests.every((r: any) => /^busyLoop \(/.test(String(attr(r.attributes, BLOCKED_EVENT_FIELDS.topFrame))))).toBe(true);
    // nothing of the requests' headers (the load sends an authorization header and a cookie)
    expect(JSON.stringify(records)).not.toMatch(/SECRET/);
  });

  it('sends the loop metrics under their semantic-convention names, and blocked time by route', () => {
    const metrics = received
      .filter((r) => r.path === '/v1/metrics')
      .flatMap((m) => m.body.resourceMetrics.flatMap((rm: any) => rm.scopeMetrics.flatMap((sm: any) => sm.metrics)));
    const names = new Set(metrics.map((m: any) => m.name));
    for (const k of ['min', 'max', 'mean', 'p50', 'p90', 'p99']) expect(names, [...names].join(' ')).toContain(`${LOOP_METRICS.delayPrefix}.${k}`);
    expect(names).toContain(LOOP_METRICS.utilization);
    expect(metrics.find((m: any) => m.name === `${LOOP_METRICS.delayPrefix}.p99`).unit).toBe('s');
    const blocked = metrics.filter((m: any) => m.name === LOOP_METRICS.blockedTime);
    expect(blocked.length).toBeGreaterThan(0);
    // cumulative sums: the last export holds the run's total per route
    const last = blocked[blocked.length - 1];
    const byRoute = new Map<string, number>();
    for (const p of last.sum.dataPoints) byRoute.set(String(attr(p.attributes, BLOCKED_LOG_ATTRIBUTES.route)), p.asDouble);
    const events = readBlocking(run.out).events;
    for (const route of ['/busy/:id', '/late']) {
      const total = events.filter((e) => e.route === `GET ${route}`).reduce((a, e) => a + e.durationMs, 0) / 1000;
      expect(byRoute.get(route), route).toBeCloseTo(total, 2);
    }
  });
});
