/**
 * Event-loop delay and utilization, sampled once a second into eventloop.jsonl (one EventLoopSample a line).
 * monitorEventLoopDelay measures how late a `resolution` ms timer fires; the resolution itself is subtracted.
 */
import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';
import type { EventLoopSample } from '../profiles/contract/types.js';
import { appendJsonLine } from '../profiles/contract/write.js';

const RESOLUTION_MS = 10;
const NS_PER_MS = 1e6;

export function delaySample(h: IntervalHistogram, resolutionMs: number): EventLoopSample['delayMs'] {
  const ms = (ns: number) => Math.max(0, Math.round((ns / NS_PER_MS - resolutionMs) * 1000) / 1000);
  if (h.count === 0) return { min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  return {
    min: ms(h.min),
    mean: ms(h.mean),
    p50: ms(h.percentile(50)),
    p90: ms(h.percentile(90)),
    p99: ms(h.percentile(99)),
    max: ms(h.max),
  };
}

export class EventLoopSampler {
  private readonly histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private elu: EventLoopUtilization = performance.eventLoopUtilization();
  private timer: NodeJS.Timeout | undefined;
  /** The latest sample (live export reads it as gauges). */
  last: EventLoopSample | null = null;

  constructor(
    private readonly file: string,
    private readonly onTick: () => void = () => {},
  ) {}

  start(): void {
    this.histogram.enable();
    this.timer = setInterval(() => {
      this.onTick();
      this.sample();
    }, 1000);
    this.timer.unref();
  }

  /** Appends one line for the time since the previous sample. */
  sample(): void {
    const now = performance.eventLoopUtilization();
    const delta = performance.eventLoopUtilization(now, this.elu);
    this.elu = now;
    const line: EventLoopSample = {
      t: Date.now(),
      delayMs: delaySample(this.histogram, RESOLUTION_MS),
      utilization: Math.round(Math.min(1, Math.max(0, delta.utilization)) * 10000) / 10000,
    };
    this.histogram.reset();
    this.last = line;
    try {
      appendJsonLine(this.file, line);
    } catch {
      // The run folder went away: sampling is best effort and must never break the app.
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    this.histogram.disable();
  }
}
