/**
 * PostgreSQL frozen under load (pooled and cached stages): every process of a PRIVATE embedded PostgreSQL — its
 * postmaster and all its backends, found by its data folder's postmaster.pid and their parent pid — is paused with
 * SIGSTOP, so connections are accepted by the kernel but nothing ever answers (the shared server on :5432 is never
 * touched). Issue #7: without timeouts a request then hung for good. With PG_CONNECT_TIMEOUT_MS / PG_QUERY_TIMEOUT_MS:
 * - every request is answered within those timeouts plus a margin: 503 {error, message} with Retry-After, or, in the
 *   cached stage, a read Redis still holds (200) — never a 500, never a hang;
 * - after SIGCONT serving resumes within seconds;
 * - every post and like answered 201 is in the database.
 * And the baseline's synchronous client (worker thread + Atomics.wait) gives up on a frozen server too: a statement
 * in flight fails after PG_QUERY_TIMEOUT_MS, and the baseline stage answers 503 instead of blocking for good.
 * The private server is always thawed and destroyed, even when an assertion fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncPgClient, closeSyncPg } from '../../target-app/db/sync-client.js';
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
  send,
  sleep,
  startAppChild,
  startPrivatePostgres,
  statusCounts,
  type Answer,
  type PrivatePostgres,
  type RawRequest,
} from './helpers-app.js';

const DATABASE = 'looplens_test_faults_pg_freeze';
const CONNECT_TIMEOUT_MS = 1000;
const QUERY_TIMEOUT_MS = 1500;
/** The longest a request may take while PostgreSQL is frozen: a pool wait or connect, then one statement, + margin. */
const BOUND_MS = CONNECT_TIMEOUT_MS + QUERY_TIMEOUT_MS + 1500;

let server: PrivatePostgres;
let dbUrl: string;
let upstream: Awaited<ReturnType<typeof startUpstream>>;

beforeAll(async () => {
  server = await startPrivatePostgres();
  dbUrl = await seededPrivate(server, DATABASE);
  upstream = await startUpstream();
}, 60_000);

afterAll(async () => {
  server?.thaw();
  await closeSyncPg();
  await dropCacheKeys(DATABASE).catch(() => {});
  closeAgent();
  await upstream?.close();
  await server?.destroy();
});

/** Reads, new posts (each with a unique content) and likes, over the seeded users and posts. */
function mixedLoad(stage: string, seed: number): () => RawRequest {
  const rand = prng(seed);
  const user = () => 1 + Math.floor(rand() * FAULTS_SCALE);
  let n = 0;
  return () => {
    const r = rand();
    if (r < 0.4) return { method: 'GET', path: `/users/${user()}/timeline?limit=10` };
    if (r < 0.5) return { method: 'GET', path: `/users/${user()}/notifications?limit=10` };
    if (r < 0.8) return jsonPost('/posts', { userId: user(), content: `pg-freeze ${stage} #${n++} ${seed}` });
    return jsonPost(`/posts/${1 + Math.floor(rand() * 4 * FAULTS_SCALE)}/likes`, { userId: user() });
  };
}

