/**
 * V8's sampling heap profiler through an in-process inspector session (HeapProfiler domain), run in two halves of
 * the measured window because V8 has one sampler that either keeps the samples of collected objects or drops them:
 * - from the moment the probes see run.json in phase `load` (checked every second) for half the planned load
 *   duration, samples of collected objects are kept: what was *allocated* (the allocation flamegraph, GC pressure);
 * - from then until the app stops, they are dropped, and at the end a full GC runs before the profile is read: what
 *   was allocated in the second half and is *still live*. Halfway into that half the probes mark where the sampler
 *   is (`settledOrdinal`, see settle()): what was allocated before it and is still live at the end outlived the
 *   requests that were in flight when the app stopped — what grows (memory growth).
 * Every read of the profile through the inspector forces a full GC first (V8's kSamplingForceGC): the probes read it
 * twice, at the switch and at the end.
 * Nothing is sampled before the window (start-up and warm-up cost nothing). Without run.json (the probes preloaded by
 * hand) the whole run is sampled as allocated and nothing as live. The switch between the halves stops the sampler,
 * which hands over the allocated half's samples (about 1 µs each; 30 ms for 25,000): that time is the probes' own
 * (not a block of the app) and is written in the file (`switchMs`); the allocated half samples ALLOCATED_COARSER ×
 * coarser to keep it short.
 * In-process session calls complete synchronously, so the profile can be read inside a process 'exit' handler.
 */
import { Session } from 'node:inspector';
import { performance } from 'node:perf_hooks';
import type { HeapProfileFile, SamplingHeapProfile } from '../profiles/contract/types.js';
import { readRunPhase } from '../profiles/contract/run-phase.js';

type State = 'before' | 'allocated' | 'live';

/**
 * The allocated half keeps every sample, collected or not, and the switch hands them all over at once (the loop
 * waits ~1–10 µs a sample): it samples this many times coarser than the live half — enough to name the top allocators.
 */
export const ALLOCATED_COARSER = 4;

/** The settling marker: this many sampling intervals of small objects (see HeapSampler.settle). */
const MARKER_INTERVALS = 8;
/** What one marker object (an array of 126 small integers) takes on the heap: few objects for every later GC to mark. */
const MARKER_OBJECT_BYTES = 1024;

