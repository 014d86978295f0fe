/**
 * docker-compose.yml and the files it mounts: there is no Docker engine here, so the structure is checked instead —
 * the five services, pinned images, the ports the README promises (bound to 127.0.0.1), Prometheus' OTLP receiver,
 * and Grafana provisioning that points at files that exist and at the dashboard's datasource uid.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DATASOURCE_UID } from '../../dashboards/grafana/dashboard.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const yaml = (rel: string) => parse(readFileSync(join(ROOT, rel), 'utf8'));

interface Service {
  image: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: string[];
  healthcheck?: { test: string[] };
}
const compose = yaml('docker-compose.yml') as { name: string; services: Record<string, Service> };
const services = compose.services;

function hostPorts(s: Service): number[] {
  return (s.ports ?? []).map((p) => {
    const m = /^127\.0\.0\.1:(\d+):(\d+)$/.exec(p);
    expect(m, `port mapping ${p} must be 127.0.0.1:<host>:<container>`).not.toBeNull();
    expect(m![1]).toBe(m![2]);
    return Number(m![1]);
  });
}

/** "./dashboards/x:/etc/y:ro" → [host path relative to the repo, container path]. */
function mounts(s: Service): [string, string][] {
  return (s.volumes ?? []).map((v) => {
    const [host, container] = v.split(':');
    return [host, container];
  });
}

describe('docker-compose.yml', () => {
  it('has the five services with pinned images', () => {
    expect(Object.keys(services).sort()).toEqual(['grafana', 'jaeger', 'postgres', 'prometheus', 'redis']);
    for (const [name, s] of Object.entries(services)) {
      expect(s.image, name).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(s.image, `${name}: pin a version`).not.toMatch(/:latest$/);
    }
  });

  it('PostgreSQL and Redis as the lab expects them (trust auth, default ports)', () => {
    expect(services.postgres.image).toMatch(/^postgres:/);
    expect(services.postgres.environment?.POSTGRES_HOST_AUTH_METHOD).toBe('trust');
    expect(hostPorts(services.postgres)).toEqual([5432]);
    expect(services.redis.image).toMatch(/^redis:/);
    expect(hostPorts(services.redis)).toEqual([6379]);
  });

  it('Jaeger v2 with OTLP on 4317/4318 and the UI on 16686', () => {
    expect(services.jaeger.image).toMatch(/^jaegertracing\/jaeger:2\./);
    expect(hostPorts(services.jaeger).sort((a, b) => a - b)).toEqual([4317, 4318, 16686]);
  });

  it('Prometheus with the OTLP receiver on and the suffix-adding translation the dashboard relies on', () => {
    const p = services.prometheus;
    expect(p.image).toMatch(/^prom\/prometheus:v3\./);
    expect(p.command).toContain('--web.enable-otlp-receiver');
    expect(hostPorts(p)).toEqual([9090]);
    const cfgArg = p.command!.find((c) => c.startsWith('--config.file='))!.split('=')[1];
    const mount = mounts(p).find(([, c]) => c === cfgArg);
    expect(mount, 'the config file is mounted').toBeDefined();
    expect(existsSync(join(ROOT, mount![0]))).toBe(true);
    const cfg = yaml(mount![0]) as { otlp?: { translation_strategy?: string } };
    expect(cfg.otlp?.translation_strategy).toBe('UnderscoreEscapingWithSuffixes');
  });

  it('Grafana with the datasource and the dashboard provisioned from files that exist', () => {
    const g = services.grafana;
    expect(g.image).toMatch(/^grafana\/grafana(-oss)?:\d+\./);
    expect(hostPorts(g)).toEqual([3000]);
    expect(g.depends_on).toContain('prometheus');
    const m = mounts(g);
    for (const [host] of m) expect(existsSync(join(ROOT, host)), host).toBe(true);
    const provisioning = m.find(([, c]) => c === '/etc/grafana/provisioning');
    expect(provisioning).toBeDefined();
    const ds = yaml(join(provisioning![0], 'datasources/prometheus.yml')) as { datasources: { uid: string; url: string }[] };
    expect(ds.datasources[0].uid).toBe(DATASOURCE_UID);
    expect(ds.datasources[0].url).toBe('http://prometheus:9090');
    const providers = yaml(join(provisioning![0], 'dashboards/looplens.yml')) as { providers: { type: string; options: { path: string } }[] };
    const dir = providers.providers[0].options.path;
    const dashboard = m.find(([, c]) => c.startsWith(dir + '/'));
    expect(dashboard, `a dashboard JSON is mounted under ${dir}`).toBeDefined();
    expect(dashboard![0]).toBe('./dashboards/grafana/looplens.json');
    expect(g.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(dashboard![1]);
  });
});
