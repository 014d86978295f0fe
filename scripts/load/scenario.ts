/**
 * Scenarios: a weighted mix of requests with `{placeholder}`s. Built-in `sns` mirrors the reference SNS API
 * (timeline 60 %, notifications 25 %, create post 10 %, like 5 %); files are JSON
 * `{ name, requests: [{ weight, method, path: "/users/{userId}/timeline", body?, headers?, route? }], placeholders?,
 * headers?, auth?, distribution? }` (docs/scenarios.md describes every field).
 *
 * A placeholder draws a value for each request: from its own range (`{ "min": 1, "max": 150000 }`) or value list
 * (`{ "values": […] }`, or `{ "file": "slugs.txt" }`, one value a line) when the scenario declares it, else an id from
 * 1..n of the `IdRanges` the caller gives (`--ids`, or the lab's seeded counts). Within one request a placeholder has
 * one value wherever it appears. `{token}` is the auth step's token (see AuthStep).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LooplensError } from '../errors.js';
import { mulberry32 } from '../../target-app/lib/random.js';

export interface ScenarioRequest {
  weight: number;
  method: string;
  /** Path with `{placeholder}`s, query string allowed: "/users/{userId}/timeline?limit=20". */
  path: string;
  /** JSON body; string values containing `{placeholder}` are filled ("{userId}" alone becomes the value itself). */
  body?: unknown;
  /** Route key override ("GET /users/:id/timeline"); default: method + path without query, `{x}` → `:x`. */
  route?: string;
  /** Headers of this request (values may hold placeholders, e.g. "Authorization": "Bearer {token}"). */
  headers?: Record<string, string>;
}

/** Where a placeholder's values come from. Exactly one of a range (min/max), `values` or `file`. */
export interface PlaceholderSpec {
  /** Smallest integer of the range (default 1). */
  min?: number;
  /** Largest integer of the range, inclusive. */
  max?: number;
  /** The values to pick from (strings or numbers). */
  values?: Array<string | number>;
  /**
   * A file of values, relative to the scenario file: one value a line (blank lines and lines starting with # are
   * skipped), or a JSON array when it ends in .json. loadScenario reads it into `values`.
   */
  file?: string;
  /** How this placeholder's values are drawn; default the scenario's `distribution`. */
  distribution?: 'uniform' | 'zipf';
}

/** Where the auth step's answer carries the token. */
export type TokenSource = { json: string } | { header: string } | { cookie: string };

/**
 * A login request each connection sends before its first request, and again after an answer 401: the token it
 * answers with (a JSON field by dot path, a response header, or a cookie it sets) fills `{token}` in the requests
 * that connection sends next.
 */
export interface AuthStep {
  /** Default POST. */
  method?: string;
  path: string;
  /** JSON body (credentials); placeholders are filled as in requests, e.g. "user{loginUser}@example.com". */
  body?: unknown;
  headers?: Record<string, string>;
  token: TokenSource;
  /** Route key override, as for requests. */
  route?: string;
}

export interface Scenario {
  name: string;
  requests: ScenarioRequest[];
  /**
   * How ids are drawn from 1..n: `uniform` (default) or `zipf` (s = 1: a few ids get most requests, as the active
   * users of a social network do; rank r has probability ∝ 1/r, and ranks are spread over the range by a fixed
   * permutation so the hot ids are not simply the lowest). A placeholder's own `distribution` overrides it.
   */
  distribution?: 'uniform' | 'zipf';
  /** Placeholders with their own range or values (others draw from the IdRanges). */
  placeholders?: Record<string, PlaceholderSpec>;
  /** Headers of every request, the auth step's included; a request's own headers override them. */
  headers?: Record<string, string>;
  auth?: AuthStep;
}

/** The placeholder the auth step fills. */
export const TOKEN_PLACEHOLDER = 'token';

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
const PLACEHOLDER = /\{(\w+)\}/g;

export function routeKey(r: Pick<ScenarioRequest, 'method' | 'path' | 'route'>): string {
  if (r.route) return r.route;
  const path = r.path.split('?')[0].replace(/\{(\w+)\}/g, ':$1');
  return `${r.method.toUpperCase()} ${path}`;
}

/** The auth step's route key (its method defaults to POST). */
export function authRouteKey(auth: AuthStep): string {
  return routeKey({ method: auth.method ?? 'POST', path: auth.path, route: auth.route });
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

const FIX = 'see docs/scenarios.md: each request needs weight > 0, method and a path starting with /';

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
  if (problem) throw new LooplensError('SCENARIO_INVALID', `${nameOrFile}: ${problem}`, FIX);
  const scenario = value as Scenario;
  for (const [name, spec] of Object.entries(scenario.placeholders ?? {})) {
    if (spec.file !== undefined) spec.values = readValues(resolve(dirname(file), spec.file), `${nameOrFile}: placeholders.${name}.file`);
  }
  return scenario;
}

