/**
 * After the app stopped: merge cluster workers' probe files (LOOPLENS_OUT/workers/<pid>/) into the top-level files,
 * then derive stacks.folded, flamegraph.html, summary.json and summary.md.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readBlocking, readEventLoop, readJaeger, readServingCpuProfiles } from '../../profiles/contract/read.js';
import { RUN_FILES, type BlockingFile, type Finding, type EventLoopSample, type JaegerFile, type RunInfo, type Summary } from '../../profiles/contract/types.js';
import { writeJsonAtomic, writePprof, writeRouteFlamegraphs, writeTextAtomic } from '../../profiles/contract/write.js';
import { cpuProfilesToPprof } from '../analysis/pprof.js';
import { msPerSampleOf, renderFlamegraphHtml } from '../../dashboards/flamegraph/render.js';
import { loadEvidence, type Evidence } from '../analysis/evidence.js';
import { foldCpuProfile, sumFolded, type CpuProfile } from '../analysis/fold.js';
import { mapBlocking, runSourceMapper, unmappedTypeScriptNote } from '../analysis/sourcemaps.js';
import { renderSummaryMd } from '../analysis/markdown.js';
import { summarise } from '../analysis/summarise.js';
import { renderFindingsMarkdown } from '../diagnose/index.js';
import { LooplensError } from '../errors.js';

/** Files the probes must have written for a run to be complete. */
export const PROBE_FILES = ['eventloop', 'blocking', 'tracesOtlp', 'tracesJaeger', 'cpuprofile'] as const;

function workerDirs(runDir: string): string[] {
  const dir = join(runDir, 'workers');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((n) => join(dir, n))
    .filter((p) => statSync(p).isDirectory());
}

function readJsonIf<T>(path: string): T | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

/**
 * Merge workers into the top-level files: blocking events concatenated (their ids, "<pid>:<n>", say whose), event-loop
 * samples of the workers (not the primary) concatenated with their worker's `pid`, both sorted by time,
 * traces concatenated, profile.cpuprofile = the worker profile with the most samples (DevTools opens one profile);
 * the returned folded stacks sum every process's profile. Returns null folded when there is nothing to merge.
 */
export function mergeWorkers(runDir: string, root: string): { folded: string | null; workers: number } {
  const dirs = workerDirs(runDir);
  if (dirs.length === 0) return { folded: null, workers: 0 };
  const all = [runDir, ...dirs];

  // the primary only hands connections to the workers: its idle loop would dilute the workers' delay figures
  const loopDirs = dirs.some((d) => existsSync(join(d, RUN_FILES.eventloop))) ? dirs : all;
  const samples: EventLoopSample[] = [];
  for (const d of loopDirs) {
    if (!existsSync(join(d, RUN_FILES.eventloop))) continue;
    // each worker's samples say whose they are (its folder is named after its pid), so its loop can be told apart
    const pid = d === runDir ? NaN : Number(basename(d));
    samples.push(...readEventLoop(d).map((s) => (Number.isInteger(pid) ? { ...s, pid } : s)));
  }
  samples.sort((a, b) => a.t - b.t);
  writeTextAtomic(join(runDir, RUN_FILES.eventloop), samples.map((s) => JSON.stringify(s)).join('\n') + (samples.length ? '\n' : ''));

  let blocking: BlockingFile | null = null;
  for (const d of all) {
    if (!existsSync(join(d, RUN_FILES.blocking))) continue;
    const b = readBlocking(d);
    blocking = blocking ? { thresholdMs: blocking.thresholdMs, events: [...blocking.events, ...b.events] } : { ...b, events: [...b.events] };
  }
  if (blocking) {
    blocking.events.sort((a, b) => a.startMs - b.startMs);
    writeJsonAtomic(join(runDir, RUN_FILES.blocking), blocking);
  }

  const jaeger: JaegerFile = { data: [] };
  let anyJaeger = false;
  for (const d of all) {
    if (!existsSync(join(d, RUN_FILES.tracesJaeger))) continue;
    anyJaeger = true;
    jaeger.data.push(...readJaeger(d).data);
  }
  if (anyJaeger) writeJsonAtomic(join(runDir, RUN_FILES.tracesJaeger), jaeger);

  const otlp: { resourceSpans: unknown[] } = { resourceSpans: [] };
  let anyOtlp = false;
  for (const d of all) {
    const v = readJsonIf<{ resourceSpans?: unknown[] }>(join(d, RUN_FILES.tracesOtlp));
    if (!v) continue;
    anyOtlp = true;
    otlp.resourceSpans.push(...(v.resourceSpans ?? []));
  }
  if (anyOtlp) writeJsonAtomic(join(runDir, RUN_FILES.tracesOtlp), otlp);

  const profiles = all
    .map((d) => readJsonIf<CpuProfile>(join(d, RUN_FILES.cpuprofile)))
    .filter((p): p is CpuProfile => p !== null && Array.isArray(p.nodes));
  if (profiles.length === 0) return { folded: null, workers: dirs.length };
  const biggest = profiles.reduce((a, b) => ((b.samples?.length ?? 0) > (a.samples?.length ?? 0) ? b : a));
  writeJsonAtomic(join(runDir, RUN_FILES.cpuprofile), biggest);
  const mapper = runSourceMapper(runDir);
  const original = mapper.original.bind(mapper);
  return { folded: sumFolded(profiles.map((p) => foldCpuProfile(p, { root, original }))), workers: dirs.length };
}

