/**
 * The OpenTelemetry metrics the probes emit over OTLP (when OTEL_EXPORTER_OTLP_ENDPOINT is set), in one place, and
 * the rule by which Prometheus names them. The Grafana dashboard may query only these; test/dashboards/grafana.test.ts
 * checks every entry against the installed instrumentation packages' source (name, instrument kind, unit) and
 * against what a probed app really sends. When the probes enable or drop an instrumentation, change this list.
 */

export type InstrumentKind = 'gauge' | 'counter' | 'updowncounter' | 'histogram';

export interface EmittedMetric {
  /** OpenTelemetry (semantic-convention) name. */
  name: string;
  kind: InstrumentKind;
  /** UCUM unit as the instrumentation declares it. */
  unit: string;
  /** The npm package whose instrumentation creates it. */
  source: string;
  /** Attributes (OTel names) the dashboard groups or filters by. */
  attributes?: string[];
}

const RUNTIME = '@opentelemetry/instrumentation-runtime-node';
const HTTP = '@opentelemetry/instrumentation-http';
const PG = '@opentelemetry/instrumentation-pg';

export const EMITTED_METRICS: readonly EmittedMetric[] = [
  // Event loop (RuntimeNodeInstrumentation; monitorEventLoopDelay readings in seconds)
  ...(['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'] as const).map(
    (s): EmittedMetric => ({ name: `nodejs.eventloop.delay.${s}`, kind: 'gauge', unit: 's', source: RUNTIME }),
  ),
  { name: 'nodejs.eventloop.utilization', kind: 'gauge', unit: '1', source: RUNTIME },
  { name: 'nodejs.eventloop.time', kind: 'counter', unit: 's', source: RUNTIME, attributes: ['nodejs.eventloop.state'] },
  // V8: garbage collection and heap
  { name: 'v8js.gc.duration', kind: 'histogram', unit: 's', source: RUNTIME, attributes: ['v8js.gc.type'] },
  { name: 'v8js.memory.heap.used', kind: 'gauge', unit: 'By', source: RUNTIME, attributes: ['v8js.heap.space.name'] },
  { name: 'v8js.memory.heap.space.size', kind: 'updowncounter', unit: 'By', source: RUNTIME, attributes: ['v8js.heap.space.name'] },
  { name: 'v8js.memory.heap.space.available_size', kind: 'gauge', unit: 'By', source: RUNTIME, attributes: ['v8js.heap.space.name'] },
  { name: 'v8js.memory.heap.space.physical_size', kind: 'gauge', unit: 'By', source: RUNTIME, attributes: ['v8js.heap.space.name'] },
  { name: 'v8js.resource.active', kind: 'gauge', unit: '{resource}', source: RUNTIME, attributes: ['v8js.resource.type'] },
  // HTTP (stable semantic conventions: instrumentation-http ≥ 0.2xx emits only these)
  {
    name: 'http.server.request.duration',
    kind: 'histogram',
    unit: 's',
    source: HTTP,
    attributes: ['http.request.method', 'http.route', 'http.response.status_code'],
  },
  { name: 'http.client.request.duration', kind: 'histogram', unit: 's', source: HTTP, attributes: ['server.address', 'http.response.status_code'] },
  // PostgreSQL client (instrumentation-pg)
  { name: 'db.client.operation.duration', kind: 'histogram', unit: 's', source: PG, attributes: ['db.operation.name', 'db.collection.name'] },
  { name: 'db.client.connection.count', kind: 'updowncounter', unit: '{connection}', source: PG, attributes: ['db.client.connection.state'] },
  { name: 'db.client.connection.pending_requests', kind: 'updowncounter', unit: '{connection}', source: PG },
  { name: 'db.client.connection.max', kind: 'updowncounter', unit: '{connection}', source: PG },
];

/** UCUM unit → the Prometheus suffix the OTLP translation appends (units in braces are annotations: none). */
const UNIT_SUFFIX: Record<string, string> = {
  s: 'seconds',
  ms: 'milliseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  '%': 'percent',
};

/** An OTel attribute or metric name as Prometheus spells it: every character outside [a-zA-Z0-9_:] becomes "_". */
export function promLabel(otelName: string): string {
  const s = otelName.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

/**
 * The series names Prometheus stores for a metric received over OTLP (Prometheus' own OTLP receiver or the
 * collector's prometheus exporter, translation strategy UnderscoreEscapingWithSuffixes — the default): dots become
 * underscores, the unit becomes a suffix ("s" → _seconds, "By" → _bytes, "1" on a gauge → _ratio, "{…}" → none),
 * monotonic counters get _total, histograms expand into _bucket, _sum and _count.
 */
export function prometheusSeries(m: EmittedMetric): string[] {
  let base = promLabel(m.name);
  const unit = m.unit.replace(/\{[^}]*\}/g, '');
  const suffix = unit === '1' ? (m.kind === 'gauge' ? 'ratio' : '') : UNIT_SUFFIX[unit] ?? (unit ? promLabel(unit) : '');
  if (suffix && !base.endsWith(`_${suffix}`)) base += `_${suffix}`;
  if (m.kind === 'counter') return [`${base}_total`];
  if (m.kind === 'histogram') return [`${base}_bucket`, `${base}_sum`, `${base}_count`];
  return [base];
}

/** Prometheus series name → the emitted metric it comes from. */
export function prometheusIndex(metrics: readonly EmittedMetric[] = EMITTED_METRICS): Map<string, EmittedMetric> {
  const index = new Map<string, EmittedMetric>();
  for (const m of metrics) for (const s of prometheusSeries(m)) index.set(s, m);
  return index;
}

/** The Prometheus name of one emitted metric (throws for a name not in the list: the dashboard cannot query it). */
export function prom(otelName: string, part: '' | 'bucket' | 'sum' | 'count' = ''): string {
  const m = EMITTED_METRICS.find((x) => x.name === otelName);
  if (!m) throw new Error(`${otelName} is not a metric the probes emit (dashboards/grafana/metrics.ts)`);
  const series = prometheusSeries(m);
  if (m.kind !== 'histogram') return series[0];
  return series.find((s) => s.endsWith(`_${part || 'bucket'}`))!;
}
