/**
 * Security of the reference app under load (issue #7, "Security"):
 * - SQL-injection payloads posted concurrently are stored and served back verbatim, and nothing they say runs
 *   (parameterised queries everywhere): no table dropped, no row deleted, no pg_sleep;
 * - target-app and the external-services stand-in listen on 127.0.0.1 unless told otherwise.
 * (No secrets in traces or reports, and escaping in the report, from a real profile run: app-profile-run.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabase } from '../../target-app/db/connection.js';
import { distFile, run, startUpstream, stop } from '../target-app/helpers.js';
import {
  closeAgent,
  dropCacheKeys,
  dbQuery,
  drive,
  jsonPost,
  seeded,
  send,
  sharedDatabaseUrl,
  startAppChild,
  statusCounts,
  type RawRequest,
} from './helpers-app.js';

const DB = sharedDatabaseUrl('security');

beforeAll(async () => {
  await seeded(DB);
});

afterAll(async () => {
  await dropCacheKeys('looplens_test_faults_security').catch(() => {});
  closeAgent();
  await dropDatabase(DB).catch(() => {});
});

const PAYLOADS = [
  "'; DROP TABLE posts; --",
  "' OR '1'='1",
  "1); DELETE FROM users; --",
  "Robert'); DROP TABLE likes;--",
  "'||(SELECT pg_sleep(3))||'",
  "'; SELECT pg_sleep(3); --",
  '$$; DROP TABLE follows; $$',
  "\\'; TRUNCATE notifications; --",
  "E'\\x27'; DROP TABLE users; --",
  "'); SELECT pg_terminate_backend(pg_backend_pid()); --",
  "'; COPY users TO '/tmp/looplens-pwned'; --",
  '" OR ""="',
  '`; rm -rf /; `',
  "%27%20OR%201%3D1",
  'ʼ OR 1=1 -- (modifier apostrophe)',
  "'; UPDATE users SET name = 'pwned'; --",
  "$1 $2 :name ? %s {0}",
  "<script>alert('xss')</script>",
  '{"$gt": ""}',
  '\u2028\u2029 line separators \t tab \\ backslash',
];

async function tableCounts(): Promise<Record<string, number>> {
  const [row] = await dbQuery<Record<string, number>>(
    DB,
    `SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM follows) AS follows,
            (SELECT count(*)::int FROM likes) AS likes, (SELECT count(*)::int FROM notifications) AS notifications,
            (SELECT count(*)::int FROM users WHERE name = 'pwned') AS pwned`,
  );
  return row;
}

describe('faults: security of the reference app', () => {
  it('cached stage: SQL-injection payloads posted concurrently are stored and served back verbatim, and none of them runs', async () => {
    const upstream = await startUpstream();
    const app = await startAppChild({ STAGE: 'cached', DATABASE_URL: DB, UPSTREAM_URL: upstream.url });
    try {
      const before = await tableCounts();
      // each payload posted by 3 different users, 12 at a time
      const queue: RawRequest[] = PAYLOADS.flatMap((content, i) => [0, 1, 2].map((k) => jsonPost('/posts', { userId: 1 + i * 3 + k, content })));
      const answers = await drive({ base: app.url, concurrency: 12, next: () => queue.shift() ?? null, until: () => false });
      const ctx = JSON.stringify(statusCounts(answers));
      expect(answers.filter((a) => a.status !== 201).map((a) => `${a.status} ${a.text.slice(0, 200)}`), ctx).toEqual([]);
      expect(Math.max(...answers.map((a) => a.ms)), 'no pg_sleep ran').toBeLessThan(2500);
      for (const a of answers) expect((a.json as { content: string }).content).toBe(JSON.parse(String(a.req.body)).content);

      // stored verbatim…
      const ids = answers.map((a) => (a.json as { id: number }).id);
      const rows = await dbQuery<{ id: number; content: string }>(DB, 'SELECT id, content FROM posts WHERE id = ANY ($1::int[])', [ids]);
      expect(Object.fromEntries(rows.map((r) => [r.id, r.content]))).toEqual(Object.fromEntries(answers.map((a) => [(a.json as { id: number }).id, (a.json as { content: string }).content])));
      // …served back verbatim through the API (each author's own timeline starts with their post)…
      for (const a of answers) {
        const { id, content, author } = a.json as { id: number; content: string; author: { id: number } };
        const timeline = (await send(app.url, { method: 'GET', path: `/users/${author.id}/timeline?limit=100` })).json as { posts: { id: number; content: string }[] };
        expect(timeline.posts.find((p) => p.id === id)?.content).toBe(content);
      }
      // …and nothing they say happened
      expect(await tableCounts()).toEqual(before);
      expect(before.pwned).toBe(0);
    } finally {
      await app.stop();
      await upstream.close();
    }
  });

  it('target-app and the upstream stand-in listen on 127.0.0.1 only when HOST is not set', async () => {
    const listeners = (port: number) => {
      const hex = port.toString(16).toUpperCase().padStart(4, '0');
      const lines = ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((f) => readFileSync(f, 'utf8').trim().split('\n').slice(1));
      // local_address is HEXIP:HEXPORT, state 0A = LISTEN
      return lines.map((l) => l.trim().split(/\s+/)).filter((c) => c[3] === '0A' && c[1].endsWith(`:${hex}`)).map((c) => c[1].split(':')[0]);
    };
    const up = run([distFile('target-app/upstream/main.js')], { PORT: '0', HOST: '' });
    try {
      const [, upPort] = await up.waitFor(/^upstream listening on http:\/\/127\.0\.0\.1:(\d+)$/m);
      expect(listeners(Number(upPort))).toEqual(['0100007F']); // 127.0.0.1, nothing on 0.0.0.0 or ::
      const app = await startAppChild({ STAGE: 'pooled', DATABASE_URL: DB, UPSTREAM_URL: `http://127.0.0.1:${upPort}`, HOST: '' });
      try {
        expect(app.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(listeners(Number(new URL(app.url).port))).toEqual(['0100007F']);
      } finally {
        await app.stop();
      }
    } finally {
      await stop(up);
    }
  });
});
