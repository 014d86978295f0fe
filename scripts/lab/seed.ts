/** Migrate and seed through target-app's seed-main.js (a child process), showing its progress. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { terminateSeed } from '../../target-app/db/seed.js';
import { LooplensError } from '../errors.js';
import { TailBuffer } from '../profile/process.js';
import type { Progress } from '../progress.js';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/looplens';

export interface SeedResult {
  scale?: number;
  users?: number;
  posts?: number;
  skipped?: boolean;
  ms?: number;
  [key: string]: unknown;
}

export async function runSeed(options: {
  root: string;
  databaseUrl: string;
  scale?: number;
  migrateOnly?: boolean;
  progress: Progress;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}): Promise<SeedResult> {
  const script = join(options.root, 'dist/target-app/db/seed-main.js');
  if (!existsSync(script)) {
    throw new LooplensError('BUILD_MISSING', `the seeder is not built (${script} is missing)`, 'run `npm run build` in the looplens folder');
  }
  const mode = options.migrateOnly ? ['--migrate-only'] : ['--scale', String(options.scale ?? 150000)];
  const args = [script, ...mode];
  const child = spawn(process.execPath, args, {
    env: { ...(options.env ?? process.env), DATABASE_URL: options.databaseUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const errTail = new TailBuffer(10);
  const outTail = new TailBuffer(5);
  let partial = '';
  child.stderr.on('data', (d: Buffer) => {
    errTail.push(d);
    const text = partial + d.toString();
    const lines = text.split(/\r?\n|\r/);
    partial = lines.pop() ?? '';
    const last = lines.filter((l) => l.trim()).pop();
    if (last) options.progress.update(last.trim().slice(0, 100));
  });
  child.stdout.on('data', (d: Buffer) => outTail.push(d));
  const onAbort = () => child.kill('SIGKILL');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', () => resolve({ code: 127, signal: null }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  options.signal?.removeEventListener('abort', onAbort);
  if (options.signal?.aborted) {
    // the seeder is gone, but PostgreSQL would run its statement to the end (holding the schema lock the next run
    // waits on): end its sessions, found by their application_name, and wait until they are gone
    if (child.pid) {
      options.progress.update('interrupted: ending the seed\'s statements in PostgreSQL');
      await terminateSeed(options.databaseUrl, child.pid).catch(() => 0);
    }
    throw options.signal.reason;
  }
  if (code !== 0) {
    throw new LooplensError(
      'SEED_FAILED',
      `${options.migrateOnly ? 'migration' : 'seeding'} failed (${signal ? `killed by ${signal}` : `exit code ${code}`})`,
      'check DATABASE_URL and that PostgreSQL accepts connections; the seeder said:',
      { details: errTail.get().slice(-6) },
    );
  }
  const last = outTail.get().pop() ?? '{}';
  try {
    return JSON.parse(last) as SeedResult;
  } catch {
    return {};
  }
}
