/**
 * Fuzz: a few thousand malformed requests across every route of target-app (cached stage, a child process, as the
 * lab runs it): wrong types, huge/negative/NaN/unknown ids, oversize bodies, bad content types and encodings,
 * invalid UTF-8, %-escapes and traversal in path params, deeply nested and huge JSON, injection strings, raw
 * malformed HTTP. Every answer must be a 4xx with a JSON {error, message} — never a 2xx, a 5xx or a hang — the
 * process stays alive and its memory flat.
 *
 * Inputs come from a seeded PRNG (FUZZ_SEED overrides it); every failure message carries the seed and the request.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabase } from '../../target-app/db/connection.js';
import { startUpstream } from '../target-app/helpers.js';
import {
  CRASH_SIGNS,
  FAULTS_SCALE,
  closeAgent,
  dropCacheKeys,
  drive,
  getJson,
  prng,
  rssMb,
  seeded,
  sharedDatabaseUrl,
  startAppChild,
  statusCounts,
  type Answer,
  type AppChild,
  type RawRequest,
} from './helpers-app.js';

const DB = sharedDatabaseUrl('fuzz');
const SEED = Number(process.env.FUZZ_SEED) || 20261123;
const WARMUP = 800;
const MIDDLE = 2400;
const TOTAL = 4000;

let upstream: Awaited<ReturnType<typeof startUpstream>>;
let app: AppChild | undefined;

beforeAll(async () => {
  await seeded(DB);
  upstream = await startUpstream();
});

afterAll(async () => {
  await dropCacheKeys('looplens_test_faults_fuzz').catch(() => {});
  await app?.stop();
  closeAgent();
  await upstream?.close();
  await dropDatabase(DB).catch(() => {});
});

// ------------------------------------------------------------------------------------------------- generators

type Rand = () => number;
const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const int = (rand: Rand, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const enc = encodeURIComponent;

const INJECTIONS = [
  "1' OR '1'='1",
  '1; DROP TABLE users; --',
  "1 UNION SELECT password FROM pg_shadow--",
  '$1',
  '${7*7}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '../../../../etc/passwd',
  '%s%s%s%n',
  '\\x00',
  'null',
  'undefined',
  'true',
  '__proto__',
  'constructor',
];

/** Path-parameter tokens that are never a valid id (raw: sent verbatim on the request line). */
function badIdToken(rand: Rand): string {
  const r = rand();
  if (r < 0.5) {
    return pick(rand, [
      '0', '-1', '-0', '1.5', '-2147483648', '2147483648', '99999999999', '1e400', 'NaN', 'Infinity', '-Infinity', 'abc', 'x1',
      '%00', '%ff', '%fe%ff', '%c0%af', '%ed%a0%80', '%e0%80%af', '%', '%zz', '%%', '1%', 'ab%c', '%2e%2e', '..', '.', '%2F', '1%2F2',
      '%5C', '%0d%0aX-Injected:%201', '%20', '1%00', '%EF%BC%91', '%D9%A1', '[]', '{}', '%7B%7D', '1,2', '1;2', '(1)', '~1', '!1',
    ]);
  }
  if (r < 0.7) return enc(pick(rand, INJECTIONS));
  if (r < 0.8) return '9'.repeat(int(rand, 11, 4000)); // far past a PostgreSQL integer
  if (r < 0.9) return `x${Array.from({ length: int(rand, 1, 40) }, () => `%${int(rand, 0, 255).toString(16).padStart(2, '0')}`).join('')}`;
  return `-${int(rand, 1, 1e9)}`;
}

/** An id that is well formed but names nobody: a 404 after a real database round trip. */
const unknownId = (rand: Rand) => String(int(rand, 10 * FAULTS_SCALE, 2_147_483_647));
const knownUser = (rand: Rand) => String(int(rand, 1, FAULTS_SCALE));
const knownPost = (rand: Rand) => String(int(rand, 1, 4 * FAULTS_SCALE));

/** A limit query that is always invalid. */
function badLimit(rand: Rand, max: number): string {
  return `?${pick(rand, [
    'limit=0', 'limit=-1', `limit=${max + 1}`, 'limit=1e9', 'limit=abc', 'limit=1.5', 'limit=', 'limit=NaN', 'limit=%00', 'limit=%ff',
    'limit=1&limit=2', 'limit=Infinity', `limit=${'9'.repeat(400)}`, `limit=${enc(pick(rand, INJECTIONS))}`, 'limit=%', 'limit=0x10x',
    'limit=true', 'limit=[1]', 'limit=-0.5', `limit=${'1'.repeat(30)}`,
  ])}`;
}

