/**
 * dashboards/grafana/looplens.json: a valid Grafana dashboard over the provisioned Prometheus datasource, whose every
 * queried series is a metric the probes emit — by the OTLP → Prometheus naming rule (metrics.ts), by the installed
 * instrumentation packages' source (name, instrument kind, unit), and by what a real app under the probes sends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DATASOURCE_UID, dashboardJson } from '../../dashboards/grafana/dashboard.js';
import { EMITTED_METRICS, prometheusIndex, prometheusSeries, promLabel, type EmittedMetric, type InstrumentKind } from '../../dashboards/grafana/metrics.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DASHBOARD = join(ROOT, 'dashboards/grafana/looplens.json');

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; title: string; schemaVersion: number; panels: Panel[]; templating: { list: { name: string; query: { query: string } }[] } };
const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool']);

/** Metric names and label names a PromQL expression uses. */
export function promqlNames(expr: string): { metrics: string[]; labels: string[] } {
  const labels: string[] = [];
  let s = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  // Grafana's label_values(metric, label)
  s = s.replace(/label_values\(([^,()]+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)/g, (_m, metric: string, label: string) => {
    labels.push(label);
    return ` ${metric} `;
  });
  s = s.replace(/\{([^}]*)\}/g, (_m, inner: string) => {
    for (const m of inner.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) labels.push(m[1]);
    return ' ';
  });
  s = s.replace(/\b(by|without|on|ignoring)\s*\(([^)]*)\)/g, (_m, _kw, inner: string) => {
    labels.push(...inner.split(',').map((x) => x.trim()).filter(Boolean));
    return ' ';
  });
  s = s.replace(/\[[^\]]*\]/g, ' ').replace(/\$\w+/g, ' ');
  const metrics: string[] = [];
  for (const m of s.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (m[2] || PROMQL_WORDS.has(m[1])) continue; // a function call or a keyword
    metrics.push(m[1]);
  }
  return { metrics, labels };
}

describe('the Grafana dashboard JSON', () => {
  it('is the output of dashboards/grafana/dashboard.ts (regenerate: npx tsx dashboards/grafana/dashboard.ts)', () => {
    expect(readFileSync(DASHBOARD, 'utf8')).toBe(dashboardJson());
  });

  it('is a well-formed dashboard: unique ids, panels inside the 24-column grid and not overlapping', () => {
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      expect(['row', 'timeseries', 'stat'], p.title).toContain(p.type);
      const g = p.gridPos;
      expect(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0 && g.y >= 0, `${p.title} gridPos`).toBe(true);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          const key = `${x},${y}`;
          expect(cells.has(key), `${p.title} overlaps at ${key}`).toBe(false);
          cells.add(key);
        }
      }
    }
    expect(dashboard.panels.filter((p) => p.type !== 'row').length).toBeGreaterThanOrEqual(15);
  });

  it('queries only the provisioned Prometheus datasource, filtered by the $job variable', () => {
    const provisioned = parse(readFileSync(join(ROOT, 'dashboards/grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as {
      datasources: { uid: string; type: string; url: string }[];
    };
    expect(provisioned.datasources).toHaveLength(1);
    expect(provisioned.datasources[0]).toMatchObject({ uid: DATASOURCE_UID, type: 'prometheus', url: 'http://prometheus:9090' });
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: DATASOURCE_UID });
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets!) {
        expect(t.datasource?.uid).toBe(DATASOURCE_UID);
        expect(t.expr, p.title).toContain('job=~"$job"');
      }
    }
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['job']);
  });

  it('every queried series maps back to a metric the probes emit, by the OTLP → Prometheus naming rule', () => {
    const index = prometheusIndex();
    const used = new Set<EmittedMetric>();
    const exprs = [...queries.map((q) => q.expr), ...dashboard.templating.list.map((v) => v.query.query)];
    for (const expr of exprs) {
      const { metrics, labels } = promqlNames(expr);
      expect(metrics.length, expr).toBeGreaterThan(0);
      for (const name of metrics) {
        const m = index.get(name);
        expect(m, `${name} (in ${expr}) is not the Prometheus name of any metric in dashboards/grafana/metrics.ts`).toBeDefined();
        used.add(m!);
        // labels: Prometheus' own (job, instance, le for buckets) or attributes of the queried metric
        const allowed = new Set(['job', 'instance', ...(name.endsWith('_bucket') ? ['le'] : []), ...(m!.attributes ?? []).map(promLabel)]);
        for (const l of labels) expect(allowed.has(l) || metrics.some((n) => index.get(n)?.attributes?.map(promLabel).includes(l)), `label ${l} in ${expr}`).toBe(true);
      }
    }
    // the dashboard covers the families the issue asks for
    for (const family of ['nodejs.eventloop.delay.p99', 'nodejs.eventloop.utilization', 'v8js.gc.duration', 'v8js.memory.heap.used', 'http.server.request.duration', 'db.client.operation.duration']) {
      expect([...used].map((m) => m.name)).toContain(family);
    }
  });

  it('the naming rule: dots → underscores, unit suffixes, _total for counters, histogram series', () => {
    const byName = (n: string) => EMITTED_METRICS.find((m) => m.name === n)!;
    expect(prometheusSeries(byName('nodejs.eventloop.delay.p99'))).toEqual(['nodejs_eventloop_delay_p99_seconds']);
    expect(prometheusSeries(byName('nodejs.eventloop.utilization'))).toEqual(['nodejs_eventloop_utilization_ratio']);
    expect(prometheusSeries(byName('nodejs.eventloop.time'))).toEqual(['nodejs_eventloop_time_seconds_total']);
    expect(prometheusSeries(byName('v8js.memory.heap.used'))).toEqual(['v8js_memory_heap_used_bytes']);
    expect(prometheusSeries(byName('db.client.connection.count'))).toEqual(['db_client_connection_count']);
    expect(prometheusSeries(byName('http.server.request.duration'))).toEqual([
      'http_server_request_duration_seconds_bucket',
      'http_server_request_duration_seconds_sum',
      'http_server_request_duration_seconds_count',
    ]);
  });
});

