/**
 * Cacheable reads on the default lab load — scenario `sns` (Zipf-skewed users, timeline 60 %, notifications 25 %,
 * posts 10 %, likes 5 %), ten connections — where the stages' throughputs differ by an order of magnitude: baseline
 * serves a few requests per second, pooled a hundred or more. The finding must not depend on that: the timeline
 * has it in baseline and in every stage up to pooled, with about the same repetition, and cached has no finding
 * at all. Smaller than the real default (3,000 users, 8 s per stage) to stay short.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { diagnoseLab } from '../../scripts/diagnose/index.js';

const DB = 'looplens_test_diagnose_default_lab';
const DATABASE_URL = `postgres://postgres@127.0.0.1:5432/${DB}`;
const REDIS_URL = 'redis://127.0.0.1:6379/4'; // diagnose's Redis db
const BIN = fileURLToPath(new URL('../../bin/looplens.js', import.meta.url));
const UPSTREAM_LATENCY_MS = 'images=90,notify=60,index=45';
const tmp = mkdtempSync(join(tmpdir(), 'looplens-diagnose-default-lab-'));

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

describe('cacheable reads on the default lab load', () => {
  it('are found in every stage before cached, whatever its throughput, and not in cached', async () => {
    const out = join(tmp, 'lab');
    const args = ['lab', '--scale', '3000', '--duration', '8', '--warmup', '1', '--out', out]; // scenario sns, 10 connections
    const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, [BIN, ...args], { cwd: tmp, env: { ...process.env, DATABASE_URL, REDIS_URL, UPSTREAM_LATENCY_MS, LOOPLENS_QUIET: '1' }, maxBuffer: 64 << 20 }, (err, _stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }),
      );
    });
    expect(code, stderr.slice(-2000)).toBe(0);
    const lab = diagnoseLab(out);
    expect(lab.stages.map((s) => s.stage)).toEqual(['baseline', 'async-db', 'parallel', 'pooled', 'cached']);
    const timeline = lab.stages.map((s) => ({
      stage: s.stage,
      finding: s.file.findings.find((f) => f.kind === 'cacheable-reads' && f.route === 'GET /users/:id/timeline'),
    }));
    for (const { stage, finding } of timeline.slice(0, 4)) expect(finding, `${stage}: ${JSON.stringify(lab.stages.find((s) => s.stage === stage)!.file.findings.map((f) => f.title))}`).toBeDefined();
    // the stages' request counts differ many times over; the repetition judged within 50 requests does not
    const requests = timeline.slice(0, 4).map((t) => t.finding!.evidence.tracedRequests as number);
    expect(Math.max(...requests)).toBeGreaterThan(4 * Math.min(...requests));
    for (const t of timeline.slice(0, 4)) expect(t.finding!.evidence.repeatShare as number).toBeGreaterThanOrEqual(5);
    // cached: no finding at all
    expect(lab.stages[4]!.file.findings.map((f) => f.title)).toEqual([]);
  }, 300_000);
});