/** Any query (valid or not) to go with an otherwise-invalid request. */
function anyQuery(rand: Rand): string {
  return pick(rand, ['', '?limit=5', '?limit=abc', '?%', '?%%%', '?a=%ff', `?${'q'.repeat(int(rand, 1, 3000))}=1`, '?__proto__[limit]=1', '?limit[]=1', '?=&=&', '?limit=1#frag']);
}

const json = (body: unknown) => JSON.stringify(body);

/** A body value that is not what the field wants. */
function wrongValue(rand: Rand): unknown {
  return pick(rand, [
    null, true, false, '', '1', '7', -1, 0, 1.5, 2147483648, 1e308, -1e308, [], [1], {}, { id: 1 }, '😀', 'NaN', ' 1', '1 ',
    'x'.repeat(int(rand, 281, 3000)), pick(rand, INJECTIONS),
  ]);
}

/** A JSON text that is not valid JSON. */
function brokenJson(rand: Rand): string {
  const valid = json({ userId: int(rand, 1, FAULTS_SCALE), content: 'fuzz' });
  return pick(rand, [
    valid.slice(0, int(rand, 0, valid.length - 1)),
    `${valid}garbage`,
    `${valid}}`,
    "{'userId': 1, 'content': 'single quotes'}",
    '{"userId": NaN, "content": "x"}',
    '{"userId": 1, "content": "x",}',
    '{"userId": 1 /* comment */, "content": "x"}',
    '{"userId": 01, "content": "x"}',
    '{"userId": 1, "content": "\\uZZZZ"}',
    '{"userId": 1, "content": "unterminated}',
    '{"userId":1,"content":"a"}\u0000',
    '[',
    '{',
    '"just a string"',
    'undefined',
    '',
    ' ',
    '\u0000',
    '{"__proto__": {"admin": true}, "userId": 1, "content": "x"}',
    '{"constructor": {"prototype": {"admin": true}}, "userId": 1, "content": "x"}',
  ]);
}

/** Deep nesting or sheer size, under and over the 64 KB body limit. */
function hugeOrDeepJson(rand: Rand): string {
  const r = rand();
  if (r < 0.25) {
    const d = int(rand, 1000, 30_000);
    return '['.repeat(d) + ']'.repeat(d);
  }
  if (r < 0.45) {
    const d = int(rand, 1000, 12_000);
    return '{"userId":'.repeat(d) + '1' + '}'.repeat(d);
  }
  if (r < 0.6) return json({ userId: 1, content: Array.from({ length: int(rand, 100, 7000) }, (_, i) => i) });
  if (r < 0.75) return json(Object.fromEntries(Array.from({ length: int(rand, 100, 4000) }, (_, i) => [`k${i}`, i])));
  if (r < 0.9) return json({ userId: 1, content: 'y'.repeat(int(rand, 60_000, 300_000)) }); // mostly past 64 KB: 413
  return '['.repeat(int(rand, 70_000, 200_000)); // past the limit and broken
}

/** A body for POST /posts that is invalid however it is sent. */
function badPostBody(rand: Rand): string | Buffer {
  const r = rand();
  const userId = int(rand, 1, FAULTS_SCALE);
  if (r < 0.3) {
    const body: Record<string, unknown> = { userId, content: 'fuzz post', imageUrl: 'https://images.example/f.jpg' };
    const field = pick(rand, ['userId', 'content', 'imageUrl', 'missing userId', 'missing content', 'extra']);
    if (field === 'missing userId') delete body.userId;
    else if (field === 'missing content') delete body.content;
    else if (field === 'extra') body[pick(rand, ['admin', 'id', 'createdAt', 'likeCount', 'user_id', 'toString', 'hasOwnProperty'])] = wrongValue(rand);
    else {
      let v = wrongValue(rand);
      // a valid value by chance: make it certainly wrong
      if (field === 'userId' && Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 2147483647) v = -1;
      if (field === 'content' && typeof v === 'string' && v.length >= 1 && [...v].length <= 280) v = 42;
      if (field === 'imageUrl' && typeof v === 'string') v = pick(rand, ['javascript:alert(1)', 'ftp://x/y', 'http://', 'https://a b', `https://x/${'a'.repeat(2100)}`, 'data:text/html,<b>']);
      body[field] = v;
    }
    return json(body);
  }
  if (r < 0.4) return json({ userId, content: pick(rand, ['nul \u0000 byte', 'lone \ud800 high', 'lone \udfff low', '\u0000', `${'😀'.repeat(281)}`]) });
  if (r < 0.5) return json({ userId: Number(unknownId(rand)), content: pick(rand, INJECTIONS) }); // well formed, unknown user: 404
  if (r < 0.65) {
    // invalid UTF-8 in an otherwise valid post
    const bad = pick(rand, [[0xff], [0xfe, 0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xc3]]);
    return Buffer.concat([Buffer.from(`{"userId":${userId},"content":"bad bytes `), Buffer.from(bad), Buffer.from('"}')]);
  }
  if (r < 0.8) return brokenJson(rand);
  if (r < 0.9) return json(pick(rand, [[], [json({ userId, content: 'x' })], 'a string', 42, null, true]));
  return hugeOrDeepJson(rand);
}

