/**
 * The acceptance on a real lab run: `looplens lab` over every target-app stage (small scale, a hot-users scenario so
 * repeated reads exist, external services 3.3× faster, two connections so the synchronous baseline still completes
 * its slow POSTs, 6 s per stage), then `diagnoseLab`: baseline shows every
 * finding but pool starvation, each stage loses what its change fixes and gains none, cached shows none.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { readFindings } from '../../profiles/contract/index.js';
import { loadEvidence } from '../../scripts/analysis/evidence.js';
import { diagnoseLab } from '../../scripts/diagnose/index.js';
import { expectLabFindings } from './lab-expectations.js';

const DB = 'looplens_test_diagnose_lab';
const DATABASE_URL = `postgres://postgres@127.0.0.1:5432/${DB}`;
const REDIS_URL = 'redis://127.0.0.1:6379/4'; // diagnose's Redis db
const SCENARIO = fileURLToPath(new URL('./fixtures/lab-scenario.json', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/looplens.js', import.meta.url));
/** The external services' latencies scaled down (300/200/150 ms → 90/60/45): same pattern, a shorter baseline. */
const UPSTREAM_LATENCY_MS = 'images=90,notify=60,index=45';
const tmp = mkdtempSync(join(tmpdir(), 'looplens-diagnose-live-lab-'));

afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await client.end();
  const redis = new Redis(REDIS_URL);
  await redis.flushdb();
  redis.disconnect();
});

describe('diagnose on a real lab run', () => {
  it('shows the stages as findings that disappear one by one', async () => {
    const out = join(tmp, 'lab');
    // The real CLI, compiled (child processes run dist/, as users do), without the heap profile: its switch between
    // halves can hold the loop ~25 ms mid-window (a note on every stage; memory has tests of its own).
    const args = ['lab', '--scale', '200', '--duration', '6', '--warmup', '1', '--connections', '2', '--scenario', SCENARIO, '--out', out];
    const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, [BIN, ...args], { cwd: tmp, env: { ...process.env, DATABASE_URL, REDIS_URL, UPSTREAM_LATENCY_MS, LOOPLENS_QUIET: '1', LOOPLENS_HEAP_PROFILE: '0' }, maxBuffer: 64 << 20 }, (err, _stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }),
      );
    });
    expect(code, stderr.slice(-2000)).toBe(0);
    const lab = diagnoseLab(out);
    for (const s of lab.stages) {
      expect(s.file.notes).toEqual([]);
      // profile wrote the same findings into every run folder
      expect(readFindings(s.dir).findings.map((f) => f.key)).toEqual(s.file.findings.map((f) => f.key));
    }
    expectLabFindings(lab);
    // every block of the synchronous baseline is charged to the request whose work ran in it
    const baseline = loadEvidence(lab.stages[0]!.dir).measured;
    expect(baseline.blocks.length).toBeGreaterThan(0);
    expect(baseline.chargedShare).toBeGreaterThanOrEqual(0.99);
  }, 480_000);
});
