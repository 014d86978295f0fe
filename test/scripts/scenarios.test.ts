/**
 * Scenarios for real APIs: placeholders with their own ranges and value lists (inline or from a file), headers, and
 * an auth step whose token later requests send — checked on the request builder, then under real load (autocannon)
 * against a real HTTP server that issues tokens, expires them and counts what it was sent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad } from '../../scripts/load/run.js';
import { checkScenario, loadScenario, requestPicker, scenarioRequests, tokenFrom, type Scenario } from '../../scripts/load/scenario.js';
import { loadRouteMatcher } from '../../scripts/analysis/routes.js';
import { readLoad, readRunInfo } from '../../profiles/contract/read.js';
import { ROOT, runCli } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'looplens-scenarios-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SLUGS = ['how-to-train-your-dragon', 'dragons & knights', 'the-end'];

function scenarioFile(name: string, value: unknown): string {
  const file = join(tmp, name);
  writeFileSync(file, JSON.stringify(value));
  return file;
}

describe('placeholders, headers and their checks', () => {
  it('draws each placeholder from its own range or list, one value per request, percent-encoded in the path', () => {
    writeFileSync(join(tmp, 'slugs.txt'), `# slugs of the seeded articles\n${SLUGS.join('\n')}\n\n`);
    const file = scenarioFile('api.json', {
      name: 'api',
      placeholders: { userId: { min: 100_001, max: 100_010 }, slug: { file: 'slugs.txt' }, tag: { values: ['a', 7] } },
      headers: { 'X-Api-Key': 'k-{userId}' },
      requests: [
        {
          weight: 1,
          method: 'put',
          path: '/users/{userId}/articles/{slug}?tag={tag}',
          headers: { 'x-api-key': 'own-{userId}' },
          body: { id: '{userId}', tag: '{tag}', note: 'by {userId}', other: '{postId}' },
        },
      ],
    });
    // the file is read relative to the scenario file, not the working directory
    const scenario = loadScenario('api.json', tmp);
    expect(scenario.placeholders?.slug?.values).toEqual(SLUGS);
    const next = requestPicker(scenario, { default: 5 }, 3);
    const slugs = new Set<string>();
    const tags = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const r = next();
      expect(r.key).toBe('PUT /users/:userId/articles/:slug');
      const m = /^\/users\/(\d+)\/articles\/([^/?]+)\?tag=(.+)$/.exec(r.path)!;
      expect(m, r.path).not.toBeNull();
      const userId = Number(m[1]);
      expect(userId).toBeGreaterThanOrEqual(100_001);
      expect(userId).toBeLessThanOrEqual(100_010);
      slugs.add(decodeURIComponent(m[2]!));
      tags.add(m[3]!);
      const body = JSON.parse(r.body!);
      // one value per request, wherever the placeholder appears, with its type (a number from a range)
      expect(body).toMatchObject({ id: userId, note: `by ${userId}` });
      expect(String(body.tag)).toBe(m[3]);
      // an undeclared placeholder is an id from the IdRanges
      expect(body.other).toBeGreaterThanOrEqual(1);
      expect(body.other).toBeLessThanOrEqual(5);
      // header names in lower case, the request's own header over the scenario's
      expect(r.headers).toEqual({ 'x-api-key': `own-${userId}`, 'content-type': 'application/json' });
    }
    expect([...slugs].sort()).toEqual([...SLUGS].sort());
    expect([...tags].sort()).toEqual(['7', 'a']);
    expect(file).toContain(tmp);
  });

  it('keeps the existing format: sns and a scenario file of literal paths', () => {
    const lab = loadScenario('test/diagnose/fixtures/lab-scenario.json', ROOT);
    const next = requestPicker(lab, { default: 200, userId: 200, postId: 50 }, 1);
    const keys = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const r = next();
      keys.add(r.key);
      if (r.key === 'POST /posts/:id/likes') expect(Number(/\/posts\/(\d+)\/likes/.exec(r.path)![1])).toBeLessThanOrEqual(50);
    }
    expect([...keys].sort()).toEqual(['GET /users/:id/notifications', 'GET /users/:id/timeline', 'POST /posts', 'POST /posts/:id/likes']);
    const sns = requestPicker(loadScenario('sns', '.'), { default: 50 }, 1)();
    expect(sns.path).toMatch(/^\/users\/\d+\/(timeline|notifications)\?limit=\d+$|^\/posts/);
  });

  it('says what is wrong with a scenario, in one line', () => {
    const base = { requests: [{ weight: 1, method: 'GET', path: '/a/{slug}' }] };
    const cases: [unknown, RegExp][] = [
      [{ ...base, placeholders: { slug: { values: [] } } }, /placeholders\.slug\.values holds no values/],
      [{ ...base, placeholders: { slug: { values: ['x'], max: 3 } } }, /exactly one of/],
      [{ ...base, placeholders: { userId: { min: 5, max: 2 } } }, /max must be an integer ≥ min \(5\)/],
      [{ ...base, placeholders: { token: { max: 2 } } }, /filled by the auth step/],
      [{ requests: [{ weight: 1, method: 'GET', path: '/a', headers: { authorization: 'Bearer {token}' } }] }, /no "auth" step/],
      [{ ...base, auth: { path: '/login', token: { json: 'x', header: 'y' } } }, /auth\.token must name/],
      [{ ...base, auth: { path: 'login', token: { json: 'x' } } }, /auth\.path must start with \//],
      [{ ...base, auth: { path: '/login/{token}', token: { json: 'x' } } }, /auth cannot use \{token\}/],
      [{ ...base, headers: { 'bad header': 'x' } }, /"bad header" is not a header name/],
    ];
    for (const [value, problem] of cases) expect(checkScenario(value)).toMatch(problem);
    scenarioFile('missing-values.json', { ...base, placeholders: { slug: { file: 'nope.txt' } } });
    expect(() => loadScenario('missing-values.json', tmp)).toThrow(expect.objectContaining({ code: 'SCENARIO_INVALID', message: expect.stringMatching(/placeholders\.slug\.file: no such file/) }));
  });

  it('finds the token in a JSON field, a header or a cookie', () => {
    expect(tokenFrom({ json: 'user.token' }, '{"user":{"token":"t1"}}', {})).toBe('t1');
    expect(tokenFrom({ json: 'data.0.jwt' }, '{"data":[{"jwt":"t2"}]}', {})).toBe('t2');
    expect(tokenFrom({ json: 'user.token' }, '{"user":{}}', {})).toBeNull();
    expect(tokenFrom({ json: 'user.token' }, 'not json', {})).toBeNull();
    expect(tokenFrom({ header: 'x-auth-token' }, '', { 'X-Auth-Token': 't3' })).toBe('t3');
    expect(tokenFrom({ cookie: 'sid' }, '', { 'Set-Cookie': ['theme=dark; Path=/', 'sid=t4; HttpOnly'] })).toBe('t4');
    expect(tokenFrom({ cookie: 'sid' }, '', { 'Set-Cookie': 'theme=dark' })).toBeNull();
  });
});

/** A small API: POST /login issues a token (in the JSON answer, a header and a cookie) valid for `uses` requests. */
class AuthApi {
  server!: Server;
  port = 0;
  logins = 0;
  expired = 0;
  unauthorized = 0;
  served = 0;
  /** What the protected routes were asked for. */
  targets: string[] = [];
  emails = new Set<string>();
  /** Each token's owner and remaining uses. */
  private tokens = new Map<string, { left: number }>();
  constructor(
    private readonly uses: number,
    private readonly loginStatus = 200,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/login') {
        this.logins++;
        const email = (JSON.parse(body || '{}') as { user?: { email?: string } }).user?.email ?? '';
        this.emails.add(email);
        if (this.loginStatus !== 200) {
          res.writeHead(this.loginStatus, { 'content-type': 'application/json' }).end('{"error":"no"}');
          return;
        }
        const token = `tok-${this.logins}-${Math.random().toString(36).slice(2)}`;
        this.tokens.set(token, { left: this.uses });
        res.writeHead(200, { 'content-type': 'application/json', 'x-auth-token': token, 'set-cookie': [`sid=${token}; HttpOnly`, 'theme=dark'] });
        res.end(JSON.stringify({ user: { email, token } }));
        return;
      }
      const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? /(?:^|; )sid=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
      const entry = auth ? this.tokens.get(auth) : undefined;
      if (!entry || entry.left <= 0) {
        if (entry) this.expired++;
        this.unauthorized++;
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
        return;
      }
      entry.left--;
      this.served++;
      this.targets.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  }
}

