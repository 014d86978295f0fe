/**
 * Span profiles: which request ran each CPU sample. The blocking detector times every callback and knows the
 * request (root span) each slice of synchronous work belongs to (blocking/detector.ts, `onSlice`); this keeps those
 * slices as a timeline — consecutive slices of one request merged — and, at exit, looks up every sample of the CPU
 * profile in it. A sample outside every slice (between callbacks, in the probes' own timers, before the first
 * request) belongs to no request.
 *
 * On a busy machine the OS keeps the thread off the CPU now and then, and a sample's interval then holds time the
 * app did not run: the thread's run-queue clock (Linux schedstat, read by the detector at callback edges) says how
 * much, per sample (`runQueueUs`), and the evidence leaves it out of the sample's weight.
 *
 * Memory: three numbers per run of slices (a request with a few awaits has a handful) in growing typed arrays, capped
 * at MAX_RUNS; the requests themselves (their root spans) are held until exit to be described then — their route is
 * often known only when they end.
 */
import type { CpuProfile, SampleOwner } from '../profiles/contract/types.js';

/** Slices of one request closer than this (ms) merge into one run (a promise job right after a callback). */
const MERGE_GAP_MS = 0.05;
/** Runs kept (≈ 20 bytes each): past it the timeline stops growing and says so. */
export const MAX_RUNS = 4_000_000;
/** Run-queue readings kept (16 bytes each; one per ms of activity at most). */
export const MAX_WAITS = 2_000_000;

export class OwnerTimeline {
  private starts = new Float64Array(1 << 14);
  private ends = new Float64Array(1 << 14);
  private owners = new Int32Array(1 << 14);
  private n = 0;
  private readonly ids = new Map<object, number>();
  /** Owners by id (the request objects as the owner model gives them). */
  readonly list: object[] = [];
  /** Runs not kept because the timeline was full. */
  dropped = 0;
  /** The thread's run-queue clock (performance.now() ms → cumulative ms waited), read at callback edges. */
  private waitT = new Float64Array(1 << 12);
  private waitW = new Float64Array(1 << 12);
  private w = 0;

  /** A reading of the thread's cumulative run-queue wait (blocking/runqueue.ts) at `t`; kept in time order. */
  recordWait(t: number, waitMs: number): void {
    if (this.w > 0 && t <= this.waitT[this.w - 1]!) return;
    if (this.w === this.waitT.length) {
      if (this.w >= MAX_WAITS) return;
      const grow = (a: Float64Array) => {
        const b = new Float64Array(Math.min(MAX_WAITS, a.length * 2));
        b.set(a);
        return b;
      };
      this.waitT = grow(this.waitT);
      this.waitW = grow(this.waitW);
    }
    this.waitT[this.w] = t;
    this.waitW[this.w] = waitMs;
    this.w++;
  }

  /** Cumulative wait at `t`, linear between readings (the OS's wait is spread over the time between them). */
  waitAt(t: number): number {
    const n = this.w;
    if (n === 0) return 0;
    if (t <= this.waitT[0]!) return this.waitW[0]!;
    if (t >= this.waitT[n - 1]!) return this.waitW[n - 1]!;
    let lo = 0;
    let hi = n - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (this.waitT[mid]! <= t) lo = mid;
      else hi = mid;
    }
    const t0 = this.waitT[lo]!;
    const t1 = this.waitT[hi]!;
    return this.waitW[lo]! + ((this.waitW[hi]! - this.waitW[lo]!) * (t - t0)) / Math.max(1e-9, t1 - t0);
  }

  get waits(): number {
    return this.w;
  }

  /** One slice of synchronous work (performance.now() ms) of `owner`'s request; null owners are not kept. */
  record(owner: object | null, start: number, end: number): void {
    if (owner === null) return;
    let id = this.ids.get(owner);
    if (id === undefined) {
      id = this.list.length;
      this.ids.set(owner, id);
      this.list.push(owner);
    }
    const last = this.n - 1;
    if (last >= 0 && this.owners[last] === id && start - this.ends[last]! <= MERGE_GAP_MS) {
      if (end > this.ends[last]!) this.ends[last] = end;
      return;
    }
    if (this.n === this.starts.length) {
      if (this.n >= MAX_RUNS) {
        this.dropped++;
        return;
      }
      this.grow();
    }
    this.starts[this.n] = start;
    this.ends[this.n] = end;
    this.owners[this.n] = id;
    this.n++;
  }

  get runs(): number {
    return this.n;
  }

  /** The owner id running at `t` (performance.now() ms), or -1. Runs are in start order. */
  ownerAt(t: number): number {
    let lo = 0;
    let hi = this.n - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! <= t) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found >= 0 && t <= this.ends[found]! ? this.owners[found]! : -1;
  }

  private grow(): void {
    const size = Math.min(MAX_RUNS, this.starts.length * 2);
    const copy = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.starts = copy(this.starts, (k) => new Float64Array(k));
    this.ends = copy(this.ends, (k) => new Float64Array(k));
    this.owners = copy(this.owners, (k) => new Int32Array(k));
  }
}

/**
 * Every sample's owner, for profile.looplens: `sampleOwners[i]` indexes `owners` (or is -1). A sample's time is the
 * profile's (µs, monotonic); `toPerfMs` turns it into the timeline's clock.
 */
export function ownSamples(
  profile: CpuProfile,
  timeline: OwnerTimeline,
  toPerfMs: (profileUs: number) => number,
  describe: (owner: object) => SampleOwner,
): { owners: SampleOwner[]; sampleOwners: number[]; runQueueUs?: number[] } {
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const used = new Map<number, number>();
  const owners: SampleOwner[] = [];
  const sampleOwners = new Array<number>(samples.length);
  // µs of each sample's interval (to the next sample) the thread spent waiting in the OS run queue
  const runQueueUs = timeline.waits > 1 ? new Array<number>(samples.length) : null;
  let t = profile.startTime ?? 0;
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0;
    if (runQueueUs) {
      const from = toPerfMs(t);
      const to = toPerfMs(t + (deltas[i + 1] ?? 0));
      runQueueUs[i] = Math.max(0, Math.round((timeline.waitAt(to) - timeline.waitAt(from)) * 1000));
    }
    const id = timeline.ownerAt(toPerfMs(t));
    if (id < 0) {
      sampleOwners[i] = -1;
      continue;
    }
    let k = used.get(id);
    if (k === undefined) {
      k = owners.length;
      used.set(id, k);
      owners.push(describe(timeline.list[id]!));
    }
    sampleOwners[i] = k;
  }
  return { owners, sampleOwners, ...(runQueueUs ? { runQueueUs } : {}) };
}
