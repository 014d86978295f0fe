/**
 * One real `looplens profile` run of target-app (pooled) under a scenario whose requests carry Authorization and
 * Cookie headers and a hostile route name, against external services that fail or hang on half their calls, then
 * `looplens report` over it:
 * - summary.json's `upstream {calls, failures}` is filled and shows about half the calls failed;
 * - every request still succeeded, the app logged the failures and nothing unhandled;
 * - no authorization or cookie value in any file of the run folder or the report;
 * - the report escapes the hostile route name and carries no executable script.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabase } from '../../target-app/db/connection.js';
import { ROOT } from '../target-app/helpers.js';
import { CRASH_SIGNS, seeded, sharedDatabaseUrl } from './helpers-app.js';

const DB = sharedDatabaseUrl('profile');
const tmp = mkdtempSync(join(tmpdir(), 'looplens-faults-profile-'));

beforeAll(async () => {
  await seeded(DB);
});

afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await dropDatabase(DB).catch(() => {});
});

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

function looplens(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/looplens.js'), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

describe('faults: a real profile run against failing services, with secrets and a hostile route name', () => {
  it('summary.json counts the upstream failures (~50 %), every request succeeds, no secret in any file, the report escapes the hostile name', async () => {
    const secrets = { authorization: 'Bearer SECRET-TOKEN-faults-e2e', cookie: 'session=SECRET-COOKIE-faults-e2e' };
    const hostile = "<script>alert('route')</script>";
    const scenario = join(tmp, 'hostile.json');
    writeFileSync(
      scenario,
      JSON.stringify({
        name: 'hostile',
        requests: [
          { weight: 2, method: 'GET', path: '/users/{userId}/timeline?limit=5', headers: secrets },
          { weight: 2, method: 'POST', path: '/posts', body: { userId: '{userId}', content: `${hostile} '; DROP TABLE posts; --`, imageUrl: 'https://images.example/{userId}.jpg' }, headers: secrets },
          { weight: 1, method: 'GET', path: '/users/{userId}/notifications?limit=5', route: `GET ${hostile}`, headers: secrets },
        ],
      }),
    );
    const out = join(tmp, 'run');
    const profiled = await looplens(['profile', '--stage', 'pooled', '--scenario', scenario, '--duration', '3', '--warmup', '1', '-c', '4', '-o', out], {
      DATABASE_URL: DB,
      UPSTREAM_URL: '', // looplens starts the stand-in, which reads the UPSTREAM_* settings below
      UPSTREAM_LATENCY_MS: 'images=20,notify=10,index=10',
      UPSTREAM_FAILURE_RATE: 'notify=0.5,index=0.5',
      UPSTREAM_TIMEOUT_RATE: 'images=0.5',
      UPSTREAM_TIMEOUT_MS: '300', // the app gives up on a hung upload after 300 ms
    });
    expect(profiled.code, profiled.output).toBe(0);

    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
      overall: { requests: number; non2xx: number; errors: number };
      upstream?: { calls: number; failures: number };
    };
    expect(summary.overall, profiled.output).toMatchObject({ non2xx: 0, errors: 0 });
    expect(summary.overall.requests).toBeGreaterThan(20);
    expect(summary.upstream, 'summary.json upstream').toBeDefined();
    expect(summary.upstream!.calls).toBeGreaterThan(10);
    const share = summary.upstream!.failures / summary.upstream!.calls;
    expect(share, JSON.stringify(summary.upstream)).toBeGreaterThan(0.3);
    expect(share, JSON.stringify(summary.upstream)).toBeLessThan(0.7);
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))).toMatchObject({ complete: true });
    const appLog = readFileSync(join(out, 'app.log'), 'utf8');
    expect(appLog).toMatch(/(notify|index|images) call failed/);
    expect(appLog).not.toMatch(CRASH_SIGNS);

    const index = join(tmp, 'report', 'index.html');
    const reported = await looplens(['report', out, '--out', index], {});
    expect(reported.code, reported.output).toBe(0);

    const files = [...filesUnder(out), ...filesUnder(join(tmp, 'report'))];
    expect(files.some((f) => f.endsWith('traces.otlp.json'))).toBe(true);
    for (const file of files) {
      const text = readFileSync(file, 'latin1');
      expect(text.includes('SECRET-TOKEN-faults-e2e') || text.includes('SECRET-COOKIE-faults-e2e'), `a secret in ${file}`).toBe(false);
    }
    // the hostile route name reached the report, escaped; pages carry data blocks only, never closed early
    const pages = filesUnder(join(tmp, 'report')).filter((f) => f.endsWith('.html'));
    expect(pages.map((f) => readFileSync(f, 'utf8')).join('\n')).toContain('&lt;script&gt;alert(');
    for (const page of pages) {
      const text = readFileSync(page, 'utf8');
      const opens = text.match(/<script\b[^>]*>/gi) ?? [];
      expect(opens.filter((t) => !/type="application\/json"/i.test(t)), page).toEqual([]);
      expect((text.match(/<\/script/gi) ?? []).length, page).toBe(opens.length);
      expect(text, page).not.toContain(hostile);
    }
  });
});
