/**
 * The CPU side of a run's evidence: the samples of the measured window, and — where the probes wrote a span profile
 * (profile.looplens.sampleOwners: who ran each sample) — the samples of each request, so each route's CPU per request
 * and its own flamegraph. Every figure is in ms: each sample weighs the time to the next one, capped at twice the
 * profile's median interval (./fold.ts sampleWeightsMs) — under load the sampler's ticks come irregularly, and a
 * plain count × mean interval over-charges the code sampled on time. looplens' own measuring (the probes,
 * OpenTelemetry: ./frames.ts) is left out of every figure here: it is what looplens costs, not what the app does.
 */
import type { CpuProfile, TimeWindow } from '../../profiles/contract/index.js';
import { foldCpuProfile, foldSamplesBy, parseFolded, sampleWeightsMs, type FoldOptions } from './fold.js';
import { isMeasuring } from './frames.js';

/** A run's CPU samples as read from its profiles, before the window's requests are known. */
export interface CpuSamples {
  /**
   * 'window': the samples taken in the measured window; 'run': the whole run's (start-up and warm-up included), for a
   * profile without the probes' clock (an older run, 0x, clinic).
   */
  scope: 'window' | 'run';
  /** Busy samples (idle left out) of the scope, folded: stack → ms (null `weighted`: stack → samples). */
  stacks: Map<string, number>;
  /** Whether `stacks` holds ms (from the profiles' sample times) rather than bare sample counts (stacks.folded). */
  weighted: boolean;
  /** Span profile: the ms each request ran (whole run), by its server span ("<traceId>/<spanId>"); null without one. */
  byRequest: Map<string, Map<string, number>> | null;
}

/** A route's CPU, from the span profile. */
export interface RouteCpu {
  /** ms its traced requests of the window ran, measuring left out, by folded stack. */
  stacks: Map<string, number>;
  ms: number;
  /** Its traced requests of the window (the span profile's denominator). */
  requests: number;
  msPerRequest: number;
}

export interface CpuFigures {
  scope: CpuSamples['scope'];
  /** The app's busy CPU of the scope, measuring left out: folded stack → ms; null when only sample counts are known. */
  stacks: Map<string, number> | null;
  /** Sum of `stacks`. */
  ms: number;
  /** looplens' own measuring, left out of `stacks`. */
  measuringMs: number;
  /** Requests of the window (the load generator's count, else the traced ones). */
  requests: number;
  /** ms ÷ requests: the app's CPU per request; null when not known (no requests, or no sample times). */
  msPerRequest: number | null;
  /** Span profile: by route; null without one. */
  routes: Map<string, RouteCpu> | null;
  /** Share of `ms` the window's traced requests ran (span profile); null without one. */
  chargedShare: number | null;
}

const key = (traceId: string | null | undefined, spanId: string | null | undefined) => `${traceId ?? ''}/${spanId ?? ''}`;

function add(into: Map<string, number>, from: Map<string, number>): void {
  for (const [s, n] of from) into.set(s, (into.get(s) ?? 0) + n);
}

/**
 * The samples of the window from each profile's own sample times, turned to epoch ms with the probes' clock
 * (profile.looplens); a profile without that clock, or a run without a window, counts whole (scope 'run'), and so do
 * all when any does. `folded` (stacks.folded: sample counts) stands in when there is no profile. `original` names
 * frames at their source position (a compiled app's source maps), as stacks.folded does.
 */
export function cpuSamplesOf(
  profiles: readonly CpuProfile[],
  folded: Map<string, number> | null,
  window: TimeWindow | null,
  original?: FoldOptions['original'],
): CpuSamples | null {
  if (profiles.length === 0) return folded ? { scope: 'run', stacks: folded, weighted: false, byRequest: null } : null;
  const timed = profiles.every((p) => p.samples?.length && p.timeDeltas?.length);
  const windowed = timed && window !== null && profiles.every((p) => p.looplens);
  const stacks = new Map<string, number>();
  const byRequest = timed && profiles.some((p) => p.looplens?.sampleOwners) ? new Map<string, Map<string, number>>() : null;
  for (const p of profiles) {
    const clock = p.looplens;
    if (!timed) {
      // hit counts only (no sample times): counts, whole run
      add(stacks, parseFolded(foldCpuProfile(p, { root: clock?.cwd, original })));
      continue;
    }
    const weights = sampleWeightsMs(p);
    const weightOf = (i: number) => weights[i]!;
    const toUs = (epochMs: number) => (epochMs - (clock?.epochOffsetMs ?? 0)) * 1000;
    const options: FoldOptions = { root: clock?.cwd, original, ...(windowed ? { window: { fromUs: toUs(window!.startMs), toUs: toUs(window!.endMs) } } : {}) };
    for (const [, group] of foldSamplesBy(p, () => 0, options, weightOf)) add(stacks, group);
    const owners = clock?.owners;
    const sampleOwners = clock?.sampleOwners;
    if (byRequest && owners && sampleOwners) {
      const groups = foldSamplesBy(p, (i) => sampleOwners[i] ?? -1, { root: clock.cwd, original }, weightOf);
      for (const [owner, group] of groups) {
        const o = owners[owner];
        if (owner < 0 || !o) continue;
        const k = key(o.traceId, o.spanId);
        add(byRequest.get(k) ?? byRequest.set(k, new Map()).get(k)!, group);
      }
    }
  }
  return { scope: windowed ? 'window' : 'run', stacks, weighted: timed, byRequest };
}

function withoutMeasuring(stacks: Map<string, number>): { app: Map<string, number>; total: number; measuring: number } {
  const app = new Map<string, number>();
  let total = 0;
  let measuring = 0;
  for (const [s, n] of stacks) {
    if (isMeasuring(s)) measuring += n;
    else {
      app.set(s, n);
      total += n;
    }
  }
  return { app, total, measuring };
}

/** A request of the window as the CPU figures need it. */
export interface CpuRequest {
  traceId: string;
  spanId: string;
  route: string;
}

/** The window's CPU figures: the app's CPU, per request of the window and per route (span profile). */
export function cpuFiguresOf(cpu: CpuSamples, requests: readonly CpuRequest[], requestCount: number): CpuFigures {
  const { app, total, measuring } = withoutMeasuring(cpu.stacks);
  let routes: Map<string, RouteCpu> | null = null;
  let charged = 0;
  if (cpu.byRequest) {
    routes = new Map();
    for (const r of requests) {
      let route = routes.get(r.route);
      if (!route) routes.set(r.route, (route = { stacks: new Map(), ms: 0, requests: 0, msPerRequest: 0 }));
      route.requests++;
      const mine = cpu.byRequest.get(key(r.traceId, r.spanId));
      if (!mine) continue;
      const own = withoutMeasuring(mine);
      add(route.stacks, own.app);
      route.ms += own.total;
      charged += own.total;
    }
    for (const route of routes.values()) route.msPerRequest = route.requests ? route.ms / route.requests : 0;
  }
  return {
    scope: cpu.scope,
    stacks: cpu.weighted ? app : null,
    ms: cpu.weighted ? total : 0,
    measuringMs: cpu.weighted ? measuring : 0,
    requests: requestCount,
    msPerRequest: cpu.weighted && requestCount > 0 ? total / requestCount : null,
    routes,
    chargedShare: cpu.byRequest ? (total > 0 ? Math.min(1, charged / total) : 0) : null,
  };
}

