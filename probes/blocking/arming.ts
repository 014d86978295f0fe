/**
 * Arms the blocking detector on demand. async_hooks before/after on every callback and promise job costs a few
 * hundred ns each (Node's own machinery), which is a noticeable share of a fast route. In `auto` mode the hooks are
 * enabled only while the loop actually blocks: a 10 ms interval timer measures how late it fires, and a delay of at
 * least (threshold − interval) arms the detector. The block that armed it is recovered afterwards from the CPU
 * profile (route unknown, see start.ts); the blocks that follow are attributed.
 * (A timer of our own rather than monitorEventLoopDelay: under clinic doctor that histogram records nothing here.)
 *
 * What keeps the hooks off when nothing blocks:
 * - The time the OS kept the thread waiting for a CPU (Linux run-queue time, blocking/runqueue.ts) is taken out of
 *   the lateness: on a busy machine a descheduled thread is not a blocked loop.
 * - The hold after the last late tick adapts: HOLD_MIN_MS at first (a one-off stall — typically the first requests'
 *   lazy compilation — costs a few seconds of hooks, not the whole run), doubled up to HOLD_MAX_MS each time the
 *   loop blocks again within REARM_WINDOW_MS of a disarm (an app that keeps blocking stays armed, so its blocks keep
 *   their request).
 */
import { performance } from 'node:perf_hooks';
import type { CountAndTotal } from '../../profiles/contract/types.js';

export const TICK_MS = 10;
export const HOLD_MIN_MS = 5_000;
export const HOLD_MAX_MS = 60_000;
const REARM_WINDOW_MS = 60_000;

export interface ArmingOptions {
  thresholdMs: number;
  onArm(): void;
  onDisarm(): void;
  /** Marks the tick callback as the probes' own work. */
  ownWork(): void;
  /** Every tick: the loop turned (the watchdog's heartbeat, blocking/watchdog.ts). */
  onTick?(): void;
  /** Cumulative ms the thread waited for a CPU (Linux); taken out of the timer's lateness. */
  runQueueWaitMs?: () => number;
  /** performance.now() times at which requests started in [from, to] (kept with the window, see start.ts). */
  requestStartsIn?: (from: number, to: number) => number[];
}

export interface UnarmedWindow {
  from: number;
  to: number;
  /** Requests that started inside the window: each begins a new stretch of work. */
  requestStarts: number[];
  /** ms the thread waited for a CPU inside the window (0 without a run-queue clock). */
  waitMs: number;
}

export class ArmingMonitor {
  private timer: NodeJS.Timeout | undefined;
  private armed = false;
  private armedUntil = 0;
  private lastTick = 0;
  private lastWait = 0;
  private holdMs = HOLD_MIN_MS;
  private disarmedAt = -Infinity;
  private armedAt = 0;
  private armedTotalMs = 0;
  private armings = 0;
  /** performance.now() windows that held a block seen before the detector was armed. */
  readonly unarmedWindows: UnarmedWindow[] = [];

  constructor(private readonly opts: ArmingOptions) {}

  get isArmed(): boolean {
    return this.armed;
  }

  /** How often and how long callbacks were timed (the detector's costly part), the current arming included. */
  armedStats(): CountAndTotal {
    const current = this.armed ? performance.now() - this.armedAt : 0;
    return { count: this.armings, totalMs: Math.round(this.armedTotalMs + current) };
  }

  start(): void {
    this.lastTick = performance.now();
    this.lastWait = this.opts.runQueueWaitMs?.() ?? 0;
    this.timer = setInterval(() => this.tick(), TICK_MS).unref();
  }

  private tick(): void {
    this.opts.ownWork();
    this.opts.onTick?.();
    const t = performance.now();
    const wait = this.opts.runQueueWaitMs?.() ?? 0;
    const lateMs = t - this.lastTick - TICK_MS - Math.max(0, wait - this.lastWait);
    if (lateMs >= Math.max(1, this.opts.thresholdMs - TICK_MS)) {
      if (!this.armed) {
        this.armed = true;
        this.armedAt = t;
        this.armings++;
        if (t - this.disarmedAt <= REARM_WINDOW_MS) this.holdMs = Math.min(HOLD_MAX_MS, this.holdMs * 2);
        this.unarmedWindows.push({
          from: this.lastTick,
          to: t,
          requestStarts: this.opts.requestStartsIn?.(this.lastTick, t) ?? [],
          waitMs: Math.max(0, wait - this.lastWait),
        });
        this.opts.onArm();
      }
      this.armedUntil = t + this.holdMs;
    } else if (this.armed && t > this.armedUntil) {
      this.armed = false;
      this.disarmedAt = t;
      this.armedTotalMs += t - this.armedAt;
      this.opts.onDisarm();
    }
    this.lastTick = t;
    this.lastWait = wait;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
