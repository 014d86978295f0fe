/**
 * A TypeScript app compiled with tsc (source maps on) and run from its JavaScript (ts-blocking/dist) under the real
 * CLI at looplens' defaults: the function that blocks the loop, priceBasket, must be named by its .ts file and line
 * in blocking.json, stacks.folded and the blocking-call finding, the compiled location kept beside it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBlocking, readFolded } from '../../profiles/contract/index.js';
import { APPS, SCENARIOS, describeFindings, ensureFixtures, profile, removeRoot, tempRoot, type Profiled } from './harness.js';

const SOURCE = join(APPS, 'ts-blocking/src/pricing.ts');
/** priceBasket's lines in the .ts source: its declaration to its closing brace. */
const lines = readFileSync(SOURCE, 'utf8').split('\n');
const FIRST = lines.findIndex((l) => l.startsWith('export function priceBasket')) + 1;
const LAST = FIRST + lines.slice(FIRST).findIndex((l) => l === '}') + 1;
const inBody = (line: number) => line >= FIRST && line <= LAST;

let root = '';
let run: Profiled;

beforeAll(async () => {
  ensureFixtures();
  root = tempRoot('ts-blocking');
  run = await profile(join(APPS, 'ts-blocking/dist/server.js'), ['--scenario', join(SCENARIOS, 'ts-blocking.json'), '--ids', '20', '--duration', '5'], {}, root, 'run');
}, 120_000);

afterAll(() => removeRoot(root));

describe('a tsc-compiled TypeScript app', () => {
  it('was profiled, and its quote route blocked the loop', () => {
    expect(run.code, run.output.slice(-1500)).toBe(0);
    expect(run.summary!.routes['GET /quote/:id']?.blockedMsPerRequest ?? 0).toBeGreaterThan(20);
  });

  it('blocking.json names priceBasket by src/pricing.ts and its line', () => {
    const events = readBlocking(run.dir).events.filter((e) => e.route?.startsWith('GET /quote'));
    expect(events.length).toBeGreaterThan(5);
    const tops = events.map((e) => e.topFrame);
    const named = tops.filter((t) => {
      const m = /^priceBasket \((.*src\/pricing\.ts):(\d+)\)$/.exec(t);
      return m !== null && inBody(Number(m[2]));
    });
    expect(named.length / tops.length, `top frames: ${[...new Set(tops)].join(', ')}; priceBasket is lines ${FIRST}–${LAST}`).toBeGreaterThan(0.8);
  });

  it('stacks.folded names it by src/pricing.ts', () => {
    expect(readFolded(run.dir)).toMatch(new RegExp(`priceBasket \\([^)]*src/pricing\\.ts:(\\d+)\\)`));
  });

  it('the blocking-call finding names src/pricing.ts and a line of priceBasket, with the compiled location beside it', () => {
    const found = (run.findings?.findings ?? []).filter((f) => f.kind === 'blocking-call' && f.route === 'GET /quote/:id');
    expect(found, describeFindings(run.findings)).toHaveLength(1);
    const evidence = found[0]!.evidence as { file?: string; line?: number };
    expect(evidence.file, JSON.stringify(evidence)).toMatch(/src\/pricing\.ts$/);
    expect(inBody(Number(evidence.line)), `line ${evidence.line}; priceBasket is lines ${FIRST}–${LAST}`).toBe(true);
    expect(JSON.stringify(found[0]), 'the compiled location').toMatch(/dist\/pricing\.js/);
  });

  it('finds nothing on the health route', () => {
    expect((run.findings?.findings ?? []).filter((f) => f.route === 'GET /health').map((f) => f.title)).toEqual([]);
  });
});
