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
