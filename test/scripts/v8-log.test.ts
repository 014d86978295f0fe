/** 0x's preprocessed v8 tick log → .cpuprofile (scripts/profilers/v8-log.ts), on entries shaped as 0x 6 writes them. */
import { describe, expect, it } from 'vitest';
import { foldCpuProfile } from '../../scripts/analysis/fold.js';
import { idleSamples } from '../../scripts/compare/folded.js';
import { parseJsCodeName, v8LogToCpuProfile } from '../../scripts/profilers/v8-log.js';

// copied from a real 0x run of test/scripts/fixtures/blocking-app.mjs (Node 20), abridged
const code = [
  { name: 'epoll_pwait@@GLIBC_2.6', type: 'CPP' },
  { name: 'looplensFixtureBusyWait file:///work/main/test/scripts/fixtures/blocking-app.mjs:32:35', type: 'JS', kind: 'Opt' },
  { name: ' file:///work/main/test/scripts/fixtures/blocking-app.mjs:39:31', type: 'JS', kind: 'Unopt' },
  { name: 'emit node:events:471:44', type: 'JS', kind: 'Sparkplug' },
  { name: 'parserOnIncoming node:_http_server:1026:26', type: 'JS', kind: 'Unopt' },
  { name: 'operator delete(void*)@@GLIBCXX_3.4', type: 'CPP' },
  { name: 'CallFunction', type: 'CODE', kind: 'Builtin' },
];
const handler = [5, 0, -1, 22168272, 1, 426, 2, 20, 3, 2133, 4, 765];

describe('v8LogToCpuProfile', () => {
  it('names JS code as the V8 profiler does (0-based line and column), the anonymous function too', () => {
    expect(parseJsCodeName('emit node:events:471:44')).toEqual({ functionName: 'emit', url: 'node:events', lineNumber: 470, columnNumber: 43 });
    expect(parseJsCodeName(' file:///a/b.mjs:39:31')).toEqual({ functionName: '', url: 'file:///a/b.mjs', lineNumber: 38, columnNumber: 30 });
    expect(parseJsCodeName('get x file:///a/b.mjs:1:2').functionName).toBe('get x');
  });

  it('keeps JS frames root first, idle/GC/native ticks as V8 does, and sample times', () => {
    const log = {
      code,
      ticks: [
        { tm: 1000, vm: 0, s: handler },
        { tm: 2000, vm: 0, s: handler },
        { tm: 3000, vm: 8, s: [0, 12] }, // the loop waiting in epoll: (idle)
        { tm: 4000, vm: 1, s: handler }, // GC while in the handler: (garbage collector), as V8's profiler charges it
        { tm: 5000, vm: 6, s: [5, 0, 6, 4] }, // native only: (program)
      ],
    };
    const profile = v8LogToCpuProfile(log);
    expect(profile.samples).toHaveLength(5);
    expect(profile.timeDeltas).toEqual([0, 1000, 1000, 1000, 1000]);
    expect(profile.startTime).toBe(1000);
    expect(profile.endTime).toBe(5000);
    const folded = foldCpuProfile(profile, { root: '/work/main' }).trim().split('\n').sort();
    expect(folded).toEqual([
      '(garbage collector) 1',
      '(program) 1',
      'parserOnIncoming (node:_http_server:1026);emit (node:events:471);(anonymous) (test/scripts/fixtures/blocking-app.mjs:39);looplensFixtureBusyWait (test/scripts/fixtures/blocking-app.mjs:32) 2',
    ]);
    expect(idleSamples(profile)).toBe(1);
  });

  it('rejects what is not a preprocessed log', () => {
    expect(() => v8LogToCpuProfile({ nodes: [] })).toThrow(/not a preprocessed V8 log/);
  });
});
