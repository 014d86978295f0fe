/**
 * Blocking detector: times every callback the event loop runs (async_hooks before/after, which also cover promise
 * jobs, nextTicks and timers) and charges each stretch of synchronous work to its owner — the request span that
 * was active. Owners can change inside one callback (a server span is created while the socket callback runs);
 * whoever switches the active context calls switchTo() so the time is split where the switch happened.
 *
 * Consecutive slices of the same request (same root) merge into one run when no other request ran in between and
 * the gap is under GAP_MS; a run of at least thresholdMs is a block. Several requests handled back to back in one
 * late loop turn therefore give one block each, with its own duration, not one merged lump.
 */
import { createHook, type AsyncHook } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';

/** Run-queue wait is sampled at most this often (ms of loop activity). */
const RUN_QUEUE_EVERY_MS = 1;
/** Gap (ms) between two slices of one request that still counts as "the loop did not turn". */
const GAP_MS = 1;
/** Work with no owner shorter than this neither breaks a request's run nor counts as a block. */
const UNOWNED_NOISE_MS = 1;

export interface Block {
  /** performance.now() ms. */
  start: number;
  end: number;
  /**
   * Synchronous time charged to the owner in the run (ms), less the time the OS kept the thread waiting for a CPU
   * (Linux run-queue time) — the app's own share, the same on a quiet and on an overloaded machine.
   */
  busyMs: number;
  /** The owner (span) that ran the longest slice of the run; null when no request was running. */
  owner: object | null;
  /** The owner's request (root span), used to tell requests apart; null when none. */
  root: object | null;
}

/** Owner of the probes' own callbacks (samplers, file flushes): never a block, never breaks a request's run. */
export const PROBE_OWNER: object = Object.freeze({ probe: true });

export interface DetectorOptions {
  thresholdMs: number;
  /** The owner active right now (looked up when a callback starts). */
  currentOwner(): object | null;
  /** The request an owner belongs to. */
  rootOf(owner: object): object;
  onBlock(block: Block): void;
  /** Cumulative ms the thread waited for a CPU (see runqueue.ts); that time does not count towards the threshold. */
  runQueueWaitMs?: () => number;
  /** Every slice of synchronous work with its request (root) — not the probes' own: span profiles. */
  onSlice?(root: object | null, start: number, end: number): void;
  /** Each run-queue reading (performance.now() ms, cumulative wait ms): span profiles take the waiting out of samples. */
  onRunQueue?(t: number, waitMs: number): void;
}

const now = () => performance.now();

export class BlockDetector {
  private readonly hook: AsyncHook;
  private depth = 0;
  private segStart = 0;
  private owner: object | null = null;
  private readonly outer: (object | null)[] = [];
  // The run being built (fields rather than an object: this is on every callback's path).
  private runActive = false;
  private runRoot: object | null = null;
  private runStart = 0;
  private runEnd = 0;
  private runBusy = 0;
  private runBest: object | null = null;
  private runBestMs = 0;
  private runWait0 = 0;
  private runWait1 = -1;
  // Last run-queue reading and when it was taken.
  private waitMs = 0;
  private waitAt = -Infinity;
  /** Runs that reached the threshold only because the OS kept the thread off the CPU. */
  descheduled = { count: 0, totalMs: 0 };

  private enabled = false;

  constructor(private readonly opts: DetectorOptions) {
    this.hook = createHook({ before: () => this.before(), after: () => this.after() });
  }

  /** Starts timing callbacks (may be called from inside a callback: its `after` is then ignored). */
  enable(): void {
    if (this.enabled) return;
    this.enabled = true;
    this.depth = 0;
    this.owner = null;
    this.outer.length = 0;
    this.runActive = false;
    this.waitAt = -Infinity;
    this.hook.enable();
  }

  /** Stops timing; the run in progress is reported first. */
  disable(): void {
    if (!this.enabled) return;
    this.flush();
    this.enabled = false;
    this.hook.disable();
    this.depth = 0;
  }