function apiScenario(overrides: Partial<Scenario> = {}): Scenario {
  const value = {
    name: 'realworld',
    placeholders: { userId: { min: 1, max: 150_000 }, slug: { values: SLUGS }, loginUser: { min: 1, max: 3 } },
    auth: { method: 'POST', path: '/login', body: { user: { email: 'user{loginUser}@example.com', password: 'secret' } }, token: { json: 'user.token' } },
    requests: [
      { weight: 3, method: 'GET', path: '/api/articles/{slug}', headers: { Authorization: 'Bearer {token}' } },
      { weight: 1, method: 'GET', path: '/api/profiles/{userId}?limit=5', headers: { Authorization: 'Bearer {token}' } },
    ],
    ...overrides,
  };
  expect(checkScenario(value)).toBeNull();
  return value as Scenario;
}

describe('under load against a real server', () => {
  const api = new AuthApi(25);
  beforeAll(() => api.start());
  afterAll(() => api.stop());

  it('each connection logs in, sends its token, logs in again after a 401, and load.json keeps the path patterns', async () => {
    const connections = 4;
    const result = await runLoad({ url: `http://127.0.0.1:${api.port}`, scenario: apiScenario(), ids: { default: 10 }, connections, durationS: 2 });
    // every protected answer is counted, and none went out without a valid token but those of expired tokens
    const articles = result.routes['GET /api/articles/:slug']!;
    const profiles = result.routes['GET /api/profiles/:userId']!;
    const login = result.routes['POST /login']!;
    expect(articles.requests + profiles.requests).toBeGreaterThan(200);
    expect(api.unauthorized).toBe(api.expired);
    // the client counts every 401 it got; the server may have answered one more per connection as the load stopped
    expect(articles.non2xx + profiles.non2xx).toBeLessThanOrEqual(api.unauthorized);
    expect(articles.non2xx + profiles.non2xx).toBeGreaterThanOrEqual(api.unauthorized - connections);
    // one login per connection, then one per expired token (at most one expiry can be in flight when the load stops)
    expect(login.requests).toBeGreaterThanOrEqual(connections);
    // the server may have answered one more login per connection as the load stopped (the client never saw it)
    expect(api.logins).toBeGreaterThanOrEqual(login.requests);
    expect(api.logins).toBeLessThanOrEqual(login.requests + connections);
    expect(api.logins - connections).toBeGreaterThanOrEqual(api.expired - connections);
    expect(api.logins - connections).toBeLessThanOrEqual(api.expired);
    expect(api.expired).toBeGreaterThan(connections); // 25 uses a token: tokens did expire and were replaced
    expect(login.non2xx).toBe(0);
    expect(result.overall.requests).toBe(articles.requests + profiles.requests + login.requests);
    expect(result.overall.errors).toBe(0);
    // login bodies drew their placeholder too
    expect([...api.emails].every((e) => /^user[1-3]@example\.com$/.test(e))).toBe(true);
    // the routes' method and path patterns, {placeholders} kept: they are what the evidence matches requests by
    expect(articles).toMatchObject({ method: 'GET', paths: ['/api/articles/{slug}'] });
    expect(profiles).toMatchObject({ method: 'GET', paths: ['/api/profiles/{userId}'] });
    expect(login).toMatchObject({ method: 'POST', paths: ['/login'] });
    const matchArticles = loadRouteMatcher(articles.method, articles.paths[0]!);
    const matchProfiles = loadRouteMatcher(profiles.method, profiles.paths[0]!);
    const seenSlugs = new Set<string>();
    for (const t of api.targets) {
      const [method, target] = t.split(' ') as [string, string];
      expect(matchArticles(method, target) !== matchProfiles(method, target), t).toBe(true);
      const slug = /^\/api\/articles\/([^/?]+)$/.exec(target)?.[1];
      if (slug) seenSlugs.add(decodeURIComponent(slug));
      const id = /^\/api\/profiles\/(\d+)\?limit=5$/.exec(target)?.[1];
      if (!slug) expect(Number(id)).toBeGreaterThanOrEqual(1);
      if (!slug) expect(Number(id)).toBeLessThanOrEqual(150_000);
    }
    expect([...seenSlugs].sort()).toEqual([...SLUGS].sort());
  });

  it('sends the token from a header or a cookie as the scenario says', async () => {
    for (const [token, headers] of [
      [{ header: 'x-auth-token' }, { authorization: 'Bearer {token}' }],
      [{ cookie: 'sid' }, { cookie: 'sid={token}' }],
    ] as const) {
      const before = { served: api.served, unauthorized: api.unauthorized, expired: api.expired };
      const scenario = apiScenario({
        auth: { path: '/login', body: { user: { email: 'a@example.com' } }, token },
        requests: [{ weight: 1, method: 'GET', path: '/api/articles/{slug}', headers }],
      });
      const r = await runLoad({ url: `http://127.0.0.1:${api.port}`, scenario, ids: { default: 10 }, connections: 2, durationS: 1 });
      expect(r.routes['GET /api/articles/:slug']!.requests).toBeGreaterThan(20);
      expect(api.served - before.served).toBeGreaterThan(20);
      expect(api.unauthorized - before.unauthorized).toBe(api.expired - before.expired);
    }
  });

  it('fails with AUTH_FAILED when the token is not where the scenario says, or the app rejects a fresh one', async () => {
    const url = `http://127.0.0.1:${api.port}`;
    const noToken = apiScenario({ auth: { path: '/login', token: { json: 'session.jwt' } } });
    await expect(runLoad({ url, scenario: noToken, ids: { default: 10 }, connections: 2, durationS: 5 })).rejects.toMatchObject({
      code: 'AUTH_FAILED',
      message: 'the auth step POST /login answered 200 without a token in its JSON field "session.jwt"',
    });
    const wrongHeader = apiScenario({ requests: [{ weight: 1, method: 'GET', path: '/api/articles/{slug}', headers: { authorization: 'Token {token}' } }] });
    const started = Date.now();
    await expect(runLoad({ url, scenario: wrongHeader, ids: { default: 10 }, connections: 2, durationS: 5 })).rejects.toMatchObject({
      code: 'AUTH_FAILED',
      message: expect.stringContaining('GET /api/articles/:slug answered 401 to a token the auth step had just issued'),
    });
    // it stops at once rather than measuring 5 s of 401s
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('a login the app refuses', () => {
  const api = new AuthApi(10, 403);
  beforeAll(() => api.start());
  afterAll(() => api.stop());

  it('fails with AUTH_FAILED naming the status, and never shows the answer', async () => {
    const err = await runLoad({ url: `http://127.0.0.1:${api.port}`, scenario: apiScenario(), ids: { default: 10 }, connections: 2, durationS: 5 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AUTH_FAILED', message: 'the auth step POST /login answered 403' });
    expect(JSON.stringify(err)).not.toContain('secret');
  });

  it('the same seed gives the same requests, login included', () => {
    const a = scenarioRequests(apiScenario(), { default: 10 }, 9);
    const b = scenarioRequests(apiScenario(), { default: 10 }, 9);
    for (let i = 0; i < 20; i++) {
      expect(a.login()).toEqual(b.login());
      expect(a.next({ token: 't' })).toEqual(b.next({ token: 't' }));
    }
    expect(a.next({ token: 'tok-1' }).headers.authorization).toBe('Bearer tok-1');
  });
});

/** Every file under a folder, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('looplens profile --scenario with an auth step (fixture app, built CLI)', () => {
  it('logs in, loads the protected routes, records their patterns, and writes neither token nor password', async () => {
    const dir = mkdtempSync(join(tmp, 'cli-'));
    writeFileSync(join(dir, 'slugs.txt'), SLUGS.join('\n'));
    writeFileSync(
      join(dir, 'realworld.json'),
      JSON.stringify({
        name: 'realworld',
        placeholders: { slug: { file: 'slugs.txt' }, userId: { min: 1, max: 150000, distribution: 'zipf' } },
        headers: { authorization: 'Token {token}' },
        auth: { path: '/api/users/login', body: { user: { email: 'jake@example.com', password: 'fixture-secret' } }, token: { json: 'user.token' } },
        requests: [
          { weight: 3, method: 'GET', path: '/api/articles/{slug}' },
          { weight: 1, method: 'GET', path: '/api/profiles/{userId}?limit=3' },
        ],
      }),
    );
    const out = join(dir, 'run');
    const r = await runCli(['profile', '--scenario', join(dir, 'realworld.json'), '--duration', '2', '--warmup', '1', '-c', '2', '--out', out, '--', 'node', join(ROOT, 'test/scripts/fixtures/auth-app.mjs')]);
    expect(r.code, r.stderr).toBe(0);
    expect(readRunInfo(out).load.scenario).toBe(join(dir, 'realworld.json'));
    const load = readLoad(out);
    expect(load.routes['GET /api/articles/:slug']).toMatchObject({ method: 'GET', paths: ['/api/articles/{slug}'], non2xx: 0 });
    expect(load.routes['GET /api/profiles/:userId']).toMatchObject({ method: 'GET', paths: ['/api/profiles/{userId}'], non2xx: 0 });
    // the warm-up logged in on its own connections; the measured load logged in once per connection
    expect(load.routes['POST /api/users/login']).toMatchObject({ requests: 2, non2xx: 0, paths: ['/api/users/login'] });
    expect(load.routes['GET /api/articles/:slug']!.requests).toBeGreaterThan(20);
    for (const file of filesUnder(out)) {
      const text = readFileSync(file, 'latin1');
      expect(text.includes('looplens-fixture-token-'), `a token in ${file}`).toBe(false);
      expect(text.includes('fixture-secret'), `the password in ${file}`).toBe(false);
    }
  });
});
