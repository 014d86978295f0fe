/** `looplens report` and `looplens serve` through the CLI, and the report server's guards. */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, parseCLI } from '../../scripts/cli.js';
import { serveReport, type RunningServer } from '../../dashboards/report/serve.js';
import { buildLab, buildRun } from './fixtures.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let root: string;
let profiles: string;

function capture() {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s), isTTY: false }, env: { LOOPLENS_QUIET: '1' }, cwd: root },
    out: () => out,
    err: () => err,
  };
}

/** A raw GET (the path is sent as is, not normalised the way fetch() would). */
function get(port: number, path: string, host = `127.0.0.1:${port}`, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'looplens-cmd-'));
  profiles = join(root, 'profiles');
  buildLab(profiles, {});
  buildRun(join(profiles, 'single'), { id: 'single', speed: 2, routes: ['GET /'], blocking: false, hostile: false, seed: 9, startMs: Date.UTC(2025, 0, 1) });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('looplens report', () => {
  it('parses any number of folders', () => {
    const parsed = parseCLI(['report', 'a', 'b', 'c', '--out', 'x.html']);
    expect(parsed.kind).toBe('run');
    if (parsed.kind === 'run') {
      expect(parsed.entry.spec.name).toBe('report');
      expect(parsed.positionals).toEqual(['a', 'b', 'c']);
      expect(parsed.options.out).toBe('x.html');
    }
    expect(parseCLI(['report', '--help']).kind).toBe('help');
  });

  it('writes profiles/index.html by default and says where', async () => {
    const c = capture();
    expect(await main(['report'], c.io)).toBe(0);
    expect(existsSync(join(profiles, 'index.html'))).toBe(true);
    expect(c.out()).toContain('report: profiles/index.html');
    expect(c.out()).toMatch(/1 lab page, 6 run pages/);
  });

  it('writes the given folders to --out', async () => {
    const c = capture();
    expect(await main(['report', 'profiles/single', join(profiles, '2025-01-02T03-04-05-lab'), '--out', 'elsewhere/r.html'], c.io)).toBe(0);
    expect(existsSync(join(root, 'elsewhere', 'r.html'))).toBe(true);
    expect(existsSync(join(root, 'elsewhere', 'report', 'single.html'))).toBe(true);
  });

  it('says where with an absolute path, not a ../../ one, when the report is outside the working folder', async () => {
    const c = capture();
    const out = join(root, '..', `${basename(root)}-outside`, 'r.html');
    try {
      expect(await main(['report', 'profiles/single', '--out', out], c.io)).toBe(0);
      expect(c.out()).toContain(`report: ${resolve(out)}`);
      expect(c.out()).not.toContain('../');
    } finally {
      rmSync(dirname(out), { recursive: true, force: true });
    }
  });

  it('names a folder that is not a run, with a stable code and exit 1', async () => {
    const c = capture();
    mkdirSync(join(root, 'empty'), { recursive: true });
    expect(await main(['report', 'empty'], c.io)).toBe(1);
    expect(c.err()).toMatch(/empty is neither a run folder .* \[NOT_A_RUN_FOLDER\]/);
  });
});

describe('the report server', () => {
  let server: RunningServer;
  beforeAll(async () => {
    writeFileSync(join(root, 'secret.txt'), 'outside');
    symlinkSync(join(root, 'secret.txt'), join(profiles, 'link.txt'));
    server = await serveReport({ root: profiles });
  });
  afterAll(() => server?.close());

  it('listens on 127.0.0.1 and serves the index and the pages', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const index = await get(server.port, '/');
    expect(index.status).toBe(200);
    expect(index.body).toContain('<h1>Runs</h1>');
    expect((await get(server.port, '/report/single.html')).status).toBe(200);
    expect((await get(server.port, '/2025-01-02T03-04-05-lab/01-baseline/flamegraph.html')).status).toBe(200);
    expect((await get(server.port, '/nope.html')).status).toBe(404);
  });

  it('refuses traversal, symlink escapes, other Host headers and other methods', async () => {
    expect((await get(server.port, '/../secret.txt')).status).toBe(403);
    expect((await get(server.port, '/%2e%2e/secret.txt')).status).toBe(403);
    expect((await get(server.port, '/..%2fsecret.txt')).status).toBe(403);
    expect((await get(server.port, '/link.txt')).status).toBe(403);
    expect((await get(server.port, '/', 'evil.example:80')).status).toBe(421);
    expect((await get(server.port, '/', `localhost:${server.port}`)).status).toBe(200);
    expect((await get(server.port, '/', undefined, 'POST')).status).toBe(405);
  });
});

describe('looplens serve', () => {
  it('writes the report, prints the URL, serves until Ctrl-C and exits 0', async () => {
    const bin = join(ROOT, 'bin/looplens.js');
    expect(existsSync(join(ROOT, 'dist/scripts/cli.js')), 'dist/ is missing: npm run build').toBe(true);
    rmSync(join(profiles, 'index.html'), { force: true });
    const child = spawn(process.execPath, [bin, 'serve', '--dir', profiles], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOOPLENS_QUIET: '1' } });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let text = '';
        const timer = setTimeout(() => reject(new Error(`no URL printed: ${text}`)), 20_000);
        child.stdout.on('data', (d: Buffer) => {
          text += d.toString();
          const m = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(text);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${text}`)));
      });
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('2025-01-02T03-04-05-lab');
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
