/**
 * probes/parent-watch.ts in real processes: a stand-in for looplens starts an app with the probes preloaded (ESM and
 * CJS entries) in a process group of its own, with a probe-less process beside it in that group (as 0x is beside the
 * app); SIGKILL of the stand-in takes the whole group down within seconds. Without LOOPLENS_PARENT_PID, or with a
 * live parent, the watch never keeps an app alive: a script with nothing left to do exits at once.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { CJS_ENTRY, ESM_ENTRY, NODE } from './harness.js';

const tmp = mkdtempSync(join(tmpdir(), 'looplens-parent-watch-'));
const started: number[] = [];
afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  rmSync(tmp, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // a zombie has exited; it only waits for its parent to reap it
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * The looplens stand-in: spawns, detached (own group, as scripts/profile/process.ts does), a probe-less "wrapper"
 * node process that itself runs the app with the preload; prints the wrapper's and the app's pids, then idles.
 */
const LAUNCHER = join(tmp, 'launcher.mjs');
writeFileSync(
  LAUNCHER,
  `import { spawn } from 'node:child_process';
const [node, flag, entry] = process.argv.slice(2);
const wrapper = spawn(node, ['-e', \`
  const { spawn } = require('node:child_process');
  const app = spawn(process.argv[1], [process.argv[2], process.argv[3], '-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  console.log(app.pid);
  setInterval(() => {}, 1000);
\`, node, flag, entry], { detached: true, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOOPLENS_PARENT_PID: String(process.pid) } });
wrapper.stdout.once('data', (d) => console.log(JSON.stringify({ wrapper: wrapper.pid, app: Number(String(d).trim()) })));
setInterval(() => {}, 1000);
`,
);

async function launch(flag: string, entry: string): Promise<{ launcher: number; wrapper: number; app: number }> {
  const child = spawn(NODE, [LAUNCHER, NODE, flag, entry], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOOPLENS_OUT: '' } });
  started.push(child.pid!);
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d) => resolve(String(d)));
    child.once('exit', () => reject(new Error('the launcher exited early')));
  });
  const pids = JSON.parse(line) as { wrapper: number; app: number };
  started.push(pids.wrapper, pids.app);
  return { launcher: child.pid!, ...pids };
}

describe('the parent watch', () => {
  it.each([
    ['--import', ESM_ENTRY],
    ['--require', CJS_ENTRY],
  ])('SIGKILL of looplens takes the app and the probe-less wrapper in its group down (%s)', async (flag, entry) => {
    const { launcher, wrapper, app } = await launch(flag, entry);
    await sleep(800); // the preload has run and its watch is on
    expect(alive(app) && alive(wrapper)).toBe(true);
    process.kill(launcher, 'SIGKILL');
    const until = Date.now() + 5000;
    while ((alive(app) || alive(wrapper)) && Date.now() < until) await sleep(100);
    expect({ app: alive(app), wrapper: alive(wrapper) }).toEqual({ app: false, wrapper: false });
  });

  it('never keeps an app alive: with a live parent, or none, a finished script exits at once', () => {
    for (const env of [{ LOOPLENS_PARENT_PID: String(process.pid) }, {}]) {
      for (const [flag, entry] of [
        ['--import', ESM_ENTRY],
        ['--require', CJS_ENTRY],
      ]) {
        const t = Date.now();
        const r = spawnSync(NODE, [flag, entry, '-e', 'setTimeout(() => {}, 50)'], { env: { ...process.env, LOOPLENS_OUT: '', ...env }, timeout: 10_000 });
        expect(r.status, String(r.stderr)).toBe(0);
        expect(Date.now() - t).toBeLessThan(5000);
      }
    }
  });
});