export function missingProbeFiles(runDir: string): string[] {
  return PROBE_FILES.map((k) => RUN_FILES[k]).filter((f) => !existsSync(join(runDir, f)));
}

/**
 * stacks.folded + flamegraph.html + summary.json, from the run folder the probes and the runner (run.json's window,
 * load.json) wrote. Returns the summary and the evidence it was computed from, for findings.json.
 */
export function writeDerived(runDir: string, info: RunInfo, root: string, foldedOverride: string | null): { summary: Summary; evidence: Evidence; notes: string[] } {
  const missing = missingProbeFiles(runDir);
  if (missing.length > 0) {
    throw new LooplensError(
      'PROBE_OUTPUT_MISSING',
      `the probes did not write ${missing.join(', ')} (did the app exit on SIGINT, or did its preload fail?)`,
      'see app.log in the run folder; the app must stop on SIGINT and run with the looplens preload',
    );
  }
  const profile = readJsonIf<CpuProfile>(join(runDir, RUN_FILES.cpuprofile));
  if (!profile || !Array.isArray(profile.nodes)) {
    throw new LooplensError('PROBE_OUTPUT_MISSING', `${RUN_FILES.cpuprofile} is not a V8 CPU profile`, 'see app.log in the run folder');
  }
  // frames of a compiled app at their source position (its source maps, ../analysis/sourcemaps.ts): stacks.folded,
  // the flamegraph, and blocking.json's frames and top frames, the compiled location kept beside each
  const mapper = runSourceMapper(runDir);
  const folded = foldedOverride ?? foldCpuProfile(profile, { root, original: mapper.original.bind(mapper) });
  const blocking = readBlocking(runDir);
  const mapped = mapBlocking(blocking, mapper);
  if (mapped !== blocking) writeJsonAtomic(join(runDir, RUN_FILES.blocking), mapped);
  const unmapped = unmappedTypeScriptNote(mapper, root);
  writeTextAtomic(join(runDir, RUN_FILES.folded), folded);
  const subtitle = `${info.stage ? `stage ${info.stage} · ` : ''}profiler ${info.profiler} · ${info.command.join(' ')}`;
  // ms per sample from the profile's own duration and sample count (with workers: the largest process's profile)
  writeTextAtomic(join(runDir, RUN_FILES.flamegraph), renderFlamegraphHtml({ folded, title: `looplens — ${info.id}`, subtitle, msPerSample: msPerSampleOf(profile) }));

  const evidence = loadEvidence(runDir);
  const summary = summarise(evidence);
  writeJsonAtomic(join(runDir, RUN_FILES.summary), summary);
  // profile.pprof: the samples labelled with the evidence's route of the request that ran them (span profile)
  const routes = new Map(evidence.requests.map((r) => [`${r.traceId}/${r.span.spanId}`, r.route]));
  writePprof(runDir, cpuProfilesToPprof(readServingCpuProfiles(runDir), { routeOf: (t, s) => routes.get(`${t}/${s}`) ?? null }));
  writeRouteFlamegraphs(runDir, routeFlamegraphs(evidence, info, subtitle));
  writeHeapFlamegraphs(runDir, evidence, info, subtitle);
  return { summary, evidence, notes: unmapped ? [unmapped] : [] };
}

