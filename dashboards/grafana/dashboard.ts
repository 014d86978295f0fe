/**
 * The Grafana dashboard (dashboards/grafana/looplens.json) as code: every metric name comes from metrics.ts through
 * prom(), so the dashboard cannot query a metric the probes do not emit. Regenerate the JSON after a change:
 *   npx tsx dashboards/grafana/dashboard.ts
 * (test/dashboards/grafana.test.ts fails when the committed JSON and this file disagree).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { prom } from './metrics.js';

/** The uid the provisioned Prometheus datasource has (provisioning/datasources/prometheus.yml). */
export const DATASOURCE_UID = 'looplens-prometheus';
export const DASHBOARD_UID = 'looplens-runtime';

const DS = { type: 'prometheus', uid: DATASOURCE_UID };
const SEL = 'job=~"$job"';
const RATE = '$__rate_interval';

interface Target {
  expr: string;
  legend: string;
}

type Unit = 's' | 'percentunit' | 'bytes' | 'reqps' | 'ops' | 'short';

let nextId = 1;
let y = 0;

function row(title: string): Record<string, unknown> {
  const panel = { id: nextId++, type: 'row', title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] };
  y += 1;
  return panel;
}

function timeseries(title: string, description: string, unit: Unit, targets: Target[], x: number, w: number, opts: { stack?: boolean; max?: number } = {}) {
  return {
    id: nextId++,
    type: 'timeseries',
    title,
    description,
    datasource: DS,
    gridPos: { h: 8, w, x, y },
    fieldConfig: {
      defaults: {
        unit,
        min: 0,
        ...(opts.max !== undefined ? { max: opts.max } : {}),
        custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: opts.stack ? 30 : 8, showPoints: 'never', stacking: { mode: opts.stack ? 'normal' : 'none', group: 'A' } },
      },
      overrides: [],
    },
    options: { legend: { displayMode: 'table', placement: 'bottom', calcs: ['mean', 'max', 'lastNotNull'] }, tooltip: { mode: 'multi', sort: 'desc' } },
    targets: targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), datasource: DS, expr: t.expr, legendFormat: t.legend, range: true })),
  };
}

function stat(title: string, description: string, unit: Unit, expr: string, x: number, thresholds: [number, string][]) {
  return {
    id: nextId++,
    type: 'stat',
    title,
    description,
    datasource: DS,
    gridPos: { h: 4, w: 6, x, y },
    fieldConfig: {
      defaults: {
        unit,
        thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }, ...thresholds.map(([value, color]) => ({ color, value }))] },
      },
      overrides: [],
    },
    options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'area', textMode: 'auto' },
    targets: [{ refId: 'A', datasource: DS, expr, legendFormat: title, range: true }],
  };
}

const q = (p: number, bucket: string, by: string) => `histogram_quantile(${p}, sum by (le${by ? ', ' + by : ''}) (rate(${bucket}{${SEL}}[${RATE}])))`;

