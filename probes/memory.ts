/**
 * The app's memory each second into memory.jsonl (one MemorySample a line): heap used and total, external and RSS
 * (process.memoryUsage), and every GC pause that ended in the second (perf_hooks `gc` entries: kind and duration,
 * stamped on the wall clock blocks and spans use). After a major GC the observer also reads V8's used heap: what
 * was live then, without the garbage a sawtooth of heap used carries.
 */
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { GcPause, MemorySample } from '../profiles/contract/types.js';
import { appendJsonLine } from '../profiles/contract/write.js';

const KINDS: Record<number, GcPause['kind']> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

export class MemorySampler {
  private timer: NodeJS.Timeout | undefined;
  private observer: PerformanceObserver | null = null;
  private pauses: GcPause[] = [];
  private afterMajorGcBytes: number | undefined;

  /** `clockOffsetMs()`: wall clock minus performance.timeOrigin + performance.now() (start.ts), read per batch. */
  constructor(
    private readonly file: string,
    private readonly clockOffsetMs: () => number,
    private readonly onTick: () => void = () => {},
  ) {}

  start(): void {
    try {
      this.observer = new PerformanceObserver((list) => {
        const offset = performance.timeOrigin + this.clockOffsetMs();
        let major = false;
        for (const entry of list.getEntries()) {
          const kind = KINDS[((entry as unknown as { detail?: { kind?: number } }).detail)?.kind ?? -1] ?? 'major';
          if (kind === 'major') major = true;
          this.pauses.push({
            startMs: Math.round((offset + entry.startTime) * 1000) / 1000,
            durationMs: Math.round(entry.duration * 1000) / 1000,
            kind,
          });
        }
        if (major) this.afterMajorGcBytes = getHeapStatistics().used_heap_size;
      });
      this.observer.observe({ entryTypes: ['gc'] });
    } catch {
      this.observer = null; // no gc entries on this runtime: the timeline still has the heap
    }
    this.timer = setInterval(() => {
      this.onTick();
      this.sample();
    }, 1000);
    this.timer.unref();
  }

  /** Appends one line for the second since the previous one. */
  sample(): void {
    const m = process.memoryUsage();
    const line: MemorySample = {
      t: Date.now(),
      heapUsedBytes: m.heapUsed,
      heapTotalBytes: m.heapTotal,
      externalBytes: m.external,
      rssBytes: m.rss,
      ...(this.afterMajorGcBytes !== undefined ? { afterMajorGcBytes: this.afterMajorGcBytes } : {}),
      gc: this.pauses,
    };
    this.pauses = [];
    this.afterMajorGcBytes = undefined;
    try {
      appendJsonLine(this.file, line);
    } catch {
      // The run folder went away: sampling is best effort and must never break the app.
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // the entries V8 queued but the observer has not delivered yet
    const pending = this.observer?.takeRecords?.() ?? [];
    const offset = performance.timeOrigin + this.clockOffsetMs();
    for (const entry of pending) {
      const kind = KINDS[((entry as unknown as { detail?: { kind?: number } }).detail)?.kind ?? -1] ?? 'major';
      this.pauses.push({ startMs: Math.round((offset + entry.startTime) * 1000) / 1000, durationMs: Math.round(entry.duration * 1000) / 1000, kind });
    }
    this.observer?.disconnect();
    this.observer = null;
    this.sample();
  }
}