function badLikeBody(rand: Rand): string | Buffer {
  const r = rand();
  if (r < 0.4) {
    let v = wrongValue(rand);
    if (Number.isInteger(v) && (v as number) >= 1) v = 0;
    return json(pick(rand, [{ userId: v }, {}, { userId: 1, extra: v }, { user: 1 }, { userId: [1] }]));
  }
  if (r < 0.55) return json({ userId: Number(unknownId(rand)) }); // unknown user: 404
  if (r < 0.75) return brokenJson(rand);
  if (r < 0.85) return Buffer.concat([Buffer.from('{"userId":1'), Buffer.from([0xff, 0xfe]), Buffer.from('}')]);
  return hugeOrDeepJson(rand);
}

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json;charset=UTF-8'];
const OTHER_TYPES = [
  'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=xyz', 'application/xml', 'text/html',
  'application/json; charset=utf-16', 'application/json; charset=latin1', 'application/jsonx', 'json', '*/*', 'application/',
  'application/octet-stream', 'image/png', `application/${'x'.repeat(3000)}`, 'application/json, text/plain', ';', 'application/json; boundary=',
];

/** A POST with a body: mostly JSON content types (so the body itself is what is wrong), sometimes a wrong type. */
function withBody(rand: Rand, path: string, body: string | Buffer, label: string): RawRequest {
  const r = rand();
  const headers: Record<string, string> = {};
  if (r < 0.75) headers['content-type'] = pick(rand, JSON_TYPES);
  else if (r < 0.95) headers['content-type'] = pick(rand, OTHER_TYPES);
  // else: no content type at all
  if (rand() < 0.05) headers['content-encoding'] = pick(rand, ['gzip', 'br', 'deflate', 'identity, gzip', 'x-unknown']);
  return { method: 'POST', path, headers, body, label: `${label} [${headers['content-type'] ?? 'no content-type'}${headers['content-encoding'] ? `, ${headers['content-encoding']}` : ''}]` };
}