/** A value file: a JSON array (.json), else one value a line, blank lines and # comments skipped. */
function readValues(path: string, what: string): Array<string | number> {
  if (!existsSync(path)) throw new LooplensError('SCENARIO_INVALID', `${what}: no such file ${path}`, 'give a path relative to the scenario file');
  const text = readFileSync(path, 'utf8');
  let values: unknown;
  if (path.endsWith('.json')) {
    try {
      values = JSON.parse(text);
    } catch (err) {
      throw new LooplensError('SCENARIO_INVALID', `${what}: ${path} is not valid JSON (${(err as Error).message})`, 'fix the file');
    }
  } else {
    values = text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
  }
  const problem = checkValues(values);
  if (problem) throw new LooplensError('SCENARIO_INVALID', `${what}: ${path} ${problem}`, 'list one value a line (or a JSON array of strings and numbers)');
  return values as Array<string | number>;
}

function checkValues(values: unknown): string | null {
  if (!Array.isArray(values) || values.length === 0) return 'holds no values';
  const bad = values.findIndex((v) => !((typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isFinite(v))));
  return bad >= 0 ? `has a value that is neither a non-empty string nor a number (item ${bad + 1})` : null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function checkHeaders(h: unknown, where: string): string | null {
  if (h === undefined) return null;
  if (!isObject(h)) return `${where} must be an object of header names to strings`;
  for (const [k, v] of Object.entries(h)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k)) return `${where}: "${k}" is not a header name`;
    if (typeof v !== 'string') return `${where}.${k} must be a string`;
  }
  return null;
}

function checkPlaceholder(name: string, p: unknown): string | null {
  const where = `placeholders.${name}`;
  if (!/^\w+$/.test(name)) return `${where}: a placeholder name is letters, digits and _`;
  if (name === TOKEN_PLACEHOLDER) return `${where}: {${TOKEN_PLACEHOLDER}} is filled by the auth step and cannot be declared`;
  if (!isObject(p)) return `${where} must be an object ({min, max}, {values} or {file})`;
  const kinds = [p.min !== undefined || p.max !== undefined, p.values !== undefined, p.file !== undefined].filter(Boolean).length;
  if (kinds !== 1) return `${where} needs exactly one of a range {min?, max}, {values: […]} or {file: "…"}`;
  if (p.values !== undefined) {
    const problem = checkValues(p.values);
    if (problem) return `${where}.values ${problem}`;
  } else if (p.file !== undefined) {
    if (typeof p.file !== 'string' || p.file === '') return `${where}.file must be a file name`;
  } else {
    const min = p.min ?? 1;
    if (!Number.isSafeInteger(min)) return `${where}.min must be an integer`;
    if (!Number.isSafeInteger(p.max) || (p.max as number) < (min as number)) return `${where}.max must be an integer ≥ min (${min})`;
  }
  if (p.distribution !== undefined && p.distribution !== 'uniform' && p.distribution !== 'zipf') return `${where}.distribution must be "uniform" or "zipf"`;
  return null;
}

/** Every `{name}` in a template: strings, and the string values of a JSON body, at any depth. */
function placeholdersIn(value: unknown, found = new Set<string>()): Set<string> {
  if (typeof value === 'string') for (const m of value.matchAll(PLACEHOLDER)) found.add(m[1]!);
  else if (Array.isArray(value)) for (const v of value) placeholdersIn(v, found);
  else if (isObject(value)) for (const v of Object.values(value)) placeholdersIn(v, found);
  return found;
}

function checkAuth(a: unknown): string | null {
  if (!isObject(a)) return 'auth must be an object {method?, path, body?, headers?, token}';
  if (a.method !== undefined && (typeof a.method !== 'string' || !METHODS.includes(a.method.toUpperCase()))) return `auth.method must be one of ${METHODS.join(', ')}`;
  if (typeof a.path !== 'string' || !a.path.startsWith('/')) return 'auth.path must start with /';
  const headers = checkHeaders(a.headers, 'auth.headers');
  if (headers) return headers;
  const t = a.token;
  const sources = isObject(t) ? (['json', 'header', 'cookie'] as const).filter((k) => t[k] !== undefined) : [];
  if (!isObject(t) || sources.length !== 1 || typeof t[sources[0]!] !== 'string' || t[sources[0]!] === '') {
    return 'auth.token must name where the answer carries the token: {"json": "user.token"}, {"header": "x-auth-token"} or {"cookie": "sid"}';
  }
  if (placeholdersIn([a.path, a.body, a.headers]).has(TOKEN_PLACEHOLDER)) return `auth cannot use {${TOKEN_PLACEHOLDER}}: it is the request that obtains it`;
  return null;
}

