/**
 * Synthetic run and lab folders for the dashboard tests, written through profiles/contract's writers from its types.
 * Deterministic (seeded PRNG). `hostile` puts markup and script into every string that comes from run data.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mulberry32 } from '../../target-app/lib/random.js';
import {
  LAB_FILES,
  RUN_FILES,
  appendJsonLine,
  writeJsonAtomic,
  writeRunJson,
  type BlockingEvent,
  type BlockingFile,
  type EventLoopSample,
  type JaegerFile,
  type JaegerSpan,
  type JaegerTag,
  type JaegerTrace,
  type LabFile,
  type RequestStats,
  type RunInfo,
  type Summary,
} from '../../profiles/contract/index.js';

/** Every payload sets window.__xss when it runs; the browser test checks it never does. */
export const HOSTILE = {
  route: `GET /users/<img src=x onerror="window.__xss=1">`,
  fn: `<script>window.__xss=2</script>handler`,
  url: `file:///app/"><svg onload="window.__xss=3">.js`,
  statement: `</script><script>window.__xss=4</script>SELECT 1`,
  note: `<iframe src="javascript:window.top.__xss=5"></iframe>`,
  runId: `run-<img src=x onerror=window.__xss=6>`,
  stage: `"><b onmouseover=window.__xss=7>x`,
};

export const STAGES = ['baseline', 'async-db', 'parallel', 'pooled', 'cached'] as const;

export const prng: (seed: number) => () => number = mulberry32;

