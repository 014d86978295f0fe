/** Unlike runs are named; a load that measured nothing is recognised (scripts/compare/pair-checks.ts, scripts/load/check.ts). */
import { describe, expect, it } from 'vitest';
import type { RunInfo } from '../../profiles/contract/index.js';
import { runMismatches, sameCommand, unmeasured } from '../../scripts/compare/pair-checks.js';
import { failedShare, loadProblem } from '../../scripts/load/check.js';
import { stats, summary } from './helpers.js';

const info = (over: Partial<RunInfo> = {}): RunInfo => ({
  schemaVersion: 1,
  id: 'r',
  command: ['/usr/bin/node', '/work/base/test/app.mjs'],
  profiler: 'none',
  load: { durationS: 10, warmupS: 3, connections: 10, paths: ['/a', '/b'] },
  node: 'v20.20.2',
  platform: 'linux-x64',
  cpu: { model: 'AMD EPYC', cores: 2 },
  memoryGiB: 23.4,
  startedAt: '2026-12-01T00:00:00Z',
  complete: true,
  ...over,
});

describe('runMismatches', () => {
  it('two checkouts of the same app under the same load: no warning', () => {
    const b = info();
    const h = info({ command: ['/opt/node/bin/node', '/work/head/test/app.mjs'], gitSha: 'abc', stage: 'x' });
    expect(sameCommand(b.command, h.command)).toBe(true);
    expect(sameCommand(b.command, [...h.command, '--flag'])).toBe(false);
    expect(runMismatches(b, h, summary(), summary())).toEqual([]);
  });

  it('names each kind of difference on one line', () => {
    const h = info({
      command: ['/usr/bin/node', '/work/head/test/other.mjs'],
      load: { durationS: 2, warmupS: 3, connections: 4, scenario: 'sns' },
      node: 'v24.1.0',
      cpu: { model: 'Intel Xeon', cores: 8 },
      profiler: '0x',
    });
    const hs = summary({ routes: { 'GET /a': stats(1, 1), 'GET /c': stats(1, 1) } });
    const w = runMismatches(info(), h, summary(), hs);
    expect(w).toEqual([
      'app command: `node base/test/app.mjs` → `node head/test/other.mjs`',
      'profiler: none → 0x',
      'load settings: duration s: 10 → 2, connections: 10 → 4',
      'load: --path /a /b → scenario sns',
      'Node version: v20.20.2 → v24.1.0',
      'machine: linux-x64, 2 × AMD EPYC, 23 GiB → linux-x64, 8 × Intel Xeon, 23 GiB',
      'routes: only base GET /b; only head GET /c',
    ]);
  });
});

describe('loadProblem / unmeasured', () => {
  it('no 2xx answer is RUN_EMPTY; mostly failures is RUN_ERRORS; failed requests count as errors', () => {
    expect(loadProblem(stats(10, 100, 1000))).toBeNull();
    // "GET api": sent, never answered
    expect(loadProblem({ ...stats(0, 0, 0), errors: 7000 })).toMatchObject({ code: 'RUN_EMPTY' });
    // every answer a 404
    expect(loadProblem({ ...stats(1, 100, 500), non2xx: 500 })?.code).toBe('RUN_EMPTY');
    expect(loadProblem({ ...stats(0, 0, 0) })?.fix).toMatch(/healthy/);
    const mostly = { ...stats(1, 100, 100), errors: 150 };
    expect(failedShare(mostly)).toBeCloseTo(0.6);
    expect(loadProblem(mostly)).toMatchObject({ code: 'RUN_ERRORS' });
    expect(loadProblem(mostly)?.message).toMatch(/60\.0 % of the requests failed .* more than the 50\.0 % allowed/);
    expect(loadProblem({ ...stats(1, 100, 100), errors: 90 })).toBeNull();
  });

  it('reads run.json reasonCode first, else the summary', () => {
    expect(unmeasured('head', info({ complete: false, reasonCode: 'RUN_EMPTY', reason: 'no request succeeded' }), summary())).toEqual({ side: 'head', code: 'RUN_EMPTY', message: 'no request succeeded' });
    expect(unmeasured('base', info({ complete: false, reasonCode: 'ANALYSIS_TIMEOUT' }), summary())).toBeNull();
    // an older run folder, written before looplens checked: complete, but it served nothing
    expect(unmeasured('base', info(), summary({ overall: stats(0, 0, 0) }))?.code).toBe('RUN_EMPTY');
  });
});