/**
 * heap-flamegraph.html (what the app allocated in the heap profile's allocated half) and heap-live-flamegraph.html
 * (what its live half kept), KiB by stack, looplens' own measuring left out — the evidence's memory figures.
 */
function writeHeapFlamegraphs(runDir: string, evidence: Evidence, info: RunInfo, subtitle: string): void {
  const m = evidence.memory;
  const kib = (stacks: Map<string, number>) => [...stacks].map(([stack, bytes]) => `${stack} ${Math.max(1, Math.round(bytes / 1024))}`).join('\n') + '\n';
  const span = (w: { startMs: number; endMs: number }) => `${Math.round((w.endMs - w.startMs) / 100) / 10} s`;
  if (m?.allocated) {
    const a = m.allocated;
    writeTextAtomic(
      join(runDir, RUN_FILES.heapFlamegraph),
      renderFlamegraphHtml({
        folded: kib(a.stacks),
        title: `looplens — ${info.id} — allocations`,
        subtitle: `what the app allocated in ${span(a.window)} of the window (heap.heapprofile, sampled)${a.bytesPerRequest !== null ? `, ${Math.round(a.bytesPerRequest / 102.4) / 10} KiB per request` : ''} · ${subtitle}`,
        unit: 'KiB allocated',
        msNote: 'bytes, not time: V8\'s sampling heap profiler, collected and live alike',
      }),
    );
  }
  if (m?.live && m.live.bytes > 0) {
    const l = m.live;
    writeTextAtomic(
      join(runDir, RUN_FILES.heapLiveFlamegraph),
      renderFlamegraphHtml({
        folded: kib(l.stacks),
        title: `looplens — ${info.id} — still live`,
        subtitle: `what was allocated in ${span(l.window)} of the window and still live when the app stopped (after a full GC)${l.bytesPer1kRequests !== null ? `, ${Math.round(l.bytesPer1kRequests / 104857.6) / 10} MiB per 1,000 requests` : ''} · ${subtitle}`,
        unit: 'KiB live',
        msNote: 'bytes, not time: V8\'s sampling heap profiler',
      }),
    );
  }
}

/**
 * The span profile's flamegraph of each route, busiest first: the CPU its traced requests of the window ran, by
 * stack, in µs (the evidence's sample weights), looplens' own measuring left out.
 */
function routeFlamegraphs(evidence: Evidence, info: RunInfo, subtitle: string): Parameters<typeof writeRouteFlamegraphs>[1] {
  const routes = [...(evidence.cpu?.routes ?? new Map())].filter(([, r]) => r.ms > 0).sort((a, b) => b[1].ms - a[1].ms);
  return routes.map(([route, r]) => {
    const folded = [...r.stacks].map(([stack, ms]) => `${stack} ${Math.max(1, Math.round(ms * 1000))}`).join('\n') + '\n';
    return {
      route,
      requests: r.requests,
      cpuMsPerRequest: Math.round(r.msPerRequest * 1000) / 1000,
      html: renderFlamegraphHtml({
        folded,
        title: `looplens — ${info.id} — ${route}`,
        subtitle: `${route}: the CPU its ${r.requests} traced requests of the window ran (span profile), ${Math.round(r.msPerRequest * 100) / 100} ms per request · ${subtitle}`,
        unit: 'µs of CPU',
        msPerSample: 0.001,
        msNote: 'each CPU sample weighs the time to the next (capped), run-queue wait left out',
      }),
    };
  });
}

/** summary.md: the numbers, then the top findings. */
export function writeSummaryMd(runDir: string, summary: Summary, info: RunInfo, findings: readonly Finding[]): void {
  const text = renderSummaryMd(summary, info) + '\n' + renderFindingsMarkdown(findings, { max: 5, moreIn: 'findings.json (looplens diagnose lists them all)' });
  writeTextAtomic(join(runDir, RUN_FILES.summaryMd), text);
}
