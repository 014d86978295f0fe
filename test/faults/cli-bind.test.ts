/**
 * Every standalone server looplens ships binds 127.0.0.1 unless told otherwise: target-app (no HOST), the
 * external-services stand-in (no HOST) and the report server of `looplens serve`. Checked on the actual listening
 * sockets (/proc/net/tcp and tcp6: only 127.0.0.1) and by connecting through a non-loopback address of this machine,
 * which must be refused. (The app under `looplens profile`: cli-security.test.ts.) There is no other listening
 * server in scripts/, dashboards/, probes/ or target-app/ (the telemetry is written to files or pushed to an
 * OTLP endpoint the user sets).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropDatabase } from '../../target-app/db/connection.js';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, expectLoopbackOnly, expectNoOrphans, killTagged, newTag } from './helpers-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'looplens-faults-bind-'));
const DB = 'looplens_test_faults_bind';
const tags: string[] = [];
afterAll(async () => {
  for (const t of tags) killTagged(t);
  rmSync(tmp, { recursive: true, force: true });
  await dropDatabase(`postgres://postgres@127.0.0.1:5432/${DB}`);
});

/** Starts a server process, resolves with the port from its first line matching `re`; killed by the caller. */
function startServer(cmd: string[], env: NodeJS.ProcessEnv, re: RegExp): Promise<{ port: number; stop: () => Promise<void>; tag: string }> {
  const tag = newTag();
  tags.push(tag);
  const child = spawn(cmd[0]!, cmd.slice(1), { cwd: ROOT, env: { ...process.env, ...env, LOOPLENS_TEST_TAG: tag }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const stop = async () => {
    child.kill('SIGINT');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await closed;
    clearTimeout(t);
  };
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d;
      const m = re.exec(out);
      if (m) resolve({ port: Number(m[1]), stop, tag });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void closed.then(() => reject(new Error(`${cmd.join(' ')} exited before listening:\n${out}`)));
  });
}

describe('servers bind 127.0.0.1 unless told otherwise', () => {
  it('target-app without HOST', async () => {
    const s = await startServer(
      [process.execPath, join(ROOT, 'dist/target-app/main.js')],
      { PORT: '0', HOST: '', STAGE: 'pooled', DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${DB}`, UPSTREAM_URL: 'http://127.0.0.1:9', REDIS_URL: 'redis://127.0.0.1:6379/3' },
      /listening on http:\/\/[^:]+:(\d+)/,
    );
    try {
      await expectLoopbackOnly(s.port);
    } finally {
      await s.stop();
    }
    await expectNoOrphans(s.tag);
  });

  it('the external-services stand-in without HOST', async () => {
    const s = await startServer([process.execPath, join(ROOT, 'dist/target-app/upstream/main.js')], { PORT: '0', HOST: '' }, /listening on http:\/\/[^:]+:(\d+)/);
    try {
      await expectLoopbackOnly(s.port);
    } finally {
      await s.stop();
    }
  });

  it('looplens serve (the report server)', async () => {
    const dir = join(tmp, 'serve');
    mkdirSync(dir);
    const s = await startServer([process.execPath, join(ROOT, 'bin/looplens.js'), 'serve', '--dir', dir, '--no-report'], {}, /serving .* at http:\/\/127\.0\.0\.1:(\d+)/);
    try {
      await expectLoopbackOnly(s.port);
    } finally {
      await s.stop();
    }
    await expectNoOrphans(s.tag);
  });

  it('told otherwise (HOST=0.0.0.0), the stand-in does listen on every address: the check above can fail', async () => {
    const s = await startServer([process.execPath, join(ROOT, 'dist/target-app/upstream/main.js')], { PORT: '0', HOST: '0.0.0.0' }, /listening on http:\/\/[^:]+:(\d+)/);
    try {
      await expect(expectLoopbackOnly(s.port)).rejects.toThrow(/listening on 0\.0\.0\.0/);
    } finally {
      await s.stop();
    }
  });
});
