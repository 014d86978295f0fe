/**
 * profile.pprof: the run's CPU samples in pprof's format (what Pyroscope, Grafana and `go tool pprof` read), each
 * sample labelled with the request that ran it where the span profile knows it — `route` (the evidence's template),
 * `trace_id`, `span_id` (the request's server span) — and `pid`. Sample values: one sample, and the CPU time it stands
 * for in nanoseconds — the time to the next sample, capped as the evidence weighs it (./fold.ts sampleWeightsMs), so
 * a route's CPU here is the evidence's. Locations are V8's profile nodes (one per call site
 * in its tree), functions its distinct frames; lines are 1-based. `(idle)` is left out, as in stacks.folded.
 */
import { gzipSync } from 'node:zlib';
import { Function as PprofFunction, Label, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import type { CpuProfile, CpuProfileNode } from '../../profiles/contract/index.js';
import { frameFile, sampleWeightsMs } from './fold.js';

export interface PprofOptions {
  /** The route of a request by its server span ("<traceId>/<spanId>"): the evidence's templates. */
  routeOf(traceId: string | null, spanId: string | null): string | null;
}

/** The gzipped pprof of one or more processes' CPU profiles (a cluster's workers: one `pid` label each). */
export function cpuProfilesToPprof(profiles: readonly CpuProfile[], options: PprofOptions): Uint8Array {
  const strings = new StringTable();
  const functions: PprofFunction[] = [];
  const locations: Location[] = [];
  const functionIds = new Map<string, number>();
  const samples = new Map<string, { locationId: number[]; labels: Label[]; count: number; nanos: number }>();
  const key = {
    route: strings.dedup('route'),
    traceId: strings.dedup('trace_id'),
    spanId: strings.dedup('span_id'),
    pid: strings.dedup('pid'),
  };
  let startUs = Infinity;
  let endUs = -Infinity;
  let nanosPerSample = 0;

  for (const profile of profiles) {
    const clock = profile.looplens;
    const weights = sampleWeightsMs(profile);
    const deltas = [...(profile.timeDeltas ?? [])].slice(1).sort((a, b) => a - b);
    // the sampling period: the median interval between samples
    if (deltas.length) nanosPerSample = Math.max(nanosPerSample, Math.round(deltas[Math.floor(deltas.length / 2)]! * 1000));
    if (profile.startTime !== undefined && profile.endTime !== undefined) {
      const offsetUs = (clock?.epochOffsetMs ?? 0) * 1000;
      startUs = Math.min(startUs, profile.startTime + offsetUs);
      endUs = Math.max(endUs, profile.endTime + offsetUs);
    }
    // each node is a location; its stack is the path of locations from it up to the root
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const locationOf = new Map<number, number>();
    const locate = (node: CpuProfileNode): number => {
      let id = locationOf.get(node.id);
      if (id !== undefined) return id;
      const cf = node.callFrame;
      const file = frameFile(cf.url, clock?.cwd);
      const name = cf.functionName || '(anonymous)';
      const fKey = `${name}\u0000${file}\u0000${cf.lineNumber}`;
      let functionId = functionIds.get(fKey);
      if (functionId === undefined) {
        functionId = functions.length + 1;
        functionIds.set(fKey, functionId);
        functions.push(new PprofFunction({ id: functionId, name: strings.dedup(name), systemName: strings.dedup(name), filename: strings.dedup(file), startLine: cf.lineNumber + 1 }));
      }
      id = locations.length + 1;
      locations.push(new Location({ id, line: [new Line({ functionId, line: cf.lineNumber + 1, column: (cf.columnNumber ?? -1) + 1 })] }));
      locationOf.set(node.id, id);
      return id;
    };
    const stackCache = new Map<number, number[] | null>();
    const stackOf = (nodeId: number): number[] | null => {
      const cached = stackCache.get(nodeId);
      if (cached !== undefined) return cached;
      const stack: number[] = [];
      let dropped = false;
      for (let id: number | undefined = nodeId; id !== undefined; id = parent.get(id)) {
        const n = byId.get(id);
        if (!n) break;
        if (n.callFrame.functionName === '(idle)') dropped = true;
        if (n.callFrame.functionName === '(root)' && parent.get(id) === undefined) break;
        stack.push(locate(n));
      }
      const result = dropped || stack.length === 0 ? null : stack;
      stackCache.set(nodeId, result);
      return result;
    };

    const owners = clock?.owners ?? [];
    const sampleOwners = clock?.sampleOwners ?? [];
    const pid = clock ? String(clock.pid) : null;
    (profile.samples ?? []).forEach((nodeId, i) => {
      const stack = stackOf(nodeId);
      if (!stack) return;
      const owner = owners[sampleOwners[i] ?? -1];
      const route = owner ? options.routeOf(owner.traceId, owner.spanId) ?? owner.route : null;
      const k = `${pid}\u0000${nodeId}\u0000${owner?.traceId ?? ''}/${owner?.spanId ?? ''}\u0000${route ?? ''}`;
      let s = samples.get(k);
      if (!s) {
        const labels: Label[] = [];
        if (route) labels.push(new Label({ key: key.route, str: strings.dedup(route) }));
        if (owner?.traceId) labels.push(new Label({ key: key.traceId, str: strings.dedup(owner.traceId) }));
        if (owner?.spanId) labels.push(new Label({ key: key.spanId, str: strings.dedup(owner.spanId) }));
        if (pid) labels.push(new Label({ key: key.pid, str: strings.dedup(pid) }));
        samples.set(k, (s = { locationId: stack, labels, count: 0, nanos: 0 }));
      }
      s.count++;
      s.nanos += Math.round(weights[i]! * 1e6);
    });
  }

  const sampleType = [
    new ValueType({ type: strings.dedup('samples'), unit: strings.dedup('count') }),
    new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') }),
  ];
  const profile = new Profile({
    sampleType,
    sample: [...samples.values()].map((s) => new Sample({ locationId: s.locationId, value: [s.count, s.nanos], label: s.labels })),
    location: locations,
    function: functions,
    stringTable: strings,
    // epoch ns pass 2^53: bigint
    timeNanos: Number.isFinite(startUs) ? BigInt(Math.round(startUs)) * 1000n : 0,
    durationNanos: Number.isFinite(endUs) && Number.isFinite(startUs) ? Math.round((endUs - startUs) * 1000) : 0,
    periodType: new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') }),
    period: nanosPerSample,
  });
  return gzipSync(profile.encode());
}