/** One malformed request (never a valid one). */
function malformed(rand: Rand): RawRequest {
  const r = rand();
  const route = pick(rand, ['timeline', 'notifications'] as const);
  const max = route === 'timeline' ? 100 : 200;
  if (r < 0.15) return { method: 'GET', path: `/users/${badIdToken(rand)}/${route}${anyQuery(rand)}`, label: 'bad user id' };
  if (r < 0.25) return { method: 'GET', path: `/users/${knownUser(rand)}/${route}${badLimit(rand, max)}`, label: 'bad limit' };
  if (r < 0.3) return { method: 'GET', path: `/users/${unknownId(rand)}/${route}${pick(rand, ['', '?limit=5'])}`, label: 'unknown user' };
  if (r < 0.55) return withBody(rand, '/posts', badPostBody(rand), 'bad post body');
  if (r < 0.6) return withBody(rand, `/posts/${badIdToken(rand)}/likes`, json({ userId: 1 }), 'bad post id');
  if (r < 0.72) return withBody(rand, `/posts/${knownPost(rand)}/likes`, badLikeBody(rand), 'bad like body');
  if (r < 0.75) return withBody(rand, `/posts/${unknownId(rand)}/likes`, json({ userId: 1 }), 'unknown post');
  if (r < 0.8) {
    return { method: 'GET', path: `/blocking-io/${pick(rand, ['sync', 'offloaded', 'async'])}?ms=${pick(rand, ['-1', '5001', 'abc', '1.5', '', '%ff', '1e9', 'NaN', enc(pick(rand, INJECTIONS))])}`, label: 'bad ms' };
  }
  if (r < 0.88) {
    // unknown routes and methods, traversal, encoded slashes, junk
    const method = pick(rand, ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
    const path = pick(rand, [
      '/', '/users', '/users/', '/users/1', '/users/1/', '/users/1/timeline/extra', '/posts/1', '/posts/1/likes/2', '/posts/', '//posts',
      '/users/1/../../etc/passwd', '/users/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc%2fpasswd', '/users/1%2Ftimeline', '/%00', '/%ff',
      `/${'a'.repeat(int(rand, 100, 6000))}`, '/.env', '/admin', '/stats/../health/x', '/users//timeline', '/blocking-io/nope', `/${enc(pick(rand, INJECTIONS))}`,
    ]);
    return { method, path, label: 'unknown route/method' };
  }
  if (r < 0.92) return { method: pick(rand, ['PUT', 'DELETE', 'PATCH']), path: pick(rand, ['/posts', `/users/${knownUser(rand)}/timeline`, `/posts/${knownPost(rand)}/likes`, '/health', '/stats']), label: 'wrong method' };
  if (r < 0.96) return { method: 'POST', path: pick(rand, ['/posts', `/posts/${knownPost(rand)}/likes`]), label: 'POST without a body', headers: rand() < 0.5 ? { 'content-type': 'application/json' } : {} };
  // oversize headers: past Node's 16 KB limit (431) or a huge but allowed one with a bad id
  const big = rand() < 0.5;
  return { method: 'GET', path: `/users/${big ? knownUser(rand) : badIdToken(rand)}/${route}`, headers: { 'x-fuzz': 'h'.repeat(big ? int(rand, 17_000, 40_000) : int(rand, 100, 8000)) }, label: big ? 'header overflow' : 'big header' };
}

// ------------------------------------------------------------------------------------------- raw malformed HTTP

const RAW_CASES: { label: string; bytes: Buffer }[] = [
  ['request line with HTTP/9.9', 'GET /users/1/timeline HTTP/9.9\r\nHost: x\r\n\r\n'],
  ['header without a colon', 'GET /users/1/timeline HTTP/1.1\r\nHost: x\r\nBroken header\r\n\r\n'],
  ['Content-Length and Transfer-Encoding together', 'POST /posts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
  ['two Content-Length headers', 'POST /posts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}'],
  ['negative Content-Length', 'POST /posts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n'],
  ['bad chunk size', 'POST /posts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'],
  ['space in the path', 'GET /users/1 /timeline HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['control byte in the path', 'GET /users/\u0001/timeline HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['bare LF line ends', 'GET /users/abc/timeline HTTP/1.1\nHost: x\n\n'],
  ['unknown method', 'FROB /users/1/timeline HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['binary garbage', '\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003'],
  ['chunked body that is not JSON', 'POST /posts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n0\r\n\r\n'],
].map(([label, text]) => ({ label, bytes: Buffer.from(text, 'latin1') }));

/** Writes raw bytes and reads until the server closes or 3 s pass; parses status and body of the first answer. */
function sendRaw(port: number, bytes: Buffer): Promise<{ status: number; json: unknown; text: string; closedWithoutAnswer: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const m = data.match(/^HTTP\/1\.[01] (\d{3})/);
      const [head, ...rest] = data.split('\r\n\r\n');
      let body = rest.join('\r\n\r\n');
      if (/transfer-encoding: chunked/i.test(head)) body = body.replace(/^[0-9a-f]+\r\n/i, '').replace(/\r\n0\r\n\r\n$/, '');
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = undefined;
      }
      resolve({ status: m ? Number(m[1]) : 0, json: parsed, text: data.slice(0, 300), closedWithoutAnswer: !m });
    };
    const timer = setTimeout(done, 3000);
    socket.on('data', (d: Buffer) => {
      data += d.toString('latin1');
      // one complete answer is enough (keep-alive would otherwise hold the socket open)
      const head = data.split('\r\n\r\n')[0];
      const len = head.match(/content-length: (\d+)/i);
      if (len && data.length >= head.length + 4 + Number(len[1])) done();
    });
    socket.on('error', () => {});
    socket.on('close', done);
    socket.write(bytes);
  });
}

// ------------------------------------------------------------------------------------------------------ test

function describeAnswer(a: Answer): string {
  const body = a.req.body === undefined ? '' : Buffer.isBuffer(a.req.body) ? `0x${a.req.body.subarray(0, 60).toString('hex')}` : a.req.body.slice(0, 100);
  return `${a.req.label}: ${a.req.method} ${a.req.path.slice(0, 120)} ${JSON.stringify(a.req.headers ?? {}).slice(0, 120)} ${body} (${a.req.body?.length ?? 0} B) → ${a.status} ${a.error ?? a.text.slice(0, 160)}`;
}

