/**
 * The real thing, short: a two-stage `looplens lab` (baseline with the synchronous PostgreSQL client, async-db with
 * the async pool) on its own database (looplens_test_compare, dropped afterwards) and Redis db 5, then
 * `looplens compare` as a child process (the real CLI) on its run folders — both ways round — and on the lab.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLab } from '../../profiles/contract/read.js';
import { runCli } from '../scripts/helpers.js';

const ADMIN = 'postgres://postgres@127.0.0.1:5432/postgres';
const DB = 'looplens_test_compare';
const REDIS_DB = '5';
const tmp = mkdtempSync(join(tmpdir(), 'looplens-compare-'));
const labDir = join(tmp, 'lab');

async function dropDatabase(): Promise<void> {
  const c = new pg.Client(ADMIN);
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await c.end();
}

async function flushRedis(): Promise<void> {
  await new Promise<void>((resolve) => {
    const p = spawn('redis-cli', ['-n', REDIS_DB, 'FLUSHDB'], { stdio: 'ignore' });
    p.on('close', () => resolve());
    p.on('error', () => resolve());
  });
}

const env = {
  DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${DB}`,
  REDIS_URL: `redis://127.0.0.1:6379/${REDIS_DB}`,
  LOOPLENS_QUIET: '1',
};

interface CompareJson {
  kind: string;
  summary: {
    overall: { metrics: Record<string, { direction: string; verdict: string; base: number; head: number }> };
    run: { name: string; change: { direction: string; verdict: string; base: number; head: number } }[];
  };
  functions: {
    grew: { function: string; deltaSelf: number }[];
    shrank: { function: string; deltaSelf: number; baseTotal: number; headTotal: number }[];
    appTotal: { function: string; deltaTotal: number; baseTotal: number; headTotal: number }[];
  };
  hotspots: { route: string | null; topFrame: string; status: string }[];
  gate: { failed: boolean; checks: { rule: string; crossed: boolean }[] } | null;
}

let baseline = '';
let asyncDb = '';

beforeAll(async () => {
  await dropDatabase();
  await flushRedis();
  const r = await runCli(
    // Few connections: baseline serves about one request a second, and with many connections every request would
    // queue past the end of the measured window.
    ['lab', '--stages', 'baseline,async-db', '--scale', '2000', '--duration', '6', '--warmup', '1', '--connections', '2', '--out', labDir],
    env,
  );
  expect(r.code, r.stderr).toBe(0);
  const lab = readLab(labDir);
  baseline = join(labDir, lab.stages.find((s) => s.stage === 'baseline')!.run);
  asyncDb = join(labDir, lab.stages.find((s) => s.stage === 'async-db')!.run);
}, 240_000);

afterAll(async () => {
  await dropDatabase();
  await flushRedis();
  if (!process.env.LOOPLENS_KEEP_TEST_OUTPUT) rmSync(tmp, { recursive: true, force: true });
});

const SYNC_QUERY = /querySync/;

describe('looplens compare on a real baseline and async-db run', () => {
  let md = '';
  let json: CompareJson;
  let swappedMd = '';
  let swapped: CompareJson;
  let swappedCode: number | null = null;

  beforeAll(async () => {
    const out = join(tmp, 'cmp');
    const a = await runCli(['compare', baseline, asyncDb, '--out', out], env);
    expect(a.code, a.stderr).toBe(0);
    md = a.stdout;
    json = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8')) as CompareJson;

    const outSwapped = join(tmp, 'cmp-swapped');
    const b = await runCli(['compare', asyncDb, baseline, '--out', outSwapped, '--fail-on', 'p95:+10%,blocked:+20%'], env);
    swappedCode = b.code;
    swappedMd = b.stdout;
    swapped = JSON.parse(readFileSync(join(outSwapped, 'compare.json'), 'utf8')) as CompareJson;
  }, 60_000);

  it('finds the synchronous query function shrinking', () => {
    // baseline's queries go through SyncPgClient.querySync, which waits in the blocking bridge (callSync): the wait
    // is callSync's self time, and querySync's total time (with its callees); both named by their .ts sources
    // (target-app is compiled with source maps)
    const query = json.functions.appTotal.find((f) => SYNC_QUERY.test(f.function));
    expect(query, JSON.stringify(json.functions.appTotal.slice(0, 5))).toBeDefined();
    expect(query!.deltaTotal).toBeLessThan(-0.2);
    expect(query!.headTotal).toBeLessThan(query!.baseTotal);
    const wait = json.functions.shrank[0];
    expect(wait.function).toMatch(/blocking-bridge/);
    expect(wait.deltaSelf).toBeLessThan(-0.2);
    expect(json.functions.grew.some((f) => /blocking-bridge|sync-client/.test(f.function))).toBe(false);
  });

  it('finds blocked ms per request dropping, and the markdown says so', () => {
    const blocked = json.summary.run.find((r) => r.name === 'blocked')!;
    expect(blocked.change.head).toBeLessThan(blocked.change.base);
    expect(blocked.change).toMatchObject({ direction: 'down', verdict: 'better' });
    expect(md).toMatch(/\| blocked ms per request \| [\d.,]+ ms \| [\d.,]+ ms \| ▼ −\d+(\.\d)?% 🟢 \|/);
    const shrank = md.slice(md.indexOf('**Shrank**'));
    expect(md.indexOf('**Shrank**')).toBeGreaterThan(0);
    expect(shrank.split('\n').slice(0, 6).join('\n')).toMatch(/callSync \(target-app\/lib\/blocking-bridge\.ts\)<\/code> \| [\d.]+% \| 0\.0% \| −[\d.]+ pp 🟢/);
    const app = md.slice(md.indexOf('**App code, total time**'), md.indexOf('#### Blocking hotspots'));
    expect(app).toMatch(/querySync \(target-app\/db\/sync-client\.ts\)<\/code> \| [\d.]+% \| 0\.0% \| −[\d.]+ pp 🟢/);
    expect(md).toMatch(/blocking-bridge\.ts\)<\/code> \| [^\n]*\| — \| vanished 🟢/); // the blocking hotspots
    expect(md.length).toBeLessThan(60_000);
  });

  it('writes the diff flamegraph and the folded diff', () => {
    const folded = readFileSync(join(tmp, 'cmp', 'diff.folded'), 'utf8').trim().split('\n');
    expect(folded.length).toBeGreaterThan(10);
    for (const line of folded.slice(0, 50)) expect(line).toMatch(/^.+ \d+ \d+$/);
    expect(existsSync(join(tmp, 'cmp', 'diff-flamegraph.html'))).toBe(true);
    expect(md).toContain('diff-flamegraph.html');
  });

  it('swapping base and head flips every sign and trips --fail-on', () => {
    const flip: Record<string, string> = { up: 'down', down: 'up', flat: 'flat' };
    for (const [name, c] of Object.entries(json.summary.overall.metrics)) {
      expect(swapped.summary.overall.metrics[name].direction, name).toBe(flip[c.direction]);
      if (c.verdict === 'better') expect(swapped.summary.overall.metrics[name].verdict, name).toBe('worse');
      if (c.verdict === 'worse') expect(swapped.summary.overall.metrics[name].verdict, name).toBe('better');
    }
    for (const r of json.summary.run) {
      expect(swapped.summary.run.find((s) => s.name === r.name)!.change.direction, r.name).toBe(flip[r.change.direction]);
    }
    expect(swapped.functions.grew.map((f) => f.function).sort()).toEqual(json.functions.shrank.map((f) => f.function).sort());
    expect(swapped.functions.shrank.map((f) => f.function).sort()).toEqual(json.functions.grew.map((f) => f.function).sort());
    for (const f of json.functions.appTotal) {
      expect(swapped.functions.appTotal.find((g) => g.function === f.function)!.deltaTotal).toBeCloseTo(-f.deltaTotal, 10);
    }

    expect(swappedCode).toBe(1);
    expect(swapped.gate!.failed).toBe(true);
    expect(swapped.gate!.checks.find((c) => c.rule === 'blocked:+20%')!.crossed).toBe(true);
    expect(swappedMd).toMatch(/Gate failed/);
    // async-db may block not at all: its 0 → baseline's figure reads "from 0"
    expect(swappedMd).toMatch(/❌ blocked ms per request grew by more than 20%: [\d.,]+ → [\d.,]+ ▲ (\+[\d.,]+%|from 0) 🔴/);
    expect(swappedMd).toMatch(/\| blocked ms per request \| [\d.,]+ ms \| [\d.,]+ ms \| ▲ (\+[\d.,]+%|from 0) 🔴 \|/);
  });

  it('compares two labs stage by stage', async () => {
    const r = await runCli(['compare', labDir, labDir, '--out', join(tmp, 'cmp-lab'), '--format', 'md'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/#### Stages/);
    expect(r.stdout).toMatch(/\| <code>baseline<\/code> \|/);
    expect(r.stdout).toMatch(/<summary>Stage <b><code>async-db<\/code><\/b>/);
    expect(existsSync(join(tmp, 'cmp-lab', 'baseline.diff-flamegraph.html'))).toBe(true);
  });
});