describe('faults: PostgreSQL frozen (SIGSTOP) during load', () => {
  for (const stage of ['pooled', 'cached']) {
    it(`${stage}: answers every request within ${BOUND_MS} ms (503 + Retry-After, or a cached read) while PostgreSQL is frozen, resumes after SIGCONT, loses no acknowledged write`, async () => {
      const app = await startAppChild({
        STAGE: stage,
        DATABASE_URL: dbUrl,
        UPSTREAM_URL: upstream.url,
        PG_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
        PG_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
      });
      const seed = 70 + stage.length;
      const t0 = performance.now();
      let stopping = false;
      const marks = { frozen: 0, thawed: 0 };
      let frozenPids: number[] = [];
      try {
        // a hang shows up as status 0 "no answer within 8000 ms"
        const load = drive({ base: app.url, concurrency: 8, next: mixedLoad(stage, seed), until: () => stopping, timeoutMs: 8000 });
        await sleep(1500);
        frozenPids = server.freeze();
        marks.frozen = performance.now();
        await sleep(4000);
        server.thaw();
        marks.thawed = performance.now();
        await sleep(4000);
        stopping = true;
        const answers = await load;
        const at = (a: Answer) => `${Math.round(a.at - t0)} ms (+${Math.round(a.ms)} ms): ${a.req.method} ${a.req.path} → ${a.status} ${a.error ?? a.text.slice(0, 120)}`;
        const ctx = `seed ${seed}, frozen ${Math.round(marks.frozen - t0)} ms (${frozenPids.length} processes), thawed ${Math.round(marks.thawed - t0)} ms, statuses ${JSON.stringify(statusCounts(answers))}`;

        // all of the private server's processes were paused: a postmaster and its backends (the pool's connections)
        expect(frozenPids.length, ctx).toBeGreaterThan(3);

        // never a 500, a transport error, a hang or a non-JSON answer: 2xx, or 503 {error, message} + Retry-After
        const is503 = (a: Answer) =>
          a.status === 503 &&
          typeof (a.json as { error?: unknown })?.error === 'string' &&
          typeof (a.json as { message?: unknown })?.message === 'string' &&
          a.headers?.['retry-after'] === '1';
        const bad = answers.filter((a) => !(a.status === 200 || a.status === 201 || is503(a)));
        expect(bad.slice(0, 5).map(at), `${ctx}\napp stderr: ${app.stderr().slice(-1500)}`).toEqual([]);

        // before the freeze: everything served
        const before = answers.filter((a) => a.at + a.ms < marks.frozen);
        expect(before.length, ctx).toBeGreaterThan(5);
        expect(before.every((a) => a.status < 300), ctx).toBe(true);

        // frozen: every request in flight or sent meanwhile is answered within the timeouts + margin
        const during = answers.filter((a) => a.at + a.ms >= marks.frozen && a.at < marks.thawed);
        expect(during.filter((a) => a.ms > BOUND_MS).slice(0, 5).map(at), ctx).toEqual([]);
        // …and what was both sent and answered while frozen is a 503, or a read the cached stage had in Redis
        const frozen = during.filter((a) => a.at >= marks.frozen && a.at + a.ms < marks.thawed);
        const servedFromCache = (a: Answer) => stage === 'cached' && a.req.method === 'GET' && a.status === 200;
        expect(frozen.filter((a) => !is503(a) && !servedFromCache(a)).slice(0, 5).map(at), ctx).toEqual([]);
        expect(frozen.filter(is503).length, ctx).toBeGreaterThan(10);

        // thawed: the first success within seconds, and from 2.5 s after SIGCONT every answer is a success
        const firstOk = answers.filter((a) => a.at + a.ms >= marks.thawed && a.status < 300).sort((a, b) => a.at + a.ms - (b.at + b.ms))[0];
        expect(firstOk, ctx).toBeDefined();
        expect(firstOk.at + firstOk.ms - marks.thawed, ctx).toBeLessThan(3000);
        const settled = answers.filter((a) => a.at >= marks.thawed + 2500);
        expect(settled.length, ctx).toBeGreaterThan(20);
        expect(settled.filter((a) => a.status >= 300).slice(0, 5).map(at), ctx).toEqual([]);

        // zero acknowledged writes lost
        const posts = answers.filter((a) => a.status === 201 && a.req.path === '/posts').map((a) => a.json as { id: number; content: string });
        const likes = answers.filter((a) => a.status === 201 && a.req.path !== '/posts').map((a) => a.json as { postId: number; userId: number });
        expect(posts.length, ctx).toBeGreaterThan(20);
        expect(likes.length, ctx).toBeGreaterThan(5);
        await expectWritesStored(dbQuery, dbUrl, posts, likes, ctx);

        // the process survived and logged no unexpected error
        expect(app.child.exitCode, ctx).toBeNull();
        expect(app.stderr(), ctx).not.toMatch(/unexpected error|unhandled|uncaught/i);
      } finally {
        stopping = true;
        server.thaw(); // always: a frozen server would hang the next stage and its own shutdown
        await app.stop();
      }
    }, 40_000);
  }

  it('the synchronous client (baseline): a statement in flight on a frozen server fails after the query timeout, then a new connect after the connect timeout; the baseline stage answers 503', async () => {
    const timeouts = { connectMs: CONNECT_TIMEOUT_MS, queryMs: QUERY_TIMEOUT_MS };
    const db = SyncPgClient.connectSync(dbUrl, { timeouts });
    const app = await startAppChild({
      STAGE: 'baseline',
      DATABASE_URL: dbUrl,
      UPSTREAM_URL: upstream.url,
      PG_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      PG_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
    });
    try {
      expect(db.querySync<{ one: number }>('SELECT 1 AS one').rows).toEqual([{ one: 1 }]);
      expect((await send(app.url, { method: 'GET', path: '/users/1/timeline?limit=10' }, 8000)).status).toBe(200);
      server.freeze();

      // a statement sent to the frozen server: pg's query_timeout in the worker, before the thread's own wait ends
      let t = performance.now();
      expect(() => db.querySync('SELECT 1')).toThrow(/Query read timeout/);
      const queryMs = performance.now() - t;
      expect(queryMs).toBeGreaterThanOrEqual(QUERY_TIMEOUT_MS - 50);
      expect(queryMs).toBeLessThan(QUERY_TIMEOUT_MS + 1000);
      t = performance.now();
      db.endSync(); // the broken connection is dropped, not waited for
      expect(performance.now() - t).toBeLessThan(500);
      t = performance.now();
      expect(() => SyncPgClient.connectSync(dbUrl, { timeouts })).toThrow(/timeout/i);
      expect(performance.now() - t).toBeLessThan(CONNECT_TIMEOUT_MS + 1000);

      // the stage: two requests at once are served one after the other (the thread blocks), each a 503 after the
      // connect timeout — never a hang
      const answers = await Promise.all([0, 1].map((i) => send(app.url, { method: 'GET', path: `/users/${2 + i}/timeline?limit=10` }, 8000)));
      const shown = answers.map((a) => `${a.status} ${Math.round(a.ms)} ms ${a.error ?? a.text.slice(0, 120)}`);
      expect(answers.map((a) => a.status), `${shown}\n${app.stderr().slice(-1000)}`).toEqual([503, 503]);
      expect(answers.every((a) => a.headers?.['retry-after'] === '1' && typeof (a.json as { error?: unknown })?.error === 'string'), String(shown)).toBe(true);
      expect(Math.max(...answers.map((a) => a.ms)), String(shown)).toBeLessThan(2 * CONNECT_TIMEOUT_MS + 1500);

      server.thaw();
      let after = await send(app.url, { method: 'GET', path: '/users/4/timeline?limit=10' }, 8000);
      for (let i = 0; i < 20 && after.status !== 200; i++) {
        await sleep(250);
        after = await send(app.url, { method: 'GET', path: '/users/4/timeline?limit=10' }, 8000);
      }
      expect(after.status, after.text.slice(0, 200)).toBe(200);
      expect(app.stderr()).not.toMatch(/unexpected error|unhandled|uncaught/i);
    } finally {
      server.thaw();
      db.endSync();
      await app.stop();
    }
  }, 30_000);
});
