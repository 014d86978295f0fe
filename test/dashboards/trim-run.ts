/**
 * Trims a real run folder into a small test fixture (< 500 KB): a few traces per route (the slowest kept, so the
 * report's waterfalls are the real ones), the blocking events of those traces plus the longest others, stacks cut
 * to 12 frames, the CLI's flamegraph.html. Reads and writes through profiles/contract.
 *   npx tsx test/dashboards/trim-run.ts <run folder> test/dashboards/fixtures/<name>
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  RUN_FILES,
  readBlocking,
  readEventLoop,
  readJaeger,
  readRunInfo,
  readSummary,
  writeRunJson,
  writeTextAtomic,
  type JaegerTrace,
} from '../../profiles/contract/index.js';
import { routeOf } from '../../dashboards/report/jaeger.js';

const [from, to] = process.argv.slice(2);
if (!from || !to) throw new Error('usage: trim-run.ts <run folder> <fixture folder>');
mkdirSync(to, { recursive: true });

const jaeger = readJaeger(from);
const byRoute = new Map<string, JaegerTrace[]>();
for (const t of jaeger.data) {
  const root = t.spans.find((s) => s.references.length === 0) ?? t.spans[0];
  const route = routeOf(root);
  byRoute.set(route, [...(byRoute.get(route) ?? []), t]);
}
const keep: JaegerTrace[] = [];
for (const traces of byRoute.values()) {
  const rootDur = (t: JaegerTrace) => Math.max(...t.spans.filter((s) => s.references.length === 0).map((s) => s.duration), 0);
  const sorted = [...traces].sort((a, b) => rootDur(b) - rootDur(a));
  keep.push(...sorted.slice(0, 3), ...sorted.slice(-1));
}
const kept = [...new Set(keep)];
for (const t of kept) for (const s of t.spans) for (const l of s.logs) for (const f of l.fields) if (f.key === 'stack') f.value = String(f.value).split('\n').slice(0, 12).join('\n');
const keptIds = new Set(kept.map((t) => t.traceID));
writeRunJson(to, 'tracesJaeger', { data: kept });

const blocking = readBlocking(from);
const events = [...blocking.events].sort((a, b) => b.durationMs - a.durationMs);
const chosen = [...events.filter((e) => e.traceId && keptIds.has(e.traceId)), ...events.filter((e) => !e.traceId || !keptIds.has(e.traceId)).slice(0, 25)];
writeRunJson(to, 'blocking', { thresholdMs: blocking.thresholdMs, events: chosen.map((e) => ({ ...e, frames: e.frames.slice(0, 12) })) });

writeRunJson(to, 'run', readRunInfo(from));
writeRunJson(to, 'summary', readSummary(from));
writeTextAtomic(join(to, RUN_FILES.eventloop), readEventLoop(from).map((s) => JSON.stringify(s)).join('\n') + '\n');
if (existsSync(join(from, RUN_FILES.flamegraph))) copyFileSync(join(from, RUN_FILES.flamegraph), join(to, RUN_FILES.flamegraph));
console.log(`${to}: ${kept.length} traces, ${chosen.length} blocking events`);