  private before(): void {
    if (this.depth++ === 0) {
      let t = now();
      if (this.opts.runQueueWaitMs && t - this.waitAt > RUN_QUEUE_EVERY_MS) {
        // Read before the slice starts: the read itself (a /proc file) is the probes' time, not the app's.
        this.waitMs = this.opts.runQueueWaitMs();
        this.waitAt = t = now();
        this.opts.onRunQueue?.(t, this.waitMs);
      }
      this.segStart = t;
      this.owner = this.opts.currentOwner();
    } else {
      this.outer.push(this.owner);
      this.switchTo(this.opts.currentOwner());
    }
  }

  private after(): void {
    if (this.depth === 0) return;
    if (--this.depth === 0) {
      const t = now();
      this.slice(this.owner, this.segStart, t);
      this.owner = null;
      this.outer.length = 0;
      // the end of a long callback is read too: waiting inside it is then known before the loop goes idle
      if (this.opts.onRunQueue && this.opts.runQueueWaitMs && t - this.waitAt > RUN_QUEUE_EVERY_MS) {
        this.waitMs = this.opts.runQueueWaitMs();
        this.waitAt = t;
        this.opts.onRunQueue(t, this.waitMs);
      }
    } else {
      this.switchTo(this.outer.pop() ?? null);
    }
  }

  /** Marks the running callback as the probes' own work. */
  ignoreCurrent(): void {
    this.switchTo(PROBE_OWNER);
  }

  /** Called when the active owner changes inside a callback; returns the previous owner to switch back to. */
  switchTo(owner: object | null): object | null {
    const previous = this.owner;
    if (owner === previous) return previous;
    // Work done before the first owner appeared (reading and parsing the request that creates the server span)
    // belongs to that owner: the slice just changes hands.
    if (this.depth > 0 && previous !== null) {
      const t = now();
      this.slice(previous, this.segStart, t);
      this.segStart = t;
    }
    this.owner = owner;
    return previous;
  }

  private slice(owner: object | null, start: number, end: number): void {
    const ms = end - start;
    if (owner === PROBE_OWNER) return;
    const root = owner === null ? null : this.opts.rootOf(owner);
    this.opts.onSlice?.(root, start, end);
    if (owner === null && ms < UNOWNED_NOISE_MS) return;
    if (this.runActive && root === this.runRoot && start - this.runEnd <= GAP_MS) {
      this.runEnd = end;
      this.runBusy += ms;
      if (ms > this.runBestMs) {
        this.runBest = owner;
        this.runBestMs = ms;
      }
      this.markRunEnd();
      return;
    }
    this.finishRun();
    this.runActive = true;
    this.runRoot = root;
    this.runStart = start;
    this.runEnd = end;
    this.runBusy = ms;
    this.runBest = owner;
    this.runBestMs = ms;
    this.runWait0 = this.waitMs;
    this.runWait1 = -1;
    this.markRunEnd();
  }

  /** A run over the threshold reads the run-queue clock at each of its ends, so the last reading is its own end. */
  private markRunEnd(): void {
    if (this.opts.runQueueWaitMs && this.runBusy >= this.opts.thresholdMs) this.runWait1 = this.opts.runQueueWaitMs();
  }

  private finishRun(): void {
    if (!this.runActive) return;
    this.runActive = false;
    if (this.runBusy >= this.opts.thresholdMs) {
      // The app's own time: what the OS took away (run-queue wait) is neither the app's block nor its duration.
      let ownMs = this.runBusy;
      if (this.opts.runQueueWaitMs) {
        const waited = (this.runWait1 >= 0 ? this.runWait1 : this.opts.runQueueWaitMs()) - this.runWait0;
        ownMs -= Math.max(0, waited);
        if (ownMs < this.opts.thresholdMs) {
          this.descheduled.count++;
          this.descheduled.totalMs += this.runBusy;
          this.runRoot = this.runBest = null;
          return;
        }
      }
      const block: Block = {
        start: this.runStart,
        end: this.runEnd,
        busyMs: ownMs,
        owner: this.runBest,
        root: this.runRoot,
      };
      this.opts.onBlock(block);
    }
    this.runRoot = this.runBest = null;
  }

  /** Ends the run in progress (at shutdown, or before reporting). */
  flush(): void {
    if (this.depth > 0) {
      const t = now();
      this.slice(this.owner, this.segStart, t);
      this.segStart = t;
    }
    this.finishRun();
  }
}
