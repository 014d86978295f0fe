/**
 * Arms the blocking detector on demand. async_hooks before/after on every callback and promise job costs a few
 * hundred ns each (Node's own machinery), which is a noticeable share of a fast route. In `auto` mode the hooks are
 * enabled only while the loop actually blocks: a 10 ms-resolution delay histogram is read every 50 ms, and a delay
 * of at least (threshold − resolution) arms the detector for HOLD_MS after the last such delay. The block that
 * armed it is recovered afterwards from the CPU profile (route unknown); the blocks that follow are attributed.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

const RESOLUTION_MS = 10;
const CHECK_EVERY_MS = 50;
const HOLD_MS = 30_000;

export interface ArmingOptions {
  thresholdMs: number;
  onArm(): void;
  onDisarm(): void;
  /** Marks the check callback as the probes' own work. */
  ownWork(): void;
}

export class ArmingMonitor {
  private readonly histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private timer: NodeJS.Timeout | undefined;
  private armed = false;
  private armedUntil = 0;
  private lastCheck = performance.now();
  private previousCheck = performance.now();
  /** performance.now() windows that held a block seen before the detector was armed. */
  readonly unarmedWindows: { from: number; to: number }[] = [];

  constructor(private readonly opts: ArmingOptions) {}

  start(): void {
    this.lastCheck = this.previousCheck = performance.now();
    this.histogram.enable();
    this.timer = setInterval(() => this.check(), CHECK_EVERY_MS).unref();
  }

  private check(): void {
    this.opts.ownWork();
    const t = performance.now();
    const lateMs = this.histogram.count > 0 ? this.histogram.max / 1e6 - RESOLUTION_MS : 0;
    this.histogram.reset();
    if (lateMs >= Math.max(1, this.opts.thresholdMs - RESOLUTION_MS)) {
      if (!this.armed) {
        this.armed = true;
        this.unarmedWindows.push({ from: this.previousCheck, to: t });
        this.opts.onArm();
      }
      this.armedUntil = t + HOLD_MS;
    } else if (this.armed && t > this.armedUntil) {
      this.armed = false;
      this.opts.onDisarm();
    }
    this.previousCheck = this.lastCheck;
    this.lastCheck = t;
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}
