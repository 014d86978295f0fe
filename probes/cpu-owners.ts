/**
 * Span profiles: which request ran each CPU sample. The blocking detector times every callback and knows the
 * request (root span) each slice of synchronous work belongs to (blocking/detector.ts, `onSlice`); this keeps those
 * slices as a timeline — consecutive slices of one request merged — and, at exit, looks up every sample of the CPU
 * profile in it. A sample outside every slice (between callbacks, in the probes' own timers, before the first
 * request) belongs to no request.
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
): { owners: SampleOwner[]; sampleOwners: number[] } {
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const used = new Map<number, number>();
  const owners: SampleOwner[] = [];
  const sampleOwners = new Array<number>(samples.length);
  let t = profile.startTime ?? 0;
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0;
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
  return { owners, sampleOwners };
}
