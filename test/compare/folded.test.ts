import { describe, expect, it } from 'vitest';
import {
  diffFunctions,
  diffStacks,
  formatDiffFolded,
  functionTimes,
  idleSamples,
  withIdle,
  isAppFrame,
  normaliseFrame,
  parseFolded,
  samplingNoise,
  trimFolded,
} from '../../scripts/compare/folded.js';

describe('normaliseFrame', () => {
  it('drops line, column and the checkout-specific part of the path', () => {
    expect(normaliseFrame('querySync (/home/ci/base/dist/target-app/db/sync.js:12:5)')).toBe('querySync (target-app/db/sync.js)');
    expect(normaliseFrame('querySync (file:///srv/head/dist/target-app/db/sync.js:40:3)')).toBe('querySync (target-app/db/sync.js)');
    expect(normaliseFrame('querySync file:///srv/head/dist/target-app/db/sync.js:40:3')).toBe('querySync (target-app/db/sync.js)');
  });
  it('keeps dependencies from their package and node internals as they are', () => {
    expect(normaliseFrame('query (/a/b/node_modules/pg/lib/client.js:3:4)')).toBe('query (node_modules/pg/lib/client.js)');
    expect(normaliseFrame('processTicksAndRejections (node:internal/process/task_queues:95:5)')).toBe(
      'processTicksAndRejections (node:internal/process/task_queues)',
    );
  });
  it('leaves V8 pseudo-frames alone and strips flamegraph markers', () => {
    expect(normaliseFrame('(garbage collector)')).toBe('(garbage collector)');
    expect(normaliseFrame('(program)')).toBe('(program)');
    expect(normaliseFrame('hot_[j]')).toBe('hot');
  });
});

describe('findProjectRoot', () => {
  it('is the folder holding node_modules/, and app frames are named relative to it', () => {
    const frames = [
      'handler (/ci/head/dist/main.js:3:1)',
      'route (/ci/head/node_modules/fastify/lib/route.js:1:1)',
      'x (file:///ci/head/node_modules/pg/index.js:1:1)',
      'npm (/usr/lib/node_modules/npm/x.js:1:1)',
    ];
    const p = parseFolded(frames.join(';') + ' 1');
    expect(p.root).toBe('/ci/head/');
    const base = parseFolded(frames.join(';').replaceAll('/ci/head/', '/home/me/base-checkout/') + ' 1');
    expect([...base.stacks.keys()]).toEqual([...p.stacks.keys()]);
    expect([...p.stacks.keys()][0].split(';')).toEqual([
      'handler (dist/main.js)',
      'route (node_modules/fastify/lib/route.js)',
      'x (node_modules/pg/index.js)',
      'npm (node_modules/npm/x.js)',
    ]);
  });
});

describe('parseFolded', () => {
  it('sums stacks that normalise to the same frames and skips junk lines', () => {
    const p = parseFolded(['a (/srv/app/src/app.js:1:1);b (/srv/app/src/app.js:5:1) 3', 'a (/srv/app/src/app.js:2:1);b (/srv/app/src/app.js:9:1) 2', '', '# comment', 'nonsense', 'c -4'].join('\n'));
    expect(p.total).toBe(5);
    expect([...p.stacks]).toEqual([['a (app/src/app.js);b (app/src/app.js)', 5]]);
  });
});

describe('functionTimes / diffFunctions', () => {
  const base = parseFolded(['main;handler;querySync 6000', 'main;handler;render 2000', 'main;(garbage collector) 1000', '(idle) 1000'].join('\n'));
  // head is twice as long: every count doubled except the query, which went away.
  const head = parseFolded(['main;handler;render 4000', 'main;handler;queryAsync 400', 'main;(garbage collector) 2000', '(idle) 13600'].join('\n'));

  it('counts self time at the leaf and total time once per stack', () => {
    const t = functionTimes(parseFolded('a;b;a 2\na;c 1'));
    expect(t.get('a')).toEqual({ self: 2, total: 3 });
    expect(t.get('b')).toEqual({ self: 0, total: 2 });
  });

  it('normalises by total samples so runs of different length compare', () => {
    const d = diffFunctions(base, head);
    expect(d.baseSamples).toBe(10_000);
    expect(d.headSamples).toBe(20_000);
    expect(d.shrank[0]).toMatchObject({ function: 'querySync', baseSelf: 0.6, headSelf: 0 });
    expect(d.shrank[0].deltaSelf).toBeCloseTo(-0.6);
    // render and GC doubled in samples but kept their share: not reported
    expect(d.grew.map((c) => c.function)).toEqual(['queryAsync']);
    expect(d.shrank.map((c) => c.function)).toEqual(['querySync']);
    expect(d.headIdle).toBeCloseTo(0.68);
    expect([...d.grew, ...d.shrank].some((c) => c.function === '(idle)')).toBe(false);
  });

  it('leaves out moves within sampling noise', () => {
    // 2 % → 3 % of 300 samples each is well within noise; of 30,000 samples it is not
    const small = diffFunctions(parseFolded('a 6\nb 294'), parseFolded('a 9\nb 291'));
    expect([...small.grew, ...small.shrank]).toEqual([]);
    const large = diffFunctions(parseFolded('a 600\nb 29400'), parseFolded('a 900\nb 29100'));
    expect(large.grew.map((c) => c.function)).toEqual(['a']);
    expect(samplingNoise(0.5, 100, 0.5, 100, 1)).toBeCloseTo(Math.sqrt(0.005));
  });

  it('is antisymmetric: swapping base and head swaps grew and shrank', () => {
    const ab = diffFunctions(base, head);
    const ba = diffFunctions(head, base);
    expect(ba.grew.map((c) => [c.function, c.deltaSelf])).toEqual(ab.shrank.map((c) => [c.function, -c.deltaSelf]));
    expect(ba.shrank.map((c) => [c.function, c.deltaSelf])).toEqual(ab.grew.map((c) => [c.function, -c.deltaSelf]));
  });
});

