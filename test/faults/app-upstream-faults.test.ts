/**
 * External services (the target-app/upstream stand-in) failing or hanging on half the calls, under load:
 * - every post is still answered 201 and stored; failures are counted by the app (its /stats reconcile exactly with
 *   what the stand-in did; summary.json's `upstream` from a real profile run: app-profile-run.test.ts);
 * - no unhandled rejection, no crash, no log flood;
 * - background work stays bounded while the services hang (no unbounded queue, memory flat), and the app still
 *   stops cleanly with hung calls in flight.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabase } from '../../target-app/db/connection.js';
import { hostedImageUrl } from '../../target-app/upstream/server.js';
import { startUpstream } from '../target-app/helpers.js';
import {
  CRASH_SIGNS,
  FAULTS_SCALE,
  closeAgent,
  dropCacheKeys,
  dbQuery,
  drive,
  getJson,
  jsonPost,
  prng,
  rssMb,
  seeded,
  sharedDatabaseUrl,
  sleep,
  startAppChild,
  statusCounts,
  type RawRequest,
} from './helpers-app.js';

const DB = sharedDatabaseUrl('upstream');

interface Stats {
  upstream: { calls: number; failures: number };
  background: { running: number; done: number; failed: number; dropped: number };
}

beforeAll(async () => {
  await seeded(DB);
});

afterAll(async () => {
  await dropCacheKeys('looplens_test_faults_upstream').catch(() => {});
  closeAgent();
  await dropDatabase(DB).catch(() => {});
});

/** New posts, every third with an image (whose upload the client waits for). */
function posts(label: string, seed: number, count: number): () => RawRequest | null {
  const rand = prng(seed);
  let n = 0;
  return () => {
    if (n >= count) return null;
    const i = n++;
    const userId = 1 + Math.floor(rand() * FAULTS_SCALE);
    return jsonPost('/posts', { userId, content: `${label} #${i}`, ...(i % 3 === 0 ? { imageUrl: `https://images.example/${label}/${i}.jpg` } : {}) });
  };
}

async function waitFor<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > deadline) return v;
    await sleep(100);
  }
}