/** Allocates n arrays of ~1 KiB: the function name marks their samples in the profile. */
function looplensHeapMarker(n: number): unknown[] {
  const out: unknown[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = new Array(126).fill(i);
  return out;
}

/** The last ordinal among the samples of looplensHeapMarker in a profile; null when V8 sampled none of them. */
function markerOrdinal(profile: SamplingHeapProfile): number | null {
  const ids = new Set<number>();
  const walk = (n: SamplingHeapProfile['head'], inMarker: boolean) => {
    const here = inMarker || n.callFrame.functionName === 'looplensHeapMarker';
    if (here) ids.add(n.id);
    for (const c of n.children) walk(c, here);
  };
  walk(profile.head, false);
  let ordinal: number | null = null;
  for (const s of profile.samples) if (ids.has(s.nodeId) && (ordinal === null || s.ordinal > ordinal)) ordinal = s.ordinal;
  return ordinal;
}

export class HeapSampler {
  private session: Session | null = null;
  private state: State = 'before';
  private allocatedFromMs = Date.now();
  private halfMs = 0;
  private allocated: (SamplingHeapProfile & { toMs: number }) | null = null;
  private liveFromMs = 0;
  private settled: { ordinal: number; atMs: number } | null = null;
  private marker: unknown[] | null = null;
  private settledAtMs = 0;
  private switchMs: number | null = null;
  private switchCpuMs: number | null = null;

  /** `runDir`: the folder holding run.json (LOOPLENS_OUT), null when not known; `ownWork` marks the probes' own callbacks. */
  constructor(
    private readonly intervalBytes: number,
    private readonly runDir: string | null,
    private readonly ownWork: () => void = () => {},
  ) {}

  start(): boolean {
    try {
      const session = new Session();
      session.connect();
      this.post(session, 'HeapProfiler.enable');
      this.session = session;
      // under looplens profile, run.json is there before the app starts: sampling waits for the window
      if (!this.runDir || readRunPhase(this.runDir) === null) this.begin(true);
      return true;
    } catch {
      // Another inspector client may own the heap profiler: run without a heap profile.
      this.session = null;
      return false;
    }
  }

  private post(session: Session, method: string, params?: object): unknown {
    let result: unknown;
    let error: Error | null = null;
    session.post(method, params, (err, res) => {
      error = err;
      result = res;
    });
    if (error) throw error;
    return result;
  }

  private begin(keepCollected: boolean): void {
    this.post(this.session!, 'HeapProfiler.startSampling', {
      // the allocated half samples ALLOCATED_COARSER × coarser: it holds every sample until the switch hands them over
      samplingInterval: keepCollected ? this.intervalBytes * ALLOCATED_COARSER : this.intervalBytes,
      includeObjectsCollectedByMajorGC: keepCollected,
      includeObjectsCollectedByMinorGC: keepCollected,
    });
  }

  private end(): SamplingHeapProfile {
    return (this.post(this.session!, 'HeapProfiler.stopSampling') as { profile: SamplingHeapProfile }).profile;
  }

  /** Called once a second: follows run.json's phase into the two halves of the window. */
  tick(): void {
    if (!this.session || !this.runDir || this.state !== 'before') return;
    const run = readRunPhase(this.runDir);
    if (!run) return;
    try {
      if (this.state === 'before' && run.phase === 'load') {
        this.begin(true);
        this.allocatedFromMs = Date.now();
        this.halfMs = ((run.durationS ?? 10) * 1000) / 2;
        this.state = 'allocated';
        // the switch and the settling on timers of their own (a second's tick would overshoot a short window)
        setTimeout(() => {
          this.ownWork();
          this.toLive();
        }, this.halfMs).unref();
      }
    } catch {
      this.session = null; // the inspector went away: no heap profile
    }
  }

  private toLive(): void {
    if (!this.session || this.state !== 'allocated') return;
    try {
      const toMs = Date.now();
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      this.allocated = { ...this.end(), toMs };
      this.begin(false);
      this.switchMs = Math.round((performance.now() - t0) * 100) / 100;
      const cpu = process.cpuUsage(cpu0);
      this.switchCpuMs = Math.round((cpu.user + cpu.system) / 10) / 100;
      this.liveFromMs = Date.now();
      this.state = 'live';
      setTimeout(() => {
        this.ownWork();
        this.settle();
      }, this.halfMs / 2).unref();
    } catch {
      this.session = null;
    }
  }

  /**
   * Marks where the sampler is now without reading it (the inspector's every read of the profile forces a full GC):
   * allocates MARKER_INTERVALS × the interval in small objects from looplensHeapMarker, kept until the end — V8 samples
   * some of them (all but e^−8 of the time), and the last such sample's ordinal is where the sampler was. The markers
   * are the probes' own bytes (left out of every figure).
   */
  private settle(): void {
    if (!this.session || this.state !== 'live') return;
    this.marker = looplensHeapMarker(Math.ceil((MARKER_INTERVALS * this.intervalBytes) / MARKER_OBJECT_BYTES));
    this.settledAtMs = Date.now();
  }

  /** Stops sampling and returns the file to write, or null when nothing was sampled. */
  stop(pid: number, cwd: string): HeapProfileFile | null {
    const session = this.session;
    if (!session) return null;
    try {
      const now = Date.now();
      let file: HeapProfileFile;
      const looplens = { intervalBytes: this.intervalBytes, allocatedIntervalBytes: this.intervalBytes * ALLOCATED_COARSER, pid, cwd, ...(this.switchMs !== null ? { switchMs: this.switchMs, switchCpuMs: this.switchCpuMs ?? 0 } : {}) };
      if (this.state === 'live' && this.allocated) {
        // stopping forces a full GC first (the inspector does): what is still referenced, not what awaits collection
        const live = this.end();
        const ordinal = this.marker ? markerOrdinal(live) : null;
        this.settled = ordinal !== null ? { ordinal, atMs: this.settledAtMs } : null;
        this.marker = null;
        const { toMs, ...allocated } = this.allocated;
        file = { ...allocated, looplens: { ...looplens, allocated: { startMs: this.allocatedFromMs, endMs: toMs }, live: { ...live, fromMs: this.liveFromMs, atMs: Date.now(), ...(this.settled ? { settledOrdinal: this.settled.ordinal, settledAtMs: this.settled.atMs } : {}) } } };
      } else {
        if (this.state === 'before' && this.runDir && readRunPhase(this.runDir) !== null) {
          session.disconnect(); // the window never came: nothing was sampled
          return null;
        }
        file = { ...this.end(), looplens: { ...looplens, allocated: { startMs: this.allocatedFromMs, endMs: now }, live: null } };
      }
      session.disconnect();
      return file;
    } catch {
      return null;
    } finally {
      this.session = null;
    }
  }
}
