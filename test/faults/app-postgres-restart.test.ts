/**
 * PostgreSQL restarted under load (pooled and cached stages), on a PRIVATE embedded PostgreSQL that this file stops
 * and starts (the shared server on :5432 is never touched):
 * - while it is down every request is answered quickly with 503 and a JSON {error, message} — no hang, no 500;
 * - serving resumes within seconds once it is back;
 * - no acknowledged write is lost: every post and like answered 201 is in the database afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectWritesStored, startUpstream } from '../target-app/helpers.js';
import {
  FAULTS_SCALE,
  closeAgent,
  dbQuery,
  dropCacheKeys,
  drive,
  jsonPost,
  prng,
  seededPrivate,
  sleep,
  startAppChild,
  startPrivatePostgres,
  statusCounts,
  type Answer,
  type PrivatePostgres,
  type RawRequest,
} from './helpers-app.js';

let server: PrivatePostgres;
let dbUrl: string;
let upstream: Awaited<ReturnType<typeof startUpstream>>;

beforeAll(async () => {
  server = await startPrivatePostgres();
  dbUrl = await seededPrivate(server, 'looplens_test_faults_pg');
  upstream = await startUpstream();
});

afterAll(async () => {
  await dropCacheKeys('looplens_test_faults_pg').catch(() => {});
  closeAgent();
  await upstream?.close();
  await server?.destroy();
});

/** A mixed SNS load: reads, new posts (each with a unique content) and likes, over the seeded users and posts. */
function mixedLoad(stage: string, seed: number): () => RawRequest {
  const rand = prng(seed);
  const user = () => 1 + Math.floor(rand() * FAULTS_SCALE);
  let n = 0;
  return () => {
    const r = rand();
    if (r < 0.4) return { method: 'GET', path: `/users/${user()}/timeline?limit=10` };
    if (r < 0.5) return { method: 'GET', path: `/users/${user()}/notifications?limit=10` };
    if (r < 0.8) return jsonPost('/posts', { userId: user(), content: `pg-restart ${stage} #${n++} ${seed}` });
    return jsonPost(`/posts/${1 + Math.floor(rand() * 4 * FAULTS_SCALE)}/likes`, { userId: user() });
  };
}

describe('faults: PostgreSQL restarted during load', () => {
  for (const stage of ['pooled', 'cached']) {
    it(`${stage}: answers 503 {error, message} + Retry-After within 1 s while PostgreSQL is down, resumes within seconds, loses no acknowledged post or like`, async () => {
      const app = await startAppChild({ STAGE: stage, DATABASE_URL: dbUrl, UPSTREAM_URL: upstream.url });
      const seed = 7 + stage.length;
      const t0 = performance.now();
      let stopping = false;
      const marks = { stopBegin: 0, down: 0, startBegin: 0, up: 0 };
      try {
        const load = drive({ base: app.url, concurrency: 8, next: mixedLoad(stage, seed), until: () => stopping, timeoutMs: 10_000 });
        await sleep(1500);
        marks.stopBegin = performance.now();
        await server.stop();
        marks.down = performance.now();
        await sleep(2000);
        marks.startBegin = performance.now();
        await server.start();
        marks.up = performance.now();
        await sleep(3500);
        stopping = true;
        const answers = await load;
        const at = (a: Answer) => `${Math.round(a.at - t0)} ms: ${a.req.method} ${a.req.path} → ${a.status} ${a.error ?? a.text.slice(0, 120)}`;
        const ctx = `seed ${seed}, marks ${JSON.stringify(Object.fromEntries(Object.entries(marks).map(([k, v]) => [k, Math.round(v - t0)])))}, statuses ${JSON.stringify(statusCounts(answers))}`;

        // never a 500, a transport error or a non-JSON answer: 2xx, or 503 with {error, message}
        const bad = answers.filter(
          (a) => !((a.status === 200 || a.status === 201) || (a.status === 503 && typeof (a.json as { error?: unknown })?.error === 'string' && typeof (a.json as { message?: unknown })?.message === 'string')),
        );
        expect(bad.slice(0, 5).map(at), `${ctx}\napp stderr: ${app.stderr().slice(-1500)}`).toEqual([]);

        // before the stop: everything served
        const before = answers.filter((a) => a.at + a.ms < marks.stopBegin);
        expect(before.length, ctx).toBeGreaterThan(5);
        expect(before.every((a) => a.status < 300), ctx).toBe(true);

        // down: every request sent while the server was gone is a quick 503 — except, in the cached stage, a read
        // Redis still holds, which is served from the cache (200); no write is acknowledged without the database
        const down = answers.filter((a) => a.at >= marks.down && a.at < marks.startBegin);
        expect(down.length, ctx).toBeGreaterThan(20);
        const servedWhileDown = (a: Answer) => stage === 'cached' && a.req.method === 'GET' && a.status === 200;
        expect(down.filter((a) => a.status !== 503 && !servedWhileDown(a)).slice(0, 5).map(at), ctx).toEqual([]);
        expect(down.filter((a) => a.status === 503).length, ctx).toBeGreaterThan(20);
        expect(answers.filter((a) => a.status === 503 && a.headers?.['retry-after'] !== '1').slice(0, 3).map(at), ctx).toEqual([]);
        expect(Math.max(...down.map((a) => a.ms)), ctx).toBeLessThan(1000);

        // back: the first success comes within seconds, and from 2 s after recovery every answer is a success
        const firstOk = answers.filter((a) => a.at >= marks.up && a.status < 300).sort((a, b) => a.at - b.at)[0];
        expect(firstOk, ctx).toBeDefined();
        expect(firstOk.at + firstOk.ms - marks.up, ctx).toBeLessThan(3000);
        const settled = answers.filter((a) => a.at >= marks.up + 2000);
        expect(settled.length, ctx).toBeGreaterThan(20);
        expect(settled.filter((a) => a.status >= 300).slice(0, 5).map(at), ctx).toEqual([]);

        // zero acknowledged writes lost
        const posts = answers.filter((a) => a.status === 201 && a.req.path === '/posts').map((a) => a.json as { id: number; content: string });
        const likes = answers.filter((a) => a.status === 201 && a.req.path !== '/posts').map((a) => a.json as { postId: number; userId: number });
        expect(posts.length, ctx).toBeGreaterThan(20);
        expect(likes.length, ctx).toBeGreaterThan(10);
        await expectWritesStored(dbQuery, dbUrl, posts, likes, ctx);

        // the process survived it all and says nothing about unexpected errors
        expect(app.child.exitCode, ctx).toBeNull();
        expect(app.stderr(), ctx).not.toMatch(/unexpected error|unhandled|uncaught/i);
      } finally {
        stopping = true;
        await app.stop();
        if (!marks.up && marks.stopBegin) await server.start().catch(() => {}); // leave it running for the next stage
      }
    });
  }
});
