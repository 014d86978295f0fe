/**
 * The report's memory section: per stage (or the run) the window's heap and GC figures (summary.json `memory`), the
 * heap each second (memory.jsonl: heap used and total, external, RSS) and where the allocations came from (the top
 * allocation sites of heap.heapprofile, with their routes) — all from the evidence (scripts/analysis/memory.ts). Pure:
 * model in, HTML out, run data only through esc().
 */
import { fmt } from '../../scripts/analysis/markdown.js';
import { lineChart } from './charts.js';
import { html, raw, type Raw } from './escape.js';
import type { HeapPart } from '../../scripts/analysis/memory.js';
import type { RunModel } from './model.js';

const MIB = 1024 * 1024;

interface MemoryStage {
  name: string;
  color: string;
  run: RunModel | null;
}

/** The memory section, or nothing when no stage has memory figures. */
export function memorySection(stages: readonly MemoryStage[], origin: (s: MemoryStage) => number, xLabel: string): { html: Raw; present: boolean } {
  const withMemory = stages.filter((s) => s.run?.evidence.memory);
  if (withMemory.length === 0) return { html: raw(''), present: false };
  const rows = withMemory.map((s) => {
    const m = s.run!.evidence.memory!;
    const sm = s.run!.summary.memory;
    return html`<tr><td>${s.name}</td><td class="n">${m.heapUsedStartBytes !== null ? fmt(m.heapUsedStartBytes / MIB) : '–'} → ${m.heapUsedEndBytes !== null ? fmt(m.heapUsedEndBytes / MIB) : '–'}</td>
<td class="n">${m.growthBytesPer1kRequests !== null ? fmt(m.growthBytesPer1kRequests / MIB, 2) : '–'}</td><td class="n">${m.allocated?.bytesPerRequest != null ? fmt(m.allocated.bytesPerRequest / 1024) : '–'}</td>
<td class="n">${fmt(m.gcMs, 0)}</td><td class="n">${fmt(m.gcShare * 100, 1)}</td><td class="n">${fmt(m.pauses.length, 0)}</td><td class="n">${m.longestPause ? `${fmt(m.longestPause.durationMs, 1)} (${m.longestPause.kind})` : '–'}</td>
<td>${sm?.routes ? Object.entries(sm.routes).map(([r, v]) => html`<div><code>${r}</code>: ${v.allocatedKbPerRequest ?? '–'} KiB/req allocated, ${v.growthMbPer1kRequests ?? '–'} MiB kept per 1,000</div>`) : '–'}</td></tr>`;
  });
  const series = (pick: (x: { heapUsedBytes: number; heapTotalBytes: number; externalBytes: number; rssBytes: number }) => number) =>
    withMemory.map((s) => {
      const t0 = origin(s);
      return { name: s.name, color: s.color, points: s.run!.evidence.memory!.samples.map((x) => [Math.round((x.t - t0) / 100) / 10, pick(x) / MIB] as [number, number | null]) };
    });
  const charts = [
    lineChart({ title: 'Heap used per second', unit: 'MiB', xLabel, series: series((x) => x.heapUsedBytes), format: (v) => fmt(v) }),
    lineChart({ title: 'Heap total per second', unit: 'MiB', xLabel, series: series((x) => x.heapTotalBytes), format: (v) => fmt(v) }),
    lineChart({ title: 'External memory per second', unit: 'MiB', xLabel, series: series((x) => x.externalBytes), format: (v) => fmt(v) }),
    lineChart({ title: 'RSS per second', unit: 'MiB', xLabel, series: series((x) => x.rssBytes), format: (v) => fmt(v) }),
  ];
  const sites = withMemory.map((s) => {
    const a = s.run!.evidence.memory!.allocated;
    const l = s.run!.evidence.memory!.live;
    const list = (part: HeapPart | null, what: string) =>
      part && part.sites.length
        ? html`<div><b>${s.name}: ${what}</b><ol>${part.sites.slice(0, 5).map((x) => html`<li><code>${x.site}</code> — ${fmt((x.share ?? 0) * 100, 1)} %${x.route ? html` · <code>${x.route}</code>` : ''} · ${fmt(x.bytes / MIB, 1)} MiB</li>`)}</ol></div>`
        : '';
    return html`${list(a, 'top allocation sites (allocated)')}${list(l, 'kept (still live at the end)')}`;
  });
  return {
    present: true,
    html: html`<section id="memory"><h2>Memory</h2>
<p class="lead">Heap and garbage collection over the measured window: heap used at its first and last second (MiB), what the heap kept per 1,000 requests (heap.heapprofile's live half: allocated in the window's second half, still live at the end after a full GC — churn is not in it), KiB allocated per request (its allocated half), and GC pauses (perf_hooks gc entries) with their share of the window. Per route where the allocation stacks tell it. The allocation flamegraphs are under Flamegraphs; GC pauses are marked on the event-loop delay chart.</p>
<table><thead><tr><th>stage</th><th>heap used MiB</th><th>kept MiB / 1,000 req</th><th>KiB allocated / req</th><th>GC ms</th><th>GC % of window</th><th>pauses</th><th>longest pause ms</th><th>by route</th></tr></thead><tbody>${rows}</tbody></table>
<div class="charts">${charts.map((c) => html`<div class="card">${raw(c)}</div>`)}</div>
<div class="sites">${sites}</div></section>`,
  };
}