export function checkScenario(value: unknown): string | null {
  const s = value as Scenario;
  if (!s || typeof s !== 'object' || !Array.isArray(s.requests) || s.requests.length === 0) return 'needs a non-empty "requests" array';
  for (const [i, r] of s.requests.entries()) {
    if (!r || typeof r !== 'object') return `requests[${i}] is not an object`;
    if (!(typeof r.weight === 'number' && r.weight > 0)) return `requests[${i}].weight must be a number > 0`;
    if (typeof r.method !== 'string' || !METHODS.includes(r.method.toUpperCase())) return `requests[${i}].method must be one of ${METHODS.join(', ')}`;
    if (typeof r.path !== 'string' || !r.path.startsWith('/')) return `requests[${i}].path must start with /`;
    const headers = checkHeaders(r.headers, `requests[${i}].headers`);
    if (headers) return headers;
  }
  if (s.distribution !== undefined && s.distribution !== 'uniform' && s.distribution !== 'zipf') return 'distribution must be "uniform" or "zipf"';
  if (s.placeholders !== undefined) {
    if (!isObject(s.placeholders)) return 'placeholders must be an object: {"userId": {"min": 1, "max": 150000}, "slug": {"file": "slugs.txt"}}';
    for (const [name, p] of Object.entries(s.placeholders)) {
      const problem = checkPlaceholder(name, p);
      if (problem) return problem;
    }
  }
  const headers = checkHeaders(s.headers, 'headers');
  if (headers) return headers;
  if (s.auth !== undefined) {
    const problem = checkAuth(s.auth);
    if (problem) return problem;
  } else if (placeholdersIn([s.headers, ...s.requests.map((r) => [r.path, r.body, r.headers])]).has(TOKEN_PLACEHOLDER)) {
    return `{${TOKEN_PLACEHOLDER}} is used but the scenario has no "auth" step to obtain it`;
  }
  if (typeof s.name !== 'string') s.name = 'custom';
  return null;
}

/** Deterministic PRNG (mulberry32): the same seed gives every stage the same request sequence. */
export const prng: (seed: number) => () => number = mulberry32;

/** Draws the id for a placeholder name ({userId}, {postId}, …) from its range. */
export type IdDraw = (placeholder: string) => number;

/** Draws a placeholder's value: an id, a number of its range, or one of its values. */
export type Draw = (placeholder: string) => string | number;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Zipf(s = 1) rank in 1..n by inverting the continuous CDF ln(r + 1) / ln(n + 1). */
export function zipfRank(n: number, u: number): number {
  return Math.min(n, Math.max(1, Math.ceil(Math.exp(u * Math.log(n + 1)) - 1)));
}

/** Draws a rank in 1..n, uniformly or Zipf-distributed (hot ranks spread over 1..n by a fixed permutation). */
function rankDraw(rand: () => number): (n: number, distribution: Scenario['distribution']) => number {
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
  return (n, distribution) => (distribution === 'zipf' ? spread(zipfRank(n, rand()), n) : 1 + Math.floor(rand() * n));
}

export function idDraw(ids: IdRanges, rand: () => number, distribution: Scenario['distribution'] = 'uniform'): IdDraw {
  const rank = rankDraw(rand);
  return (name) => rank(Math.max(1, Math.floor(ids[name] ?? ids.default)), distribution);
}

/** Draws every placeholder: from the scenario's own spec when it declares one, else an id from `ids`. */
export function placeholderDraw(scenario: Pick<Scenario, 'placeholders' | 'distribution'>, ids: IdRanges, rand: () => number): Draw {
  const rank = rankDraw(rand);
  const fallback = scenario.distribution ?? 'uniform';
  return (name) => {
    const spec = scenario.placeholders?.[name];
    if (!spec) return rank(Math.max(1, Math.floor(ids[name] ?? ids.default)), fallback);
    const distribution = spec.distribution ?? fallback;
    if (spec.values) return spec.values[rank(spec.values.length, distribution) - 1]!;
    if (spec.file !== undefined) throw new Error(`placeholder ${name}: its file was not read (load the scenario with loadScenario)`);
    const min = spec.min ?? 1;
    return min - 1 + rank(spec.max! - min + 1, distribution);
  };
}

/** Values already set for a request ({token}), taking precedence over drawn ones. */
export type Vars = Readonly<Record<string, string>>;

