/**
 * Sees who blocks the loop while the detector is not armed. The block that arms the detector (blocking/arming.ts)
 * happens while nothing times callbacks, so its stretch and stack are recovered from the CPU profile afterwards; but
 * the profile cannot say which request ran. This watchdog can: a worker thread watches a heartbeat the main thread
 * writes at every arming tick (every 10 ms), and when the heartbeat is late it asks the main thread, through the
 * inspector (a session connected to the main thread from the worker), to run one function that records the owner
 * active right now — the span of the request whose code is blocking. Inspector messages from another thread are
 * served by an interrupt, inside the running JavaScript (a busy loop) and inside Atomics.wait, with the blocked
 * callback's async context in place, so a block after an `await` is seen with its request. A native call that holds
 * the thread (a sync driver in C++) is interrupted when it returns to JavaScript, still inside the block.
 *
 * Cost while nothing blocks: the worker wakes every CHECK_MS to read one number; no hook, no message, no inspector
 * session. While blocked: one inspector round trip every quarter of the threshold. Each mark is {time, owner}; blocking/start.ts charges a recovered
 * block to the request most marks inside it name.
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';

/** How often the worker reads the heartbeat. */
const CHECK_MS = 2;
/**
 * The worker connects its inspector session when the heartbeat is late and lets it go once the loop has turned for
 * this long: a session still connected when the app calls process.exit makes Node print "Waiting for the debugger to
 * disconnect…" (it then exits all the same), so it is connected only around blocks.
 */
const RELEASE_MS = 50;
/** Marks kept (a ring): the newest are the ones a recovered block needs. */
const MARKS_KEPT = 4096;

export interface Mark {
  /** performance.now() on the main thread when the mark ran. */
  t: number;
  owner: object | null;
}

export interface WatchdogOptions {
  /** The main thread's heartbeat period (the arming tick). */
  tickMs: number;
  thresholdMs: number;
  /** The owner active right now. */
  currentOwner(): object | null;
}

/** The global the worker's evaluation calls (a symbol, so it clashes with nothing of the app's). */
const MARK_KEY = Symbol.for('looplens.watchdog.mark');

/**
 * The worker's code, plain JavaScript run as an eval'd worker: no file to find from an ESM module and a CJS bundle
 * alike, and no compiler helper can creep into it (a function's toString() would carry a bundler's). Shared
 * Float64Array: [0] the main thread's last heartbeat (performance.now() on the main thread's clock; 0 until detection
 * begins), [1] 1 while the detector is armed (it sees owners itself: no marks needed), [2] the main thread's
 * timeOrigin.
 */
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { Session } = require('node:inspector');
const { performance } = require('node:perf_hooks');
const shared = new Float64Array(workerData.buffer);
// the main thread's performance.now(), seen from this thread
const mainNow = () => performance.timeOrigin + performance.now() - shared[2];
const request = { expression: "globalThis[Symbol.for('looplens.watchdog.mark')]?.()", silent: true, returnByValue: true };
let session = null;
let pending = false;
let lastMark = -Infinity;
let freshSince = 0;
const timer = setInterval(() => {
  const now = mainNow();
  // no heartbeat yet: the main thread's detection has not begun
  if (shared[0] === 0) return;
  if (shared[1] === 1 || now - shared[0] < workerData.lateMs) {
    // the loop turns: let go of the main thread once it has kept turning for a while
    if (session && !pending && now - freshSince > workerData.releaseMs) {
      session.disconnect();
      session = null;
    }
    return;
  }
  freshSince = now;
  if (pending || now - lastMark < workerData.everyMs) return;
  pending = true;
  lastMark = now;
  try {
    if (!session) {
      session = new Session();
      session.connectToMainThread();
    }
    session.post('Runtime.evaluate', request, () => { pending = false; freshSince = mainNow(); });
  } catch {
    pending = false;
  }
}, workerData.checkMs);
parentPort.once('message', () => {
  clearInterval(timer);
  session?.disconnect();
  parentPort.close();
});
`;

export class Watchdog {
  private readonly shared = new Float64Array(new SharedArrayBuffer(3 * Float64Array.BYTES_PER_ELEMENT));
  private worker: Worker | null = null;
  private readonly ring: Mark[] = [];
  private next = 0;

  constructor(private readonly opts: WatchdogOptions) {}

  /**
   * Starts the worker thread, idle until the first beat(): started with the probes, so that it is running by the
   * time detection begins (a thread takes tens of ms to start, longer than the first request's block). False when it
   * cannot start (no inspector, worker threads unavailable).
   */
  start(): boolean {
    this.shared[0] = 0;
    this.shared[2] = performance.timeOrigin;
    (globalThis as Record<symbol, unknown>)[MARK_KEY] = () => this.mark();
    try {
      // A late heartbeat: the tick is due every tickMs; late by a quarter of the threshold (at least 2 ms) is a
      // stretch that may grow into a block.
      const lateMs = this.opts.tickMs + Math.max(2, this.opts.thresholdMs / 4);
      this.worker = new Worker(WORKER_SOURCE, {
        eval: true,
        // a clean thread: no preload (the probes, a loader hook) and no flags of the app's; a preload NODE_OPTIONS
        // brings in anyway sees looplensProbe and stays off (config.ts threadFacts)
        execArgv: [],
        workerData: { looplensProbe: true, buffer: this.shared.buffer, lateMs, everyMs: Math.max(2, this.opts.thresholdMs / 4), checkMs: CHECK_MS, releaseMs: RELEASE_MS },
        stdout: false,
        stderr: false,
      });
      this.worker.unref();
      this.worker.on('error', () => this.stop());
      return true;
    } catch {
      this.worker = null;
      return false;
    }
  }

  /** Called at every arming tick: the loop turned. */
  beat(): void {
    this.shared[0] = performance.now();
  }

  /** While the detector is armed it sees every owner itself: the worker stays quiet. */
  setArmed(armed: boolean): void {
    this.shared[1] = armed ? 1 : 0;
  }

  private mark(): number {
    const m: Mark = { t: performance.now(), owner: this.opts.currentOwner() };
    if (this.ring.length < MARKS_KEPT) this.ring.push(m);
    else this.ring[this.next % MARKS_KEPT] = m;
    this.next++;
    return 1;
  }

  /** Marks taken in [from, to] (performance.now() ms), oldest first. */
  marksIn(from: number, to: number): Mark[] {
    return this.ring.filter((m) => m.t >= from && m.t <= to).sort((a, b) => a.t - b.t);
  }

  stop(): void {
    const w = this.worker;
    this.worker = null;
    delete (globalThis as Record<symbol, unknown>)[MARK_KEY];
    if (!w) return;
    try {
      w.postMessage('stop');
      void w.terminate();
    } catch {
      /* already gone */
    }
  }
}
