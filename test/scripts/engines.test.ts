/**
 * Node 20 without EBADENGINE: fastify 5's light-my-request pulls cookie@2, which declares node >= 22 (and ships ESM
 * only, which Node before 20.19 cannot require()). package.json overrides it to cookie@1.1, which has the same
 * stringifySetCookie and declares node >= 18. Checked here: fastify's inject() builds its Cookie header with it,
 * and no installed runtime package refuses the Node the README promises (20.6) or the one running.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README_FLOOR = /Node\.js (\d+\.\d+) or newer/.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'))?.[1];

describe('engines', () => {
  it('fastify inject() sends cookies through the overridden cookie package', async () => {
    const app = Fastify();
    app.get('/', async (req) => ({ cookie: req.headers.cookie ?? null }));
    try {
      const res = await app.inject({ method: 'GET', url: '/', cookies: { a: '1', b: 'x y' } });
      expect(res.json()).toEqual({ cookie: 'a=1; b=x%20y' });
    } finally {
      await app.close();
    }
    const cookie = JSON.parse(readFileSync(join(ROOT, 'node_modules/light-my-request/node_modules/cookie/package.json'), 'utf8')) as { version: string; engines: { node: string } };
    expect(semver.major(cookie.version)).toBe(1);
  });

  it(`every runtime dependency accepts Node ${README_FLOOR}.0 (README) and ${process.version}`, () => {
    expect(README_FLOOR).toBeTruthy();
    const paths = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .filter((p) => p.includes('node_modules'));
    expect(paths.length).toBeGreaterThan(100);
    const refusing: string[] = [];
    for (const dir of paths) {
      let pkg: { name?: string; version?: string; engines?: { node?: unknown } };
      try {
        pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      } catch {
        continue;
      }
      const range = pkg.engines?.node;
      if (typeof range !== 'string') continue;
      for (const v of [`${README_FLOOR}.0`, process.version]) {
        if (!semver.satisfies(v, range)) refusing.push(`${pkg.name}@${pkg.version} (node ${range}) refuses ${v}`);
      }
    }
    expect(refusing).toEqual([]);
  }, 60_000);
});