describe('faults: external services failing or hanging on half the calls', () => {
  const cases = [
    { stage: 'pooled', mode: 'fail', options: { failureRate: { images: 0.5, notify: 0.5, index: 0.5 } } },
    { stage: 'cached', mode: 'hang', options: { timeoutRate: { images: 0.5, notify: 0.5, index: 0.5 } } },
  ] as const;
  for (const { stage, mode, options } of cases) {
    it(`${stage}, services that ${mode} 50 %: every post 201 and stored, failures counted exactly, no unhandled rejection, no log flood`, async () => {
      const seed = mode === 'fail' ? 101 : 202;
      const up = await startUpstream({ ...options, seed });
      const app = await startAppChild({ STAGE: stage, DATABASE_URL: DB, UPSTREAM_URL: up.url, UPSTREAM_TIMEOUT_MS: '400' });
      try {
        const label = `upstream-${mode}-${stage}-${seed}`;
        const answers = await drive({ base: app.url, concurrency: 8, next: posts(label, seed, 150), until: () => false, timeoutMs: 5000 });
        const ctx = `seed ${seed}, statuses ${JSON.stringify(statusCounts(answers))}`;
        expect(answers.filter((a) => a.status !== 201).slice(0, 3).map((a) => `${a.status} ${a.error ?? a.text.slice(0, 200)}`), ctx).toEqual([]);
        // the client waits at most for the image upload's timeout, never for notify/index
        expect(Math.max(...answers.map((a) => a.ms)), ctx).toBeLessThan(2500);

        // stored, with the image URL the answer gave: the hosted one, or — the upload failed — the one sent
        const bodies = answers.map((a) => a.json as { id: number; content: string; imageUrl: string | null });
        const sent = new Map(answers.map((a) => [JSON.parse(String(a.req.body)).content as string, JSON.parse(String(a.req.body)).imageUrl as string | undefined]));
        for (const b of bodies) {
          const given = sent.get(b.content);
          expect([b.content, b.imageUrl], ctx).toEqual([b.content, given === undefined ? null : expect.toBeOneOf([given, hostedImageUrl(given)])]);
        }
        const rows = await dbQuery<{ id: number; content: string; image_url: string | null }>(DB, 'SELECT id, content, image_url FROM posts WHERE id = ANY ($1::int[])', [bodies.map((b) => b.id)]);
        expect(Object.fromEntries(rows.map((r) => [r.id, [r.content, r.image_url]])), ctx).toEqual(Object.fromEntries(bodies.map((b) => [b.id, [b.content, b.imageUrl]])));
        expect(bodies.filter((b) => b.imageUrl?.startsWith('https://images.example/')).length, ctx).toBeGreaterThan(5); // some uploads did fail

        // once the background work is done, the app's counters reconcile with what the stand-in did
        const stats = await waitFor(() => getJson<Stats>(app.url, '/stats'), (s) => s.background.running === 0, 5000);
        const did = up.upstream.stats();
        const calls = did.calls.images + did.calls.notify + did.calls.index;
        const failed = Object.values(did.failures).reduce((x, y) => x + y, 0) + Object.values(did.timeouts).reduce((x, y) => x + y, 0);
        expect(stats.upstream, ctx).toMatchObject({ calls, failures: failed });
        expect(stats.upstream.calls, ctx).toBe(150 * 2 + 50); // notify + index per post, an upload for every third
        expect(stats.upstream.failures / stats.upstream.calls, ctx).toBeGreaterThan(0.35);
        expect(stats.upstream.failures / stats.upstream.calls, ctx).toBeLessThan(0.65);
        expect(stats.background, ctx).toEqual({ running: 0, done: 150, failed: 0, dropped: 0 });

        // alive, nothing unhandled, and the failures are reported, not flooded (one line per kind per 5 s)
        expect(app.child.exitCode).toBeNull();
        const stderr = app.stderr();
        expect(stderr, ctx).not.toMatch(CRASH_SIGNS);
        expect(stderr, ctx).toMatch(/call failed/);
        expect(stderr.trim().split('\n').length, ctx).toBeLessThan(20);
      } finally {
        expect(await app.stop(), 'exit after SIGTERM').toEqual({ code: 0, signal: null });
        await up.close();
      }
    });
  }

  it('pooled, services that hang on every call: background work stays capped at 256 (the rest dropped and counted), posts stay fast, memory flat, clean stop', async () => {
    const up = await startUpstream({ timeoutRate: { notify: 1, index: 1 } });
    // a long timeout: every notify+index task stays in flight for the whole test
    const app = await startAppChild({ STAGE: 'pooled', DATABASE_URL: DB, UPSTREAM_URL: up.url, UPSTREAM_TIMEOUT_MS: '60000' });
    try {
      const rand = prng(303);
      let n = 0;
      const next = (count: number) => () =>
        n >= count ? null : jsonPost('/posts', { userId: 1 + Math.floor(rand() * FAULTS_SCALE), content: `hung upstream #${n++}` });
      const warm = await drive({ base: app.url, concurrency: 8, next: next(200), until: () => false });
      const rssWarm = rssMb(app.pid);
      const rest = await drive({ base: app.url, concurrency: 8, next: next(600), until: () => false });
      const answers = [...warm, ...rest];
      const ctx = `statuses ${JSON.stringify(statusCounts(answers))}`;
      expect(answers.filter((a) => a.status !== 201).length, ctx).toBe(0);
      expect(answers.length).toBe(600);
      const sorted = answers.map((a) => a.ms).sort((a, b) => a - b);
      expect(sorted[Math.floor(sorted.length * 0.95)], ctx).toBeLessThan(1000); // the client never waits for the hung calls

      const stats = await getJson<Stats>(app.url, '/stats');
      expect(stats.background).toEqual({ running: 256, done: 0, failed: 0, dropped: 600 - 256 });
      const did = up.upstream.stats();
      expect(did.calls.notify, 'calls that reached the services are bounded too').toBeLessThanOrEqual(256);
      expect(did.calls.index).toBeLessThanOrEqual(256);
      const rssEnd = rssMb(app.pid);
      expect(rssEnd - rssWarm, `RSS ${rssWarm.toFixed(1)} MB after 200 posts → ${rssEnd.toFixed(1)} MB after 600`).toBeLessThan(40);
      expect(app.stderr()).not.toMatch(CRASH_SIGNS);
      expect(app.stderr()).toMatch(/background work "notify\+index" dropped: 256 tasks already running/);
    } finally {
      const t = performance.now();
      expect(await app.stop(), 'exit after SIGTERM with hung calls in flight').toEqual({ code: 0, signal: null });
      expect(performance.now() - t).toBeLessThan(6000);
      await up.close();
    }
  });
});
