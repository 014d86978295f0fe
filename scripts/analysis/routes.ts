/**
 * The one place a route is decided. Every figure of a run — latency from the load generator, blocked ms from the
 * probes, queries from the traces, findings — is keyed "<METHOD> <template>" by the app's own route template (the
 * framework's `http.route`), or, where no framework names one, a template inferred from the path (numbers, UUIDs and
 * long hex ids become `:id`), marked as inferred. The load generator's routes meet the app's on that template.
 */
import type { AttrValue, Span } from '../../profiles/contract/index.js';

function attr(attrs: Record<string, AttrValue>, ...keys: string[]): string | null {
  for (const k of keys) {
    const v = attrs[k];
    if (v !== undefined && v !== '') return Array.isArray(v) ? v.join(',') : String(v);
  }
  return null;
}

/** "/users/123/posts/9f8e…" → "/users/:id/posts/:id": numbers, UUIDs and long hex ids are parameters. */
export function templatePath(path: string): string {
  return path
    .split('/')
    .map((seg) => (/^\d+$/.test(seg) || /^[0-9a-f]{8}-[0-9a-f-]{27}$/i.test(seg) || /^[0-9a-f]{16,}$/i.test(seg) ? ':id' : seg))
    .join('/');
}

/** The path and query a server span was asked for, when recorded (old and stable attribute names). */
export function requestTarget(server: Span): string | null {
  const a = server.attributes;
  const target = attr(a, 'http.target');
  if (target) return target;
  const path = attr(a, 'url.path');
  if (path) {
    const q = attr(a, 'url.query');
    return q ? `${path}${q.startsWith('?') ? q : `?${q}`}` : path;
  }
  const full = attr(a, 'url.full', 'http.url');
  if (!full) return null;
  try {
    const u = new URL(full);
    return u.pathname + u.search;
  } catch {
    return null;
  }
}

/**
 * A request's route: its server span's `http.route`, or one a span beneath it names (frameworks instrumented apart,
 * e.g. @fastify/otel, put it on their own spans), else inferred from its path.
 */
export function requestRoute(server: Span, descendants: readonly Span[]): { route: string; inferred: boolean; target: string | null } {
  const method = (attr(server.attributes, 'http.request.method', 'http.method') ?? server.name.split(' ')[0] ?? 'GET').toUpperCase();
  let template = attr(server.attributes, 'http.route');
  for (let i = 0; !template && i < descendants.length; i++) template = attr(descendants[i]!.attributes, 'http.route');
  const target = requestTarget(server);
  if (template) return { route: `${method} ${template}`, inferred: false, target };
  return { route: `${method} ${templatePath((target ?? '/').split('?')[0] ?? '/')}`, inferred: true, target };
}

/** Distinct values a path position needs before its rare values are taken for a parameter. */
export const MIN_DISTINCT_VALUES = 5;
/** A value at least this common at its position is a route of its own ("/articles/feed"), not a parameter's value. */
export const LITERAL_SHARE = 0.2;

/**
 * Templates inferred from the paths seen, for requests no framework named a route for: after the ids templatePath
 * knows (numbers, UUIDs, long hex), a path position where at least MIN_DISTINCT_VALUES different values occur among
 * paths of the same method and length is a parameter (`:slug`) — except its common values (LITERAL_SHARE or more of
 * the position's paths), which stay literal routes. `paths`: "<METHOD> <path>" (query left out); returns the template
 * of each, "<METHOD> <template>".
 */
export function inferTemplates(paths: readonly string[]): Map<string, string> {
  const split = (p: string) => {
    const space = p.indexOf(' ');
    return { method: p.slice(0, space), segments: templatePath(p.slice(space + 1)).split('/') };
  };
  const groups = new Map<string, { path: string; segments: string[] }[]>();
  for (const path of new Set(paths)) {
    const { method, segments } = split(path);
    const key = `${method} ${segments.length}`;
    const list = groups.get(key) ?? [];
    list.push({ path, segments });
    groups.set(key, list);
  }
  const counts = new Map<string, number>();
  for (const p of paths) counts.set(p, (counts.get(p) ?? 0) + 1);
  const out = new Map<string, string>();
  for (const [key, list] of groups) {
    const method = key.slice(0, key.indexOf(' '));
    const width = list[0]!.segments.length;
    const param = new Array<Set<string> | null>(width).fill(null);
    for (let i = 1; i < width; i++) {
      // how often each value occurs at this position, weighted by how often its path was requested
      const values = new Map<string, number>();
      let total = 0;
      for (const { path, segments } of list) {
        const n = counts.get(path) ?? 1;
        values.set(segments[i]!, (values.get(segments[i]!) ?? 0) + n);
        total += n;
      }
      if (values.size < MIN_DISTINCT_VALUES) continue;
      param[i] = new Set([...values].filter(([v, n]) => v !== ':id' && n / total < LITERAL_SHARE).map(([v]) => v));
    }
    for (const { path, segments } of list) out.set(path, `${method} ${segments.map((seg, i) => (param[i]?.has(seg) ? ':slug' : seg)).join('/')}`);
  }
  return out;
}

/**
 * A route the probes recorded without traces ("<METHOD> <path or template>"), in the same vocabulary: its path
 * templated the same way. A template passes through unchanged.
 */
export function probeRoute(route: string): string {
  const space = route.indexOf(' ');
  if (space < 0) return route;
  return `${route.slice(0, space)} ${templatePath(route.slice(space + 1).split('?')[0] ?? '/')}`;
}

/**
 * Whether a request matches a load generator's route: same method, and its path matches the load route's path —
 * literally, or with a `{name}` or `:name` segment standing for any one segment.
 */
export function loadRouteMatcher(method: string, pathPattern: string): (requestMethod: string, target: string | null) => boolean {
  const path = pathPattern.split('?')[0] ?? '/';
  const source = path
    .split('/')
    .map((seg) => (/^\{[^}]*\}$/.test(seg) || /^:[^/]+$/.test(seg) ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\{[^}]*\\\}/g, '[^/]*')))
    .join('/');
  const re = new RegExp(`^${source}/?$`);
  const m = method.toUpperCase();
  return (requestMethod, target) => requestMethod.toUpperCase() === m && target !== null && re.test(target.split('?')[0] ?? '');
}