describe('app code, total time', () => {
  it('names the app function over a blocking leaf, leaving out Node, dependencies and the probes', () => {
    expect(isAppFrame('querySync (dist/target-app/db/sync-client.js)')).toBe(true);
    expect(isAppFrame('emit (node:events)')).toBe(false);
    expect(isAppFrame('route (node_modules/fastify/lib/route.js)')).toBe(false);
    expect(isAppFrame('with (dist/probes/tracing.js)')).toBe(false);
    expect(isAppFrame('(garbage collector)')).toBe(false);
    const frames = 'emit (node:events:1);with (dist/probes/tracing.js:2);handler (dist/app.js:3);querySync (dist/db/sync.js:4);callSync (dist/lib/bridge.js:5)';
    const base = parseFolded(`${frames} 8000\nemit (node:events:1);handler (dist/app.js:3);render (dist/view.js:9) 2000`);
    const head = parseFolded('emit (node:events:1);handler (dist/app.js:3);queryAsync (dist/db/async.js:4) 500\nemit (node:events:1);handler (dist/app.js:3);render (dist/view.js:9) 9500');
    const d = diffFunctions(base, head);
    expect(d.shrank.map((c) => c.function)).toEqual(['callSync (dist/lib/bridge.js)']);
    expect(d.appTotal.map((c) => [c.function, Math.round(c.deltaTotal * 100)])).toEqual([
      ['callSync (dist/lib/bridge.js)', -80],
      ['querySync (dist/db/sync.js)', -80],
      ['render (dist/view.js)', 75],
      ['queryAsync (dist/db/async.js)', 5],
    ]);
  });
});

describe('idle samples from profile.cpuprofile', () => {
  it('counts samples on the (idle) node and adds them as an (idle) stack', () => {
    const cpuprofile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)' } },
        { id: 2, callFrame: { functionName: '(idle)' } },
        { id: 3, callFrame: { functionName: 'work' } },
      ],
      samples: [2, 3, 2, 2, 3],
    };
    expect(idleSamples(cpuprofile)).toBe(3);
    expect(idleSamples({ nodes: [] })).toBeUndefined();
    const p = withIdle(parseFolded('work 2'), 3);
    expect(p.total).toBe(5);
    expect(p.stacks.get('(idle)')).toBe(3);
    expect(withIdle(p, 1).total).toBe(3);
  });
});

describe('diffStacks / formatDiffFolded', () => {
  it('writes every stack of either run as "stack base head", base scaled to head\'s total', () => {
    const base = parseFolded('a;b 10\na;c 10');
    const head = parseFolded('a;b 10\na;d 30');
    const d = diffStacks(base, head);
    expect(d.stacks).toEqual([
      { stack: 'a;b', base: 10, head: 10 },
      { stack: 'a;c', base: 10, head: 0 },
      { stack: 'a;d', base: 0, head: 30 },
    ]);
    expect(formatDiffFolded(d)).toBe('a;b 20 10\na;c 20 0\na;d 0 30\n');
  });
});

describe('trimFolded', () => {
  it('keeps the heaviest stacks within the byte budget', () => {
    const text = 'a;b 1\na;c 50\na;d 7\n';
    expect(trimFolded(text, 14)).toBe('a;c 50\na;d 7\n');
  });
});

describe('relative frame paths', () => {
  it('keeps paths the probes already made relative (blocking top frames), minus line numbers', () => {
    expect(normaliseFrame('querySync (dist/target-app/db/sync.js:12)')).toBe('querySync (dist/target-app/db/sync.js)');
    expect(normaliseFrame('y (./b.js:1:1)')).toBe('y (b.js)');
  });
});
