/**
 * Whole-run V8 CPU profile through an in-process inspector session (Profiler domain). In-process session calls
 * complete synchronously, so the profile can be stopped and written inside a process 'exit' handler.
 */
import { Session } from 'node:inspector';
import { performance } from 'node:perf_hooks';
import type { CpuProfile } from './blocking/stacks.js';

export class CpuProfiler {
  private session: Session | null = null;
  /** performance.now() and the monotonic clock (µs) read together when profiling started. */
  private perfAtStart = 0;
  private monoUsAtStart = 0;

  start(intervalUs: number): boolean {
    try {
      const session = new Session();
      session.connect();
      session.post('Profiler.enable');
      session.post('Profiler.setSamplingInterval', { interval: intervalUs });
      this.perfAtStart = performance.now();
      this.monoUsAtStart = Number(process.hrtime.bigint() / 1000n);
      session.post('Profiler.start');
      this.session = session;
      return true;
    } catch {
      // Another inspector client may own the profiler (e.g. --cpu-prof): run without stacks.
      return false;
    }
  }

  /** performance.now() ms → the profile's clock (µs). V8's sample times and process.hrtime are both CLOCK_MONOTONIC. */
  toProfileUs(perfMs: number): number {
    return this.monoUsAtStart + (perfMs - this.perfAtStart) * 1000;
  }

  fromProfileUs(us: number): number {
    return this.perfAtStart + (us - this.monoUsAtStart) / 1000;
  }

  /**
   * What to add to a profile time (µs ÷ 1000) for epoch ms on the wall clock blocks and spans are stamped with, given
   * that clock's offset from performance.timeOrigin + performance.now() (start.ts's clockOffsetMs).
   */
  epochOffsetMs(wallClockOffsetMs: number): number {
    return performance.timeOrigin + this.perfAtStart - this.monoUsAtStart / 1000 + wallClockOffsetMs;
  }

  /**
   * Cuts the profile: stops it and starts the next one on the same session (the clocks stay paired: both run on).
   * On Node 20 the same session keeps the inlining positions of code optimized earlier; a fresh session, and on
   * Node 24 even the same one, names a callee TurboFan inlined before the cut by its caller (probes/README.md).
   */
  rotate(_intervalUs: number): CpuProfile | null {
    const session = this.session;
    if (!session) return null;
    let profile: CpuProfile | null = null;
    try {
      session.post('Profiler.stop', (err, result) => {
        if (!err && result) profile = result.profile as unknown as CpuProfile;
      });
      this.perfAtStart = performance.now();
      this.monoUsAtStart = Number(process.hrtime.bigint() / 1000n);
      session.post('Profiler.start');
    } catch {
      return null;
    }
    return profile;
  }

  stop(): CpuProfile | null {
    const session = this.session;
    if (!session) return null;
    this.session = null;
    let profile: CpuProfile | null = null;
    try {
      session.post('Profiler.stop', (err, result) => {
        if (!err && result) profile = result.profile as unknown as CpuProfile;
      });
      session.disconnect();
    } catch {
      return null;
    }
    return profile;
  }
}
