/**
 * The report's per-thread section: every worker thread of the app (threads/<pid>-<threadId>/), from the evidence's
 * `threads` — its own blocks (a block there stops that thread's loop only), the function that blocked most, how many
 * work items blocked, and its loop. Pure: model in, HTML out, run data only through esc().
 */
import { fmt } from '../../scripts/analysis/markdown.js';
import { html, raw, type Raw } from './escape.js';
import type { RunModel } from './model.js';

/** Per thread: every worker thread of the runs that had any. Empty otherwise. */
export function threadsSection(runs: readonly { name: string; run: RunModel | null }[]): { html: Raw; present: boolean } {
  const withThreads = runs.filter((s): s is { name: string; run: RunModel } => !!s.run && s.run.evidence.threads.length > 0);
  if (withThreads.length === 0) return { html: raw(''), present: false };
  const rows = withThreads.flatMap((s) =>
    s.run.evidence.threads.map((t) => {
      const top = t.functions[0];
      return html`<tr><td>${s.name}</td><td class="mono">${t.pid}-${t.threadId}</td><td class="n">${fmt(t.blocks, 0)}</td><td class="n">${fmt(t.blockedMs, 1)}</td>
<td class="n">${fmt(t.workItems, 0)}</td><td class="mono">${top ? top.topFrame : '–'}</td><td class="n">${top ? fmt(top.blockedMs, 1) : '–'}</td>
<td class="n">${t.eventLoop ? fmt(t.eventLoop.delayMs.p99, 2) : '–'}</td><td class="n">${t.eventLoop ? fmt(t.eventLoop.utilization * 100) : '–'}</td><td>${t.cpuProfile ? 'yes' : 'no'}</td></tr>`;
    }),
  );
  return {
    present: true,
    html: html`<section id="threads"><h2>Worker threads</h2>
<p class="lead">Each worker thread of the app in the window, from its own probe files (<code>threads/&lt;pid&gt;-&lt;threadId&gt;/</code>): a block there stops that thread's loop, not the main one's, so it is not in the blocked ms above; each is charged to the work item (message) that ran it. Its CPU profile is in its folder.</p>
<table><thead><tr><th>Stage</th><th>Thread</th><th class="n">Blocks</th><th class="n">Blocked ms</th><th class="n">Work items</th><th>Blocked most in</th><th class="n">its ms</th><th class="n">Loop delay p99</th><th class="n">Loop util. %</th><th>CPU profile</th></tr></thead>
<tbody>${rows}</tbody></table></section>`,
  };
}