// ------------------------------------------------------------------ the installed instrumentations' source

function jsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? jsFiles(p) : n.endsWith('.js') ? [p] : [];
  });
}

const KIND: Record<string, InstrumentKind> = {
  Histogram: 'histogram',
  Gauge: 'gauge',
  ObservableGauge: 'gauge',
  Counter: 'counter',
  ObservableCounter: 'counter',
  UpDownCounter: 'updowncounter',
  ObservableUpDownCounter: 'updowncounter',
};

const reEsc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('metrics.ts against the installed instrumentation packages', async () => {
  const semconv = (await import('@opentelemetry/semantic-conventions')) as Record<string, unknown>;
  const incubating = (await import('@opentelemetry/semantic-conventions/incubating')) as Record<string, unknown>;

  it.each(EMITTED_METRICS.map((m) => [m.name, m] as const))('%s: created by its package with that kind and unit', (_n, m) => {
    const dir = join(ROOT, 'node_modules', m.source, 'build', 'src');
    expect(existsSync(dir), dir).toBe(true);
    const constant = `METRIC_${m.name.toUpperCase().replace(/[.]/g, '_')}`;
    const sources = jsFiles(dir).map((f) => readFileSync(f, 'utf8'));
    const all = sources.join('\n');
    // the constant resolves to the name: in the package's own semconv copy, or in @opentelemetry/semantic-conventions
    const ownValue = new RegExp(`${constant} = ['"]([^'"]+)['"]`).exec(all)?.[1];
    const value = ownValue ?? semconv[constant] ?? incubating[constant];
    const literal = all.includes(`'${m.name}'`) || all.includes(`"${m.name}"`);
    expect(value === m.name || literal, `${m.source} does not define ${m.name}`).toBe(true);
    const create = new RegExp(`\\.create(\\w+)\\(\\s*(?:[\\w$]+\\.)?(?:${constant}|['"]${reEsc(m.name)}['"])\\s*,\\s*\\{([^]{0,400}?)\\}\\s*\\)`).exec(all);
    expect(create, `${m.source} never creates an instrument for ${m.name}`).not.toBeNull();
    expect(KIND[create![1]], `${m.name} instrument create${create![1]}`).toBe(m.kind);
    expect(/unit:\s*['"]([^'"]*)['"]/.exec(create![2])?.[1], `${m.name} unit`).toBe(m.unit);
  });
});

