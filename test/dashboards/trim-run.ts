/**
 * Trims a real run folder — or a lab folder and each of its stage runs — into a small test fixture: the slowest traces
 * per route (so the report's waterfalls are the real ones), the blocking events of those traces plus the longest
 * others, stacks cut to 12 frames, span tags cut to the ones the report reads, the CLI's flamegraph.html (runs only; --no-flamegraph drops it). Reads and writes
 * through profiles/contract; JSON is written compact.
 *   npx tsx test/dashboards/trim-run.ts <run or lab folder> test/dashboards/fixtures/<name> [--per-route n] [--no-flamegraph]
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  LAB_FILES,
  RUN_FILES,
  isLabFolder,
  readBlocking,
  readEventLoop,
  readJaeger,
  readLab,
  readRunInfo,
  readSummary,
  spansFromJaeger,
  writeTextAtomic,
  type JaegerTrace,
} from '../../profiles/contract/index.js';
import { buildRequests } from '../../scripts/analysis/requests.js';

const args = process.argv.slice(2);
const [from, to] = args.filter((a) => !a.startsWith('--') && !/^\d+$/.test(a));
const perRouteAt = args.indexOf('--per-route');
const perRoute = perRouteAt >= 0 ? Number(args[perRouteAt + 1]) : 3;
const flamegraph = !args.includes('--no-flamegraph');
if (!from || !to) throw new Error('usage: trim-run.ts <run or lab folder> <fixture folder> [--per-route n] [--no-flamegraph]');

const write = (path: string, value: unknown) => writeTextAtomic(path, JSON.stringify(value) + '\n');

function trimRun(src: string, dst: string, eventsPerRun: number): string {
  mkdirSync(dst, { recursive: true });
  const jaeger = readJaeger(src);
  const byRoute = new Map<string, JaegerTrace[]>();
  const routeOfTrace = new Map(buildRequests(spansFromJaeger(jaeger)).map((r) => [r.traceId, r.route]));
  for (const t of jaeger.data) {
    const route = routeOfTrace.get(t.traceID.toLowerCase());
    if (!route) continue;
    byRoute.set(route, [...(byRoute.get(route) ?? []), t]);
  }
  const keep: JaegerTrace[] = [];
  const rootDur = (t: JaegerTrace) => Math.max(...t.spans.filter((s) => s.references.length === 0).map((s) => s.duration), 0);
  for (const traces of byRoute.values()) {
    const sorted = [...traces].sort((a, b) => rootDur(b) - rootDur(a));
    keep.push(...sorted.slice(0, perRoute), ...(perRoute > 1 ? sorted.slice(-1) : []));
  }
  const kept = [...new Set(keep)];
  const KEEP = /^(span\.kind|http\.|url\.|db\.(system|operation|collection)|error|otel\.status|looplens\.)/;
  for (const t of kept) {
    for (const p of Object.values(t.processes)) p.tags = p.tags.filter((g) => g.key.startsWith('service.'));
    for (const s of t.spans) {
      s.tags = s.tags.filter((g) => KEEP.test(g.key) || g.key === 'db.statement' || g.key === 'db.query.text');
      for (const g of s.tags) if (typeof g.value === 'string' && g.value.length > 120) g.value = g.value.slice(0, 119) + '…';
      for (const l of s.logs) for (const f of l.fields) if (f.key === 'stack') f.value = String(f.value).split('\n').slice(0, 12).join('\n');
    }
  }
  const keptIds = new Set(kept.map((t) => t.traceID));
  write(join(dst, RUN_FILES.tracesJaeger), { data: kept });

  const blocking = readBlocking(src);
  const events = [...blocking.events].sort((a, b) => b.durationMs - a.durationMs);
  const chosen = [...events.filter((e) => e.traceId && keptIds.has(e.traceId)), ...events.filter((e) => !e.traceId || !keptIds.has(e.traceId)).slice(0, eventsPerRun)];
  write(join(dst, RUN_FILES.blocking), { thresholdMs: blocking.thresholdMs, events: chosen.map((e) => ({ ...e, frames: e.frames.slice(0, 12) })) });
  write(join(dst, RUN_FILES.run), readRunInfo(src));
  write(join(dst, RUN_FILES.summary), readSummary(src));
  writeTextAtomic(join(dst, RUN_FILES.eventloop), readEventLoop(src).map((s) => JSON.stringify(s)).join('\n') + '\n');
  if (flamegraph && existsSync(join(src, RUN_FILES.flamegraph))) copyFileSync(join(src, RUN_FILES.flamegraph), join(dst, RUN_FILES.flamegraph));
  return `${dst}: ${kept.length} traces, ${chosen.length} blocking events`;
}

if (isLabFolder(from)) {
  const lab = readLab(from);
  mkdirSync(to, { recursive: true });
  write(join(to, LAB_FILES.lab), lab);
  for (const s of lab.stages) console.log(trimRun(join(from, s.run), join(to, s.run), 10));
} else console.log(trimRun(from, to, 25));
