/**
 * An app that ignores $PORT (fixed-port/app.cjs, Hapi on the port of its own config) is profiled by the real CLI
 * without --port: looplens finds where it listens and says so in one line. An app that never listens gets a message
 * naming --port and --ready-timeout.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRunInfo } from '../../profiles/contract/index.js';
import { APPS, IDS, SCENARIOS, createBlogDb, dbUrl, describeRoutes, dropDb, ensureFixtures, freePort, profile, removeRoot, tempRoot, type Profiled } from './harness.js';

const DB = 'looplens_test_apps_fixed_port';

let root = '';
let port = 0;
let run: Profiled;
let silent: Profiled;

beforeAll(async () => {
  ensureFixtures();
  root = tempRoot('fixed-port');
  await createBlogDb(DB);
  port = await freePort();
  run = await profile(
    join(APPS, 'fixed-port/app.cjs'),
    ['--scenario', join(SCENARIOS, 'fixed-port.json'), '--ids', String(IDS), '--duration', '4'],
    { DATABASE_URL: dbUrl(DB), HAPI_PORT: String(port) },
    root,
    'fixed',
  );
  silent = await profile(join(APPS, 'fixed-port/never-listens.cjs'), ['--path', '/', '--duration', '2', '--ready-timeout', '3'], {}, root, 'silent');
}, 200_000);

afterAll(async () => {
  removeRoot(root);
  await dropDb(DB);
});

describe('an app on a port of its own', () => {
  it('is profiled without --port: every request answered, on both routes', () => {
    expect(run.code, run.output.slice(-1500)).toBe(0);
    expect(run.summary!.overall.requests).toBeGreaterThan(20);
    expect(run.summary!.overall.non2xx).toBe(0);
    expect(Object.keys(run.summary!.routes).sort(), describeRoutes(run.summary)).toEqual(
      [expect.stringMatching(/^GET \/api\/authors\/(?:\{authorId\}|:authorId)\/posts$/), expect.stringMatching(/^GET \/api\/posts\/(?:\{postId\}|:postId)$/)],
    );
  });

  it('says in one line that it used the app\'s own port', () => {
    const notes = readRunInfo(run.dir).notes ?? [];
    const said = [...notes, ...run.output.split('\n')].filter((l) => l.includes(String(port)) && /port/i.test(l));
    expect(said.length, `${notes.join(' | ')}\n${run.output.slice(-1500)}`).toBeGreaterThanOrEqual(1);
  });
});

describe('an app that never listens', () => {
  it('fails with a message naming --port and --ready-timeout', () => {
    expect(silent.code).toBe(1);
    expect(silent.output).toMatch(/APP_NOT_LISTENING/);
    expect(silent.output).toMatch(/--port/);
    expect(silent.output).toMatch(/--ready-timeout/);
  });
});
