/**
 * Scenarios: a weighted mix of requests with id placeholders. Built-in `sns` mirrors the reference SNS API
 * (timeline 60 %, notifications 25 %, create post 10 %, like 5 %); files are JSON
 * `{ name, requests: [{ weight, method, path: "/users/{userId}/timeline", body?, route? }] }`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { LooplensError } from '../errors.js';
import { mulberry32 } from '../../target-app/lib/random.js';

export interface ScenarioRequest {
  weight: number;
  method: string;
  /** Path with `{placeholder}`s, query string allowed: "/users/{userId}/timeline?limit=20". */
  path: string;
  /** JSON body; string values containing `{placeholder}` are filled ("{userId}" alone becomes a number). */
  body?: unknown;
  /** Route key override ("GET /users/:id/timeline"); default: method + path without query, `{x}` → `:x`. */
  route?: string;
  headers?: Record<string, string>;
}

export interface Scenario {
  name: string;
  requests: ScenarioRequest[];
  /**
   * How ids are drawn from 1..n: `uniform` (default) or `zipf` (s = 1: a few ids get most requests, as the active
   * users of a social network do; rank r has probability ∝ 1/r, and ranks are spread over the range by a fixed
   * permutation so the hot ids are not simply the lowest).
   */
  distribution?: 'uniform' | 'zipf';
}

/** Upper bounds of the id ranges placeholders draw from (1..n). `default` serves any other placeholder. */
export interface IdRanges {
  default: number;
  [placeholder: string]: number;
}

export const BUILTIN_SCENARIOS: Record<string, Scenario> = {
  sns: {
    name: 'sns',
    distribution: 'zipf',
    requests: [
      { weight: 60, method: 'GET', path: '/users/{userId}/timeline?limit=20', route: 'GET /users/:id/timeline' },
      { weight: 25, method: 'GET', path: '/users/{userId}/notifications?limit=50', route: 'GET /users/:id/notifications' },
      {
        weight: 10,
        method: 'POST',
        path: '/posts',
        route: 'POST /posts',
        body: { userId: '{userId}', content: 'looplens load post {n}', imageUrl: 'https://images.example/{n}.jpg' },
      },
      { weight: 5, method: 'POST', path: '/posts/{postId}/likes', route: 'POST /posts/:id/likes', body: { userId: '{userId}' } },
    ],
  },
};

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

export function routeKey(r: Pick<ScenarioRequest, 'method' | 'path' | 'route'>): string {
  if (r.route) return r.route;
  const path = r.path.split('?')[0].replace(/\{(\w+)\}/g, ':$1');
  return `${r.method.toUpperCase()} ${path}`;
}

/** A scenario that spreads requests evenly over plain paths (`--path`); each must start with "/". */
export function pathsScenario(paths: readonly string[], method = 'GET'): Scenario {
  // "GET api" is not an HTTP request target: Node answers 400 and closes, and the run would measure nothing
  const bad = paths.find((p) => !p.startsWith('/'));
  if (bad !== undefined) {
    throw new LooplensError('USAGE_BAD_VALUE', `--path "${bad}" does not start with /`, `write it as --path /${bad.replace(/^\/*/, '')}`);
  }
  return { name: `paths:${paths.join(',')}`, requests: paths.map((path) => ({ weight: 1, method: method.toUpperCase(), path })) };
}

