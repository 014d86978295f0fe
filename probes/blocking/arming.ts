/**
 * Arms the blocking detector on demand. async_hooks before/after on every callback and promise job costs a few
 * hundred ns each (Node's own machinery), which is a noticeable share of a fast route. In `auto` mode the hooks are
 * enabled only while the loop actually blocks: a 10 ms interval timer measures how late it fires, and a delay of at
 * least (threshold − interval) arms the detector for HOLD_MS after the last such delay. The block that armed it is
 * recovered afterwards from the CPU profile (route unknown); the blocks that follow are attributed.
 * (A timer of our own rather than monitorEventLoopDelay: under clinic doctor that histogram records nothing here.)
 */
import { performance } from 'node:perf_hooks';

const TICK_MS = 10;
const HOLD_MS = 30_000;

export interface ArmingOptions {
  thresholdMs: number;
  onArm(): void;
  onDisarm(): void;
  /** Marks the tick callback as the probes' own work. */
  ownWork(): void;
}

export class ArmingMonitor {
  private timer: NodeJS.Timeout | undefined;
  private armed = false;
  private armedUntil = 0;
  private lastTick = 0;
  /** performance.now() windows that held a block seen before the detector was armed. */
  readonly unarmedWindows: { from: number; to: number }[] = [];

  constructor(private readonly opts: ArmingOptions) {}

  start(): void {
    this.lastTick = performance.now();
    this.timer = setInterval(() => this.tick(), TICK_MS).unref();
  }

  private tick(): void {
    this.opts.ownWork();
    const t = performance.now();
    const lateMs = t - this.lastTick - TICK_MS;
    if (lateMs >= Math.max(1, this.opts.thresholdMs - TICK_MS)) {
      if (!this.armed) {
        this.armed = true;
        this.unarmedWindows.push({ from: this.lastTick, to: t });
        this.opts.onArm();
      }
      this.armedUntil = t + HOLD_MS;
    } else if (this.armed && t > this.armedUntil) {
      this.armed = false;
      this.opts.onDisarm();
    }
    this.lastTick = t;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