// ------------------------------------------------------------------ what a probed app really sends

interface Received {
  name: string;
  unit: string;
  kind: InstrumentKind;
}

function kindOf(metric: Record<string, unknown>): InstrumentKind | null {
  if (metric.gauge) return 'gauge';
  if (metric.histogram) return 'histogram';
  const sum = metric.sum as { isMonotonic?: boolean } | undefined;
  if (sum) return sum.isMonotonic ? 'counter' : 'updowncounter';
  return null;
}

describe('a real app under the probes sends every metric of metrics.ts over OTLP', () => {
  let receiver: Server | undefined;
  let app: ChildProcess | undefined;
  let out: string | undefined;

  afterAll(async () => {
    if (app && app.exitCode === null) {
      app.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      if (app.exitCode === null) app.kill('SIGKILL');
    }
    await new Promise((r) => (receiver ? receiver.close(r) : r(undefined)));
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('with the names, kinds and units listed, at the metrics endpoint the README gives (OTLP/JSON received in-process)', async () => {
    const register = join(ROOT, 'dist/probes/register.js');
    expect(existsSync(register), 'dist/ is missing: npm run build').toBe(true);
    const received = new Map<string, Received>();
    let wrongPath = 0;
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/v1/metrics') wrongPath++;
        // the path Prometheus' OTLP receiver listens on, as dashboards/README.md configures it
        if (req.url === '/api/v1/otlp/v1/metrics') {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            resourceMetrics?: { scopeMetrics?: { metrics?: Record<string, unknown>[] }[] }[];
          };
          for (const rm of body.resourceMetrics ?? [])
            for (const sm of rm.scopeMetrics ?? [])
              for (const m of sm.metrics ?? []) {
                const kind = kindOf(m);
                if (kind) received.set(m.name as string, { name: m.name as string, unit: (m.unit as string) ?? '', kind });
              }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => receiver!.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as { port: number }).port;
    out = mkdtempSync(join(tmpdir(), 'looplens-metrics-'));
    app = spawn(process.execPath, ['--expose-gc', '--import', register, join(ROOT, 'test/dashboards/fixtures/metrics-app.mjs')], {
      env: {
        ...process.env,
        LOOPLENS_OUT: out,
        LOOPLENS_CPU_PROFILE: '0',
        OTEL_SERVICE_NAME: 'looplens-metrics-test',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `http://127.0.0.1:${port}/api/v1/otlp/v1/metrics`,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_METRIC_EXPORT_INTERVAL: '500',
        OTEL_METRIC_EXPORT_TIMEOUT: '400',
        DATABASE_URL: process.env.LOOPLENS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    app.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const appPort = await new Promise<number>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`app did not listen: ${stderr}`)), 20_000);
      app!.stdout!.on('data', (d: Buffer) => {
        text += d.toString();
        const m = /LISTENING (\d+)/.exec(text);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      app!.on('exit', (code) => reject(new Error(`app exited (${code}): ${stderr}`)));
    });
    const wanted = EMITTED_METRICS.map((m) => m.name);
    const deadline = Date.now() + 25_000;
    while (Date.now() < deadline && !wanted.every((n) => received.has(n))) {
      await Promise.all(['/db', '/out', '/gc', '/'].map((p) => fetch(`http://127.0.0.1:${appPort}${p}`).then((r) => r.text())));
      await new Promise((r) => setTimeout(r, 250));
    }
    const missing = wanted.filter((n) => !received.has(n));
    expect(missing, `not received; received: ${[...received.keys()].sort().join(', ')}`).toEqual([]);
    expect(wrongPath, 'metrics went to /v1/metrics despite OTEL_EXPORTER_OTLP_METRICS_ENDPOINT').toBe(0);
    for (const m of EMITTED_METRICS) expect({ name: m.name, unit: received.get(m.name)!.unit, kind: received.get(m.name)!.kind }).toEqual({ name: m.name, unit: m.unit, kind: m.kind });
  });
});