export function buildDashboard(): Record<string, unknown> {
  nextId = 1;
  y = 0;
  const httpBucket = prom('http.server.request.duration', 'bucket');
  const httpCount = prom('http.server.request.duration', 'count');
  const panels: Record<string, unknown>[] = [];

  panels.push(
    stat('Event-loop delay p99', 'Latest p99 of monitorEventLoopDelay (nodejs.eventloop.delay.p99).', 's', `max(${prom('nodejs.eventloop.delay.p99')}{${SEL}})`, 0, [
      [0.02, 'orange'],
      [0.1, 'red'],
    ]),
    stat('Event-loop utilization', 'Share of time the loop was busy (nodejs.eventloop.utilization).', 'percentunit', `max(${prom('nodejs.eventloop.utilization')}{${SEL}})`, 6, [
      [0.7, 'orange'],
      [0.9, 'red'],
    ]),
    stat('Requests per second', 'All routes (http.server.request.duration count).', 'reqps', `sum(rate(${httpCount}{${SEL}}[${RATE}]))`, 12, []),
    stat('HTTP p95', 'All routes (http.server.request.duration).', 's', q(0.95, httpBucket, ''), 18, [
      [0.25, 'orange'],
      [1, 'red'],
    ]),
  );
  y += 4;

  panels.push(row('Event loop'));
  panels.push(
    timeseries(
      'Event-loop delay',
      'nodejs.eventloop.delay.* — how late timers fire. A blocked loop shows as p99/max spikes; min ≈ the timer resolution when idle.',
      's',
      (['p50', 'p90', 'p99', 'max'] as const).map((s) => ({ expr: `max by (job) (${prom(`nodejs.eventloop.delay.${s}`)}{${SEL}})`, legend: `{{job}} ${s}` })),
      0,
      12,
    ),
    timeseries(
      'Event-loop utilization',
      'nodejs.eventloop.utilization — 1 means the loop never waited for I/O.',
      'percentunit',
      [{ expr: `max by (job, instance) (${prom('nodejs.eventloop.utilization')}{${SEL}})`, legend: '{{job}} {{instance}}' }],
      12,
      12,
      { max: 1 },
    ),
  );
  y += 8;
  panels.push(
    timeseries(
      'Event-loop time: active vs idle',
      'rate(nodejs.eventloop.time) by nodejs.eventloop.state: seconds per second the loop spent running callbacks vs waiting.',
      's',
      [{ expr: `sum by (nodejs_eventloop_state) (rate(${prom('nodejs.eventloop.time')}{${SEL}}[${RATE}]))`, legend: '{{nodejs_eventloop_state}}' }],
      0,
      12,
      { stack: true },
    ),
    timeseries(
      'Delay spread',
      'Mean, standard deviation and minimum of the event-loop delay.',
      's',
      (['mean', 'stddev', 'min'] as const).map((s) => ({ expr: `max by (job) (${prom(`nodejs.eventloop.delay.${s}`)}{${SEL}})`, legend: `{{job}} ${s}` })),
      12,
      12,
    ),
  );
  y += 8;

  panels.push(row('HTTP server'));
  panels.push(
    timeseries(
      'Latency p95 by route',
      'http.server.request.duration, by method and route template.',
      's',
      [{ expr: q(0.95, httpBucket, 'http_request_method, http_route'), legend: '{{http_request_method}} {{http_route}}' }],
      0,
      12,
    ),
    timeseries(
      'Requests per second by route',
      'Rate of http.server.request.duration observations.',
      'reqps',
      [{ expr: `sum by (http_request_method, http_route) (rate(${httpCount}{${SEL}}[${RATE}]))`, legend: '{{http_request_method}} {{http_route}}' }],
      12,
      12,
    ),
  );
  y += 8;
  panels.push(
    timeseries(
      'Latency percentiles (all routes)',
      'p50, p95, p99 of http.server.request.duration.',
      's',
      [0.5, 0.95, 0.99].map((p) => ({ expr: q(p, httpBucket, ''), legend: `p${Math.round(p * 100)}` })),
      0,
      8,
    ),
    timeseries(
      'Server errors (5xx) per second',
      'http.server.request.duration observations with a 5xx status.',
      'reqps',
      [{ expr: `sum by (http_route) (rate(${httpCount}{${SEL}, http_response_status_code=~"5.."}[${RATE}]))`, legend: '{{http_route}}' }],
      8,
      8,
    ),
    timeseries(
      'Outgoing HTTP p95 by server',
      'http.client.request.duration: the calls the app makes to other services.',
      's',
      [{ expr: q(0.95, prom('http.client.request.duration', 'bucket'), 'server_address'), legend: '{{server_address}}' }],
      16,
      8,
    ),
  );
  y += 8;

  panels.push(row('PostgreSQL'));
  const dbBucket = prom('db.client.operation.duration', 'bucket');
  panels.push(
    timeseries('Query duration p95 by operation', 'db.client.operation.duration (instrumentation-pg).', 's', [{ expr: q(0.95, dbBucket, 'db_operation_name'), legend: '{{db_operation_name}}' }], 0, 8),
    timeseries(
      'Queries per second',
      'Rate of db.client.operation.duration observations; compare with requests per second for queries per request.',
      'ops',
      [{ expr: `sum by (db_operation_name) (rate(${prom('db.client.operation.duration', 'count')}{${SEL}}[${RATE}]))`, legend: '{{db_operation_name}}' }],
      8,
      8,
    ),
    timeseries(
      'Pool connections',
      'db.client.connection.count by state, the pool maximum and requests waiting for a connection.',
      'short',
      [
        { expr: `sum by (db_client_connection_state) (${prom('db.client.connection.count')}{${SEL}})`, legend: '{{db_client_connection_state}}' },
        { expr: `sum(${prom('db.client.connection.max')}{${SEL}})`, legend: 'max' },
        { expr: `sum(${prom('db.client.connection.pending_requests')}{${SEL}})`, legend: 'pending' },
      ],
      16,
      8,
    ),
  );
  y += 8;

  panels.push(row('V8: garbage collection and heap'));
  const gcSum = prom('v8js.gc.duration', 'sum');
  panels.push(
    timeseries('GC time per second by type', 'rate of v8js.gc.duration sum: seconds of GC per second.', 's', [{ expr: `sum by (v8js_gc_type) (rate(${gcSum}{${SEL}}[${RATE}]))`, legend: '{{v8js_gc_type}}' }], 0, 8, { stack: true }),
    timeseries('GC pause p99', 'v8js.gc.duration p99 by type.', 's', [{ expr: q(0.99, prom('v8js.gc.duration', 'bucket'), 'v8js_gc_type'), legend: '{{v8js_gc_type}}' }], 8, 8),
    timeseries(
      'Heap used by space',
      'v8js.memory.heap.used by v8js.heap.space.name.',
      'bytes',
      [{ expr: `sum by (v8js_heap_space_name) (${prom('v8js.memory.heap.used')}{${SEL}})`, legend: '{{v8js_heap_space_name}}' }],
      16,
      8,
      { stack: true },
    ),
  );
  y += 8;
  panels.push(
    timeseries(
      'Heap: size, used, available',
      'Summed over spaces: v8js.memory.heap.space.size, v8js.memory.heap.used, v8js.memory.heap.space.available_size, v8js.memory.heap.space.physical_size.',
      'bytes',
      [
        { expr: `sum(${prom('v8js.memory.heap.space.size')}{${SEL}})`, legend: 'size' },
        { expr: `sum(${prom('v8js.memory.heap.used')}{${SEL}})`, legend: 'used' },
        { expr: `sum(${prom('v8js.memory.heap.space.available_size')}{${SEL}})`, legend: 'available' },
        { expr: `sum(${prom('v8js.memory.heap.space.physical_size')}{${SEL}})`, legend: 'physical' },
      ],
      0,
      12,
    ),
    timeseries(
      'Active resources by type',
      'v8js.resource.active: handles and requests keeping the process alive (timers, sockets, …).',
      'short',
      [{ expr: `sum by (v8js_resource_type) (${prom('v8js.resource.active')}{${SEL}})`, legend: '{{v8js_resource_type}}' }],
      12,
      12,
    ),
  );
  y += 8;
  // what diagnose's gc-pressure and memory-growth rules read from a run, live: GC's share of the time, heap growth
  panels.push(
    timeseries(
      'GC share of the time',
      'seconds of GC per second (rate of v8js.gc.duration sum) per process: looplens diagnose names the top allocators (gc-pressure) at 20 % of a run.',
      'percentunit',
      [{ expr: `sum by (job, instance) (rate(${gcSum}{${SEL}}[${RATE}]))`, legend: '{{job}} {{instance}}' }],
      0,
      12,
      { max: 1 },
    ),
    timeseries(
      'Heap used growth per second',
      'deriv of v8js.memory.heap.used summed over spaces, over 5 minutes: a heap that keeps growing under steady load is what memory-growth names (its allocation site is in the run\'s heap.heapprofile).',
      'bytes',
      [{ expr: `deriv(sum by (job, instance) (${prom('v8js.memory.heap.used')}{${SEL}})[5m:])`, legend: '{{job}} {{instance}}' }],
      12,
      12,
    ),
  );
  y += 8;

  return {
    uid: DASHBOARD_UID,
    title: 'looplens — Node.js runtime, HTTP and PostgreSQL',
    description: 'OpenTelemetry semantic-convention metrics from the looplens probes (OTLP → Prometheus). See dashboards/README.md.',
    tags: ['looplens', 'nodejs', 'opentelemetry'],
    editable: true,
    graphTooltip: 1,
    refresh: '5s',
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-15m', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    annotations: { list: [] },
    links: [],
    templating: {
      list: [
        {
          name: 'job',
          label: 'Service',
          type: 'query',
          datasource: DS,
          query: { query: `label_values(${prom('nodejs.eventloop.utilization')}, job)`, refId: 'job' },
          definition: `label_values(${prom('nodejs.eventloop.utilization')}, job)`,
          refresh: 2,
          includeAll: true,
          multi: true,
          allValue: '.*',
          current: { selected: true, text: ['All'], value: ['$__all'] },
          sort: 1,
        },
      ],
    },
    panels,
  };
}

export function dashboardJson(): string {
  return JSON.stringify(buildDashboard(), null, 2) + '\n';
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = fileURLToPath(new URL('./looplens.json', import.meta.url)).replace(/[\\/]dist[\\/]dashboards[\\/]/, '/dashboards/');
  writeFileSync(out, dashboardJson());
  console.log(`wrote ${out}`);
}
