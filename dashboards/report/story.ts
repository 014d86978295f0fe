/**
 * The report's story section: a story lab's story in figures (`looplens lab --story`), the same figures as lab.md's
 * opening section (scripts/lab/stories/render.ts's storyFigures and storyPoints, marked up as HTML here). Pure: model
 * in, HTML out, run data only through esc().
 */
import type { Finding } from '../../profiles/contract/index.js';
import { findStory } from '../../scripts/lab/stories/index.js';
import { storyFigures, storyPoints, type Inline } from '../../scripts/lab/stories/render.js';
import { fmt } from '../../scripts/analysis/markdown.js';
import { esc, html, raw, type Raw } from './escape.js';
import type { LabModel } from './model.js';

const HTML: Inline = { text: (s) => esc(s).replace(/&#96;(.+?)&#96;/g, '<code>$1</code>'), code: (s) => `<code>${esc(s)}</code>`, em: (s) => `<i>${esc(s)}</i>` };

/** Trusted Markdown-ish text (a story's own notes): escaped, `code` spans kept. */
function noteHtml(s: string): Raw {
  return raw(esc(s).replace(/&#96;(.+?)&#96;/g, '<code>$1</code>'));
}

/** The story section of a story lab's page (empty for any other lab). */
export function storySection(lab: LabModel): Raw {
  const meta = lab.lab.story;
  const story = meta ? findStory(meta.name) : undefined;
  if (!meta || !story) return raw('');
  const findings = new Map<string, readonly Finding[]>();
  for (const s of lab.stages) if (s.run?.findings) findings.set(s.stage, s.run.findings.findings);
  const fig = storyFigures({ story, stages: lab.lab.stages, findings, labPath: '.' });
  const { innocent, slow } = story.routes;
  const rows = fig.rows.map(
    (r) => html`<tr><td><b>${r.stage}</b></td><td class="n">${r.workers}</td>
<td class="n">${fmt(r.innocent?.latencyMs.p50)}</td><td class="n">${fmt(r.innocent?.latencyMs.p99)}</td><td class="n">${fmt(r.innocent?.waitedMsPerRequest, 1)}</td>
<td class="n">${fmt(r.slow?.latencyMs.p50)}</td><td class="n">${fmt(r.slow?.latencyMs.p99)}</td><td class="n">${fmt(r.blockedMsPerRequest, 2)}</td>
<td class="n">${fmt(r.rps)}</td><td class="n">${fmt(r.rpsPerWorker)}</td>
<td class="n">${r.memory ? (r.workers > 1 ? `${fmt(r.memory.totalMb, 0)} (${fmt(r.memory.perServerMb, 0)})` : fmt(r.memory.totalMb, 0)) : '–'}</td>
<td class="n">${fmt(r.loopDelayP99Ms, 1)}</td><td>${r.findings === null ? '–' : r.findings.length === 0 ? 'none' : r.findings.join(', ')}</td></tr>`,
  );
  const points = storyPoints(fig, story, HTML).map((p) => html`<li><b>${p.title}</b> ${raw(p.text)}</li>`);
  return html`<section id="story"><h2>The story: ${story.title}</h2>
<p class="lead">${story.source}, measured: the same ${story.callMs} ms upstream call behind <code>${slow}</code>, made a different way in each stage, beside <code>${innocent}</code>, which never blocks. Latency in ms; waited = ms a request spent with its process's loop blocked by other requests' work (before and inside its span); blocked = loop time of the blocks per request.</p>
<table><thead><tr><th>Stage</th><th class="n">Workers</th><th class="n">${innocent} p50</th><th class="n">p99</th><th class="n">waited ms/req</th><th class="n">${slow} p50</th><th class="n">p99</th><th class="n">Blocked ms/req</th><th class="n">req/s</th><th class="n">req/s per worker</th><th class="n">RSS MiB (per worker)</th><th class="n">Loop delay p99</th><th>Findings</th></tr></thead>
<tbody>${rows}</tbody></table>
<ul>${points}</ul>
${story.notes.map((n) => html`<p class="sub">${noteHtml(n)}</p>`)}</section>`;
}