export function loadScenario(nameOrFile: string, cwd: string): Scenario {
  const builtin = BUILTIN_SCENARIOS[nameOrFile];
  if (builtin) return builtin;
  const file = resolve(cwd, nameOrFile);
  if (!existsSync(file)) {
    throw new LooplensError(
      'UNKNOWN_SCENARIO',
      `no scenario "${nameOrFile}" (not built in, and no such file)`,
      `use ${Object.keys(BUILTIN_SCENARIOS).join(', ')} or a JSON file {name, requests:[{weight, method, path}]}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new LooplensError('SCENARIO_INVALID', `${nameOrFile} is not valid JSON (${(err as Error).message})`, 'fix the file');
  }
  const problem = checkScenario(value);
  if (problem) throw new LooplensError('SCENARIO_INVALID', `${nameOrFile}: ${problem}`, 'each request needs weight > 0, method and a path starting with /');
  return value as Scenario;
}

export function checkScenario(value: unknown): string | null {
  const s = value as Scenario;
  if (!s || typeof s !== 'object' || !Array.isArray(s.requests) || s.requests.length === 0) return 'needs a non-empty "requests" array';
  for (const [i, r] of s.requests.entries()) {
    if (!r || typeof r !== 'object') return `requests[${i}] is not an object`;
    if (!(typeof r.weight === 'number' && r.weight > 0)) return `requests[${i}].weight must be a number > 0`;
    if (typeof r.method !== 'string' || !METHODS.includes(r.method.toUpperCase())) return `requests[${i}].method must be one of ${METHODS.join(', ')}`;
    if (typeof r.path !== 'string' || !r.path.startsWith('/')) return `requests[${i}].path must start with /`;
  }
  if (s.distribution !== undefined && s.distribution !== 'uniform' && s.distribution !== 'zipf') return 'distribution must be "uniform" or "zipf"';
  if (typeof s.name !== 'string') s.name = 'custom';
  return null;
}

/** Deterministic PRNG (mulberry32): the same seed gives every stage the same request sequence. */
export const prng: (seed: number) => () => number = mulberry32;

/** Draws the id for a placeholder name ({userId}, {postId}, …) from its range. */
export type IdDraw = (placeholder: string) => number;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Zipf(s = 1) rank in 1..n by inverting the continuous CDF ln(r + 1) / ln(n + 1). */
export function zipfRank(n: number, u: number): number {
  return Math.min(n, Math.max(1, Math.ceil(Math.exp(u * Math.log(n + 1)) - 1)));
}

export function idDraw(ids: IdRanges, rand: () => number, distribution: Scenario['distribution'] = 'uniform'): IdDraw {
  const steps = new Map<number, number>();
  // a fixed bijection of 1..n (multiplication by a step coprime with n) spreads the hot ranks over the range
  const spread = (rank: number, n: number): number => {
    let step = steps.get(n);
    if (step === undefined) {
      step = Math.max(1, Math.round(n * 0.6180339887)) % n || 1;
      while (gcd(step, n) !== 1) step++;
      steps.set(n, step);
    }
    return 1 + (((rank - 1) * step) % n);
  };
  return (name) => {
    const n = Math.max(1, Math.floor(ids[name] ?? ids.default));
    if (distribution === 'zipf') return spread(zipfRank(n, rand()), n);
    return 1 + Math.floor(rand() * n);
  };
}

export function fillString(template: string, draw: IdDraw): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => String(draw(name)));
}

export function fillBody(body: unknown, draw: IdDraw): unknown {
  if (typeof body === 'string') {
    const whole = /^\{(\w+)\}$/.exec(body);
    return whole ? draw(whole[1]) : fillString(body, draw);
  }
  if (Array.isArray(body)) return body.map((b) => fillBody(b, draw));
  if (body && typeof body === 'object') {
    return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, fillBody(v, draw)]));
  }
  return body;
}

export interface BuiltRequest {
  key: string;
  method: string;
  path: string;
  body?: string;
  headers: Record<string, string>;
}

/** Picks requests by weight and fills their placeholders. */
export function requestPicker(scenario: Scenario, ids: IdRanges, seed = 1): () => BuiltRequest {
  const rand = prng(seed);
  const draw = idDraw(ids, rand, scenario.distribution);
  const total = scenario.requests.reduce((s, r) => s + r.weight, 0);
  const entries = scenario.requests.map((r) => ({ r, key: routeKey(r) }));
  return () => {
    let x = rand() * total;
    let chosen = entries[entries.length - 1];
    for (const e of entries) {
      x -= e.r.weight;
      if (x < 0) {
        chosen = e;
        break;
      }
    }
    const { r, key } = chosen;
    const headers: Record<string, string> = { ...(r.headers ?? {}) };
    let body: string | undefined;
    if (r.body !== undefined) {
      body = JSON.stringify(fillBody(r.body, draw));
      headers['content-type'] ??= 'application/json';
    }
    return { key, method: r.method.toUpperCase(), path: fillString(r.path, draw), body, headers };
  };
}
