/**
 * The report's story and per-worker sections (dashboards/report/story.ts): a story lab's page opens with the story's
 * table and points — the same figures as lab.md — and a run with several workers shows each worker's figures from its
 * evidence; run data is escaped.
 */
import { describe, expect, it } from 'vitest';
import type { LabFile, LabStage, Summary } from '../../profiles/contract/types.js';
import { renderLabPage } from '../../dashboards/report/render.js';
import { processesSection } from '../../dashboards/report/processes.js';
import { storySection } from '../../dashboards/report/story.js';
import type { LabModel, RunModel } from '../../dashboards/report/model.js';
import type { ProcessFigures } from '../../scripts/analysis/evidence.js';
import { blockingIo } from '../../scripts/lab/stories/blocking-io.js';

function summary(rps: number, blocked: number, healthP99: number): Summary {
  const stats = (p99: number) => ({ requests: 100, rps: rps / 2, latencyMs: { p50: p99 / 4, p90: p99, p95: p99, p99, max: p99 }, non2xx: 0, errors: 0, waitedMsPerRequest: blocked ? 200 : 0 });
  return {
    overall: { ...stats(500), rps },
    routes: { 'GET /health': stats(healthP99), 'GET /blocking-io': stats(600) },
    eventLoop: { delayMs: { p50: 1, p99: 3, max: 9 }, utilization: 0.5 },
    blocking: { count: blocked ? 70 : 0, totalMs: blocked * 100, msPerRequest: blocked },
  };
}

function labModel(stages: LabStage[], story = true): LabModel {
  const lab: LabFile = {
    id: 'lab-1',
    startedAt: '2026-12-04T10:00:00.000Z',
    complete: true,
    settings: { profiler: 'none', load: { durationS: 4, warmupS: 1, connections: 10, scenario: 'blocking-io' } },
    stages,
    ...(story ? { story: { name: 'blocking-io', title: blockingIo.title, stages: stages.map((s) => ({ stage: s.stage, changes: 'x' })) } } : {}),
  };
  return { kind: 'lab', dir: '/tmp/lab-1', id: 'lab-1', lab, stages: stages.map((s) => ({ stage: s.stage, runDir: `/tmp/lab-1/${s.run}`, summary: s.summary, run: null })), notes: [] };
}

describe('report: the story and the workers', () => {
  const stages: LabStage[] = [
    { stage: 'sync', run: '01-sync', summary: summary(34, 27.8, 822) },
    { stage: 'async', run: '03-async', summary: summary(366, 0, 7) },
  ];

  it('a story lab opens with the story: its table and what the figures say', () => {
    const page = renderLabPage(labModel(stages), { hrefTo: () => './x', generatedAt: '2026-12-04T10:00:00.000Z' });
    const section = /<section id="story">[\s\S]*?<\/section>/.exec(page)?.[0] ?? '';
    expect(section).toContain('One blocking call stops every request');
    expect(section).toMatch(/<td><b>sync<\/b><\/td><td class="n">1<\/td>\s*<td class="n">205.5<\/td><td class="n">822<\/td><td class="n">200<\/td>/);
    expect(section).toContain('<b>The innocent route pays.</b> <code>GET /health</code> never blocks, yet its p99 is 822 ms in sync against 7 ms in async (117×)');
    expect(section).toContain('<code>UV_THREADPOOL_SIZE</code>');
    expect(page.indexOf('id="story"')).toBeLessThan(page.indexOf('id="verdict"'));
    expect(page).toContain('<a href="#story">Story</a>');
    // any other lab: no story section
    expect(storySection(labModel(stages, false)).html).toBe('');
  });

  it('a run with several workers shows each one from its evidence; names are escaped', () => {
    const proc = (pid: string, role: ProcessFigures['role'], blocks: number): ProcessFigures => ({
      pid,
      role,
      requests: role === 'server' ? 100 : 0,
      rps: role === 'server' ? 30 : 0,
      blocks,
      blockedMs: blocks * 50,
      blockedMsPerRequest: role === 'server' ? blocks / 2 : 0,
      waitedMsPerRequest: 12.5,
      waitedMs: 1250,
      eventLoop: role === 'server' ? { delayMs: { p50: 50, p99: 160, max: 200 }, utilization: 1 } : null,
      rssMb: { p50: 150, max: 160 },
    });
    const run = (processes: ProcessFigures[]) => ({ evidence: { measured: { processes } } }) as unknown as RunModel;
    const none = processesSection([{ name: 'sync', run: run([proc('1', 'server', 50)]) }]);
    expect(none.present).toBe(false);
    const s = processesSection([{ name: '<sync-workers-2>', run: run([proc('11', 'server', 50), proc('12', 'server', 48), proc('10', 'primary', 0)]) }]);
    expect(s.present).toBe(true);
    expect(s.html.html).toContain('&lt;sync-workers-2&gt;');
    expect(s.html.html).toMatch(/<td class="mono">11<\/td><td>server<\/td><td class="n">100<\/td><td class="n">30<\/td>\s*<td class="n">50<\/td><td class="n">25<\/td><td class="n">12.5<\/td>\s*<td class="n">160<\/td><td class="n">100<\/td>\s*<td class="n">150 \(160\)<\/td>/);
    expect(s.html.html).toContain('<td>primary</td>');
  });
});