describe('faults: fuzzing every route with malformed requests', () => {
  it(`cached stage: ${TOTAL} seeded malformed requests + raw malformed HTTP → only 4xx with a JSON {error, message}, no hang, process alive, RSS flat`, async () => {
    app = await startAppChild({ STAGE: 'cached', DATABASE_URL: DB, UPSTREAM_URL: upstream.url });
    const rand = prng(SEED);
    let sent = 0;
    const next = (limit: number) => () => (sent < limit ? (sent++, malformed(rand)) : null);
    const isGood = (a: Answer) =>
      a.status >= 400 && a.status < 500 && typeof (a.json as { error?: unknown })?.error === 'string' && typeof (a.json as { message?: unknown })?.message === 'string';

    const warm = await drive({ base: app.url, concurrency: 8, next: next(WARMUP), until: () => false, timeoutMs: 10_000 });
    const rssWarm = rssMb(app.pid);
    const first = await drive({ base: app.url, concurrency: 8, next: next(MIDDLE), until: () => false, timeoutMs: 10_000 });
    const rssMiddle = rssMb(app.pid);
    const second = await drive({ base: app.url, concurrency: 8, next: next(TOTAL), until: () => false, timeoutMs: 10_000 });
    const rssEnd = rssMb(app.pid);
    const answers = [...warm, ...first, ...second];
    const notSendable = answers.filter((a) => a.status === -1);
    const checked = answers.filter((a) => a.status !== -1);
    const ctx = `FUZZ_SEED=${SEED} (rerun with it to replay), statuses ${JSON.stringify(statusCounts(checked))}`;

    expect(notSendable.length, `${ctx}; requests node:http refused to send: ${notSendable.slice(0, 3).map(describeAnswer).join(' | ')}`).toBeLessThan(TOTAL * 0.02);
    expect(checked.filter((a) => !isGood(a)).slice(0, 8).map(describeAnswer), ctx).toEqual([]);
    // the run covered the ground it claims: validation, unknown rows (404), body limit (413), content types (415)
    const counts = statusCounts(checked);
    for (const status of ['400', '404', '413', '415']) expect(counts[status] ?? 0, ctx).toBeGreaterThan(20);

    // raw malformed HTTP: a JSON 4xx from the server's client-error handler, or at worst the connection closed
    const raw = [];
    for (const c of RAW_CASES) raw.push({ label: c.label, ...(await sendRaw(Number(new URL(app.url).port), c.bytes)) });
    expect(
      raw.filter((r) => !(r.closedWithoutAnswer || (r.status >= 400 && r.status < 500 && typeof (r.json as { error?: unknown })?.error === 'string'))).map((r) => `${r.label} → ${r.text}`),
    ).toEqual([]);
    expect(raw.filter((r) => !r.closedWithoutAnswer).length, JSON.stringify(raw.map((r) => [r.label, r.status]))).toBeGreaterThan(RAW_CASES.length / 2);

    console.log(`fuzz: ${checked.length} requests, FUZZ_SEED=${SEED}, statuses ${JSON.stringify(counts)}; raw ${JSON.stringify(raw.map((r) => r.status))}; RSS ${rssWarm.toFixed(1)} → ${rssMiddle.toFixed(1)} → ${rssEnd.toFixed(1)} MB`);
    // alive, serving, quiet, and memory flat (generous bound: the machine is shared and GC is lazy)
    expect(app.child.exitCode).toBeNull();
    expect(await getJson(app.url, '/health')).toEqual({ ok: true, stage: 'cached' });
    expect(app.stderr(), ctx).not.toMatch(CRASH_SIGNS);
    const rss = `RSS ${rssWarm.toFixed(1)} MB after ${WARMUP} requests → ${rssMiddle.toFixed(1)} MB after ${MIDDLE} → ${rssEnd.toFixed(1)} MB after ${TOTAL}`;
    expect(rssEnd - rssWarm, `${ctx}; ${rss}`).toBeLessThan(80);
    expect(rssEnd - rssMiddle, `${ctx}; ${rss}: the second half must not keep growing`).toBeLessThan(40);
    // nothing was written by a malformed request
    const stats = await getJson<{ requests: number; cache: { invalidations: number } }>(app.url, '/stats');
    expect(stats.cache.invalidations, ctx).toBe(0);
  }, 120_000);
});
