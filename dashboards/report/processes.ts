/**
 * The report's per-worker section: for runs with several worker processes (node:cluster), every process's requests,
 * blocks, waiting, loop and memory, from the evidence's `measured.processes`. Pure: model in, HTML out, run data only
 * through esc().
 */
import { fmt } from '../../scripts/analysis/markdown.js';
import { html, raw, type Raw } from './escape.js';
import type { RunModel } from './model.js';

/** Stages (or the run) whose evidence holds several server processes. */
function clustered(runs: readonly { name: string; run: RunModel | null }[]): { name: string; run: RunModel }[] {
  return runs.filter((s): s is { name: string; run: RunModel } => !!s.run && s.run.evidence.measured.processes.filter((p) => p.role === 'server').length > 1);
}

/** Per worker: every process of the runs that had several (node:cluster), from their evidence. Empty otherwise. */
export function processesSection(runs: readonly { name: string; run: RunModel | null }[]): { html: Raw; present: boolean } {
  const multi = clustered(runs);
  if (multi.length === 0) return { html: raw(''), present: false };
  const rows = multi.flatMap((s) =>
    s.run.evidence.measured.processes.map(
      (p) => html`<tr><td>${s.name}</td><td class="mono">${p.pid}</td><td>${p.role}</td><td class="n">${fmt(p.requests, 0)}</td><td class="n">${fmt(p.rps)}</td>
<td class="n">${fmt(p.blocks, 0)}</td><td class="n">${fmt(p.blockedMsPerRequest, 2)}</td><td class="n">${fmt(p.waitedMsPerRequest, 1)}</td>
<td class="n">${p.eventLoop ? fmt(p.eventLoop.delayMs.p99, 2) : '–'}</td><td class="n">${p.eventLoop ? fmt(p.eventLoop.utilization * 100) : '–'}</td>
<td class="n">${p.rssMb ? `${fmt(p.rssMb.p50, 0)} (${fmt(p.rssMb.max, 0)})` : '–'}</td></tr>`,
    ),
  );
  return {
    present: true,
    html: html`<section id="processes"><h2>Per worker</h2>
<p class="lead">Each process of the runs with several workers (node:cluster): a block stops only its own worker's loop, and only that worker's requests wait behind it. Requests are the traced ones it served in the window; RSS in MiB, median (max) of the runner's samples.</p>
<table><thead><tr><th>Stage</th><th>Process</th><th>Role</th><th class="n">Requests</th><th class="n">req/s</th><th class="n">Blocks</th><th class="n">Blocked ms/req</th><th class="n">Waited ms/req</th><th class="n">Loop delay p99</th><th class="n">Loop util. %</th><th class="n">RSS MiB (max)</th></tr></thead>
<tbody>${rows}</tbody></table></section>`,
  };
}