const hex = (rand: () => number, n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');

function stats(rand: () => number, rps: number, p50: number, requests: number): RequestStats {
  const j = () => 1 + rand() * 0.1;
  return {
    requests,
    rps,
    latencyMs: { p50: p50 * j(), p90: p50 * 2 * j(), p95: p50 * 2.6 * j(), p99: p50 * 4 * j(), max: p50 * 7 * j() },
    non2xx: 0,
    errors: 0,
  };
}

export interface RunSpec {
  id: string;
  stage?: string;
  /** Relative speed: 1 = baseline; higher = faster. */
  speed: number;
  routes: string[];
  blocking: boolean;
  hostile: boolean;
  seed: number;
  startMs: number;
  flamegraph?: boolean;
  /** Write no optional files (eventloop, blocking, traces, flamegraph). */
  bare?: boolean;
}

const tag = (key: string, value: string | number | boolean): JaegerTag => ({
  key,
  type: typeof value === 'number' ? (Number.isInteger(value) ? 'int64' : 'float64') : typeof value === 'boolean' ? 'bool' : 'string',
  value,
});

/** Traces for one run: `perRoute` requests per route, each a server span with db/cache/http children. */
export function makeJaeger(spec: RunSpec, perRoute = 3): { file: JaegerFile; blocking: BlockingEvent[] } {
  const rand = prng(spec.seed + 1);
  const data: JaegerTrace[] = [];
  const blocking: BlockingEvent[] = [];
  let t = spec.startMs * 1000 + 2_000_000;
  for (const route of spec.routes) {
    const [method, path] = [route.split(' ')[0], route.slice(route.indexOf(' ') + 1)];
    for (let r = 0; r < perRoute; r++) {
      const traceID = hex(rand, 32);
      const spans: JaegerSpan[] = [];
      const rootId = hex(rand, 16);
      const base = t;
      t += 50_000;
      const children: JaegerSpan[] = [];
      const child = (name: string, startOff: number, dur: number, tags: JaegerTag[], parent = rootId): JaegerSpan => {
        const s: JaegerSpan = {
          traceID,
          spanID: hex(rand, 16),
          operationName: name,
          references: [{ refType: 'CHILD_OF', traceID, spanID: parent }],
          startTime: Math.round(base + startOff),
          duration: Math.round(dur),
          tags,
          logs: [],
          processID: 'p1',
        };
        children.push(s);
        return s;
      };
      const slow = 1 / spec.speed;
      const handler = child(`request handler - fastify -> ${path}`, 300, 1000, [tag('span.kind', 'internal'), tag('http.route', path)]);
      let off = 500;
      const queries = spec.speed < 2 ? 6 : 1;
      for (let q = 0; q < queries; q++) {
        const d = (2000 + rand() * 3000) * slow;
        child('pg.query:SELECT looplens', off, d, [
          tag('span.kind', 'client'),
          tag('db.system', 'postgresql'),
          tag('db.statement', spec.hostile && q === 0 ? HOSTILE.statement : `SELECT * FROM posts WHERE user_id = $1 LIMIT 20 -- ${q}`),
        ], handler.spanID);
        off += spec.speed < 2 ? d + 200 : 0;
      }
      child('redis-GET', off, 400 + rand() * 300, [tag('span.kind', 'client'), tag('db.system', 'redis')], handler.spanID);
      off += 800;
      const ext = (5000 + rand() * 4000) * slow;
      // named as the probes name an outgoing call (its target); the slowest request of a blocking run's last route failed
      const failed = spec.blocking && r === perRoute - 1 && route === spec.routes[spec.routes.length - 1];
      child('GET /images/1', off, ext, [tag('span.kind', 'client'), tag('http.request.method', 'GET'), tag('url.full', 'http://127.0.0.1:7101/images/1'), ...(failed ? [tag('otel.status_code', 'ERROR'), tag('http.response.status_code', 503)] : [])], handler.spanID);
      off += ext + 300;
      let dur = off + 500 + r * 3000 * slow;
      if (spec.blocking && r === perRoute - 1) {
        // The slowest request of the route blocked the loop: once in blocking.json, once more as a span log only.
        const blockStart = Math.round(base + off);
        const blockUs = 40_000 + Math.round(rand() * 20_000);
        dur += blockUs + 8000;
        const frameFn = spec.hostile ? HOSTILE.fn : 'readFileSync';
        blocking.push({
          startMs: blockStart / 1000,
          durationMs: blockUs / 1000,
          route,
          traceId: traceID,
          spanId: handler.spanID,
          topFrame: `${frameFn} (${spec.hostile ? HOSTILE.url : 'file:///app/dist/target-app/db/sync-client.js'}:42)`,
          frames: [
            { functionName: frameFn, url: spec.hostile ? HOSTILE.url : 'file:///app/dist/target-app/db/sync-client.js', lineNumber: 42, columnNumber: 7 },
            { functionName: 'timeline', url: 'file:///app/dist/target-app/server.js', lineNumber: 120, columnNumber: 3 },
          ],
        });
        handler.logs.push({
          timestamp: blockStart,
          fields: [tag('event', 'looplens.eventloop.blocked'), tag('duration_ms', blockUs / 1000), tag('top_frame', `${frameFn} (sync-client.js:42)`), tag('stack', 'readFileSync\ntimeline')],
        });
        const second = blockStart + blockUs + 2000;
        handler.logs.push({
          timestamp: second,
          fields: [tag('event', 'looplens.eventloop.blocked'), tag('duration_ms', 5), tag('top_frame', 'JSON.stringify (server.js:130)')],
        });
      }
      handler.duration = Math.round(dur - 400);
      const root: JaegerSpan = {
        traceID,
        spanID: rootId,
        operationName: `${method} ${path}`,
        references: [],
        startTime: Math.round(base),
        duration: Math.round(dur),
        tags: [tag('span.kind', 'server'), tag('http.request.method', method), tag('http.route', path), tag('http.response.status_code', 200)],
        logs: [],
        processID: 'p1',
      };
      spans.push(root, ...children);
      data.push({ traceID, spans, processes: { p1: { serviceName: 'target-app', tags: [tag('stage', spec.stage ?? 'app')] } } });
    }
  }
  return { file: { data }, blocking };
}

/** Writes one run folder through the contract's writers; returns its summary. */
export function buildRun(dir: string, spec: RunSpec): Summary {
  const rand = prng(spec.seed);
  mkdirSync(dir, { recursive: true });
  const durationS = 10;
  const routes: Record<string, RequestStats> = {};
  let total = 0;
  spec.routes.forEach((r, i) => {
    const rps = Math.round(40 * spec.speed * (1 + i * 0.3) * (1 + rand() * 0.1));
    routes[r] = stats(rand, rps, (30 + i * 20) / spec.speed, rps * durationS);
    total += rps;
  });
  const { file: jaeger, blocking } = makeJaeger(spec);
  const blockedTotal = blocking.reduce((a, e) => a + e.durationMs, 0);
  const summary: Summary = {
    overall: stats(rand, total, 40 / spec.speed, total * durationS),
    routes,
    eventLoop: { delayMs: { p50: 1 + 10 / spec.speed, p99: (spec.blocking ? 60 : 5) / Math.sqrt(spec.speed), max: spec.blocking ? 75 : 9 }, utilization: Math.min(0.98, 0.9 / Math.sqrt(spec.speed)) },
    blocking: { count: blocking.length, totalMs: blockedTotal, msPerRequest: blockedTotal / (total * durationS) },
    db: { queriesPerRequest: spec.speed < 2 ? 6.2 : spec.speed < 5 ? 1.4 : 0.3 },
  };
  const info: RunInfo = {
    schemaVersion: 1,
    id: spec.id,
    command: ['node', 'dist/target-app/main.js'],
    ...(spec.stage ? { stage: spec.stage } : {}),
    profiler: spec.flamegraph ? '0x' : 'none',
    load: { durationS, warmupS: 2, connections: 20, scenario: 'sns' },
    node: 'v20.20.2',
    platform: 'linux-x64',
    cpu: { model: 'Test CPU @ 2.0GHz', cores: 2 },
    startedAt: new Date(spec.startMs).toISOString(),
    endedAt: new Date(spec.startMs + (durationS + 3) * 1000).toISOString(),
    complete: true,
    ...(spec.flamegraph ? { profilerOutputs: ['0x/flamegraph.html', '../../../etc/passwd.html'] } : {}),
    notes: spec.hostile ? [HOSTILE.note] : [],
  };
  writeRunJson(dir, 'run', info);
  writeRunJson(dir, 'summary', summary);
  if (spec.bare) return summary;
  for (let s = 1; s <= durationS; s++) {
    // a blocking run's sampler was held up once (no sample at 5 s: 2 s between two samples), and one second the loop
    // never turned in (7 s: no timer fired, an empty histogram at utilization 1)
    if (spec.blocking && s === 5) continue;
    const spike = spec.blocking && s % 4 === 0;
    const p99 = spike ? 55 + rand() * 10 : (2 + rand() * 3) / Math.sqrt(spec.speed);
    const stalled = spec.blocking && s === 7;
    const sample: EventLoopSample = stalled
      ? { t: spec.startMs + s * 1000, delayMs: { min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 }, utilization: 1 }
      : {
          t: spec.startMs + s * 1000,
          delayMs: { min: 0.01, mean: p99 / 4, p50: p99 / 5, p90: p99 / 2, p99, max: p99 * 1.2 },
          utilization: Math.min(1, (spike ? 0.97 : 0.6 + rand() * 0.2) / Math.sqrt(spec.speed)),
        };
    appendJsonLine(join(dir, RUN_FILES.eventloop), sample);
  }
  const blockingFile: BlockingFile = { thresholdMs: 20, events: blocking };
  writeRunJson(dir, 'blocking', blockingFile);
  writeRunJson(dir, 'tracesJaeger', jaeger);
  if (spec.flamegraph) {
    mkdirSync(join(dir, '0x'), { recursive: true });
    const page = `<!doctype html><html><head><meta charset="utf-8"><title>flamegraph</title></head><body><h1>flamegraph of ${spec.id.replace(/[<>&"]/g, '_')}</h1></body></html>`;
    writeFileSync(join(dir, '0x', 'flamegraph.html'), page);
    writeFileSync(join(dir, RUN_FILES.flamegraph), page);
  }
  return summary;
}

export interface LabFixture {
  labDir: string;
  runDirs: string[];
  routes: string[];
}

/** A lab folder with the five target-app stages (and an optional hostile extra stage), each a full run folder. */
export function buildLab(parent: string, opts: { id?: string; hostile?: boolean; extraStage?: boolean; seed?: number } = {}): LabFixture {
  const id = opts.id ?? '2025-01-02T03-04-05-lab';
  const labDir = join(parent, id);
  const routes = ['GET /users/:id/timeline', 'POST /posts', 'GET /notifications', ...(opts.hostile ? [HOSTILE.route] : [])];
  const names: string[] = [...STAGES, ...(opts.extraStage ? [opts.hostile ? HOSTILE.stage : 'extra'] : [])];
  const startMs = Date.UTC(2025, 0, 2, 3, 4, 5);
  const stages: LabFile['stages'] = [];
  const runDirs: string[] = [];
  names.forEach((stage, i) => {
    const run = `${String(i + 1).padStart(2, '0')}-${stage.replace(/[^A-Za-z0-9-]/g, '_')}`;
    const dir = join(labDir, run);
    const summary = buildRun(dir, {
      id: run,
      stage,
      speed: [1, 1.6, 3, 4.5, 8, 2][i] ?? 2,
      routes,
      blocking: i === 0 || stage === HOSTILE.stage,
      hostile: !!opts.hostile,
      seed: (opts.seed ?? 7) * 100 + i,
      startMs: startMs + i * 20_000,
      flamegraph: true,
    });
    stages.push({ stage, run, summary });
    runDirs.push(dir);
  });
  const lab: LabFile = {
    id,
    startedAt: new Date(startMs).toISOString(),
    endedAt: new Date(startMs + names.length * 20_000).toISOString(),
    complete: true,
    settings: { profiler: '0x', load: { durationS: 10, warmupS: 2, connections: 20, scenario: 'sns' }, scale: 1000 },
    stages,
  };
  writeJsonAtomic(join(labDir, LAB_FILES.lab), lab);
  return { labDir, runDirs, routes };
}