/** The same value for each placeholder within one request: the first draw stands. */
function oncePerRequest(draw: Draw, vars: Vars = {}): Draw {
  const seen = new Map<string, string | number>(Object.entries(vars));
  return (name) => {
    let v = seen.get(name);
    if (v === undefined) seen.set(name, (v = draw(name)));
    return v;
  };
}

/** Fills `{name}`s in a string; `encode` percent-encodes the values (for paths and query strings). */
export function fillString(template: string, draw: Draw, encode = false): string {
  return template.replace(PLACEHOLDER, (_, name: string) => (encode ? encodeURIComponent(String(draw(name))) : String(draw(name))));
}

export function fillBody(body: unknown, draw: Draw): unknown {
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
  /** The auth step's login request. */
  auth?: boolean;
}

type Template = Pick<ScenarioRequest, 'method' | 'path' | 'body' | 'headers'>;

/** One request from its template: placeholders filled (percent-encoded in the path), headers merged in lower case. */
function build(key: string, r: Template, common: Record<string, string> | undefined, draw: Draw): BuiltRequest {
  const headers: Record<string, string> = {};
  for (const h of [common, r.headers]) for (const [k, v] of Object.entries(h ?? {})) headers[k.toLowerCase()] = fillString(v, draw);
  let body: string | undefined;
  if (r.body !== undefined) {
    body = JSON.stringify(fillBody(r.body, draw));
    headers['content-type'] ??= 'application/json';
  }
  return { key, method: r.method.toUpperCase(), path: fillString(r.path, draw, true), body, headers };
}

export interface ScenarioRequests {
  /** The next request of the mix, picked by weight; `vars` fill placeholders first ({token}). */
  next(vars?: Vars): BuiltRequest;
  /** The auth step's login request (only for a scenario with `auth`). */
  login(): BuiltRequest;
}

/** The scenario's requests, drawn from one seeded sequence (the same seed gives the same requests). */
export function scenarioRequests(scenario: Scenario, ids: IdRanges, seed = 1): ScenarioRequests {
  const rand = prng(seed);
  const draw = placeholderDraw(scenario, ids, rand);
  const total = scenario.requests.reduce((s, r) => s + r.weight, 0);
  const entries = scenario.requests.map((r) => ({ r, key: routeKey(r) }));
  const auth = scenario.auth;
  return {
    next(vars) {
      let x = rand() * total;
      let chosen = entries[entries.length - 1]!;
      for (const e of entries) {
        x -= e.r.weight;
        if (x < 0) {
          chosen = e;
          break;
        }
      }
      return build(chosen.key, chosen.r, scenario.headers, oncePerRequest(draw, vars));
    },
    login() {
      if (!auth) throw new Error(`scenario ${scenario.name} has no auth step`);
      return { ...build(authRouteKey(auth), { ...auth, method: auth.method ?? 'POST' }, scenario.headers, oncePerRequest(draw)), auth: true };
    },
  };
}

/** Picks requests by weight and fills their placeholders. */
export function requestPicker(scenario: Scenario, ids: IdRanges, seed = 1): (vars?: Vars) => BuiltRequest {
  const requests = scenarioRequests(scenario, ids, seed);
  return (vars) => requests.next(vars);
}

/**
 * The token in the auth step's answer, or null: a JSON field by dot path ("user.token", "data.0.jwt"), a response
 * header, or the value of a cookie the answer sets.
 */
export function tokenFrom(source: TokenSource, body: string, headers: Record<string, unknown>): string | null {
  const header = (name: string): string[] => {
    const out: string[] = [];
    for (const [k, v] of Object.entries(headers)) {
      if (k.toLowerCase() !== name) continue;
      for (const x of Array.isArray(v) ? v : [v]) if (typeof x === 'string') out.push(x);
    }
    return out;
  };
  if ('json' in source) {
    let v: unknown;
    try {
      v = JSON.parse(body);
    } catch {
      return null;
    }
    for (const seg of source.json.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[seg] : undefined;
    return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null;
  }
  if ('header' in source) return header(source.header.toLowerCase())[0] || null;
  for (const cookie of header('set-cookie')) {
    const pair = cookie.split(';')[0] ?? '';
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === source.cookie) return pair.slice(eq + 1).trim() || null;
  }
  return null;
}

/** How the scenario's auth step finds its token, for messages: 'JSON field "user.token"'. */
export function describeTokenSource(source: TokenSource): string {
  if ('json' in source) return `JSON field "${source.json}"`;
  if ('header' in source) return `header ${source.header}`;
  return `cookie ${source.cookie}`;
}
