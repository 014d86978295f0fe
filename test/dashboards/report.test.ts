import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunFolderError } from '../../profiles/contract/index.js';
import { loadLab, loadRun } from '../../dashboards/report/model.js';
import { commonDir, renderLabPage, renderRunPage } from '../../dashboards/report/render.js';
import { writeReport, type ReportResult } from '../../dashboards/report/write.js';
import { HOSTILE, STAGES, buildLab, buildRun } from './fixtures.js';

let root: string;
let profiles: string;
let result: ReportResult;
let labDir: string;

const read = (p: string) => readFileSync(p, 'utf8');

/** href/src attribute values of a page (the data block excluded). */
function links(page: string): string[] {
  const body = page.replace(/<script type="application\/json"[^]*?<\/script>/, '');
  return [...body.matchAll(/\s(?:href|src)="([^"]*)"/g)].map((m) => m[1].replace(/&amp;/g, '&'));
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'looplens-dash-'));
  profiles = join(root, 'profiles');
  labDir = buildLab(profiles, { hostile: true, extraStage: true }).labDir;
  buildRun(join(profiles, HOSTILE.runId), { id: HOSTILE.runId, stage: 'cached', speed: 8, routes: [HOSTILE.route], blocking: true, hostile: true, seed: 11, startMs: Date.UTC(2025, 0, 1), flamegraph: false });
  buildRun(join(profiles, '2025-01-01-bare'), { id: '2025-01-01-bare', speed: 2, routes: ['GET /'], blocking: false, hostile: false, seed: 12, startMs: Date.UTC(2025, 0, 1), bare: true });
  result = writeReport({ profilesDir: profiles, generatedAt: '2025-01-03T00:00:00.000Z' });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('writeReport on a lab, a hostile run and a bare run', () => {
  it('writes the index at profiles/index.html and a page per lab, stage run and run', () => {
    expect(result.index).toBe(join(profiles, 'index.html'));
    expect(result.warnings).toEqual([]);
    expect(result.pages.filter((p) => p.kind === 'lab')).toHaveLength(1);
    expect(result.pages.filter((p) => p.kind === 'run')).toHaveLength(STAGES.length + 1 + 2);
    for (const p of result.pages) {
      expect(existsSync(p.path)).toBe(true);
      expect(dirname(p.path)).toBe(join(profiles, 'report'));
    }
  });

  it('shows every stage of the lab, in order, on the lab page and the index', () => {
    const lab = read(result.pages.find((p) => p.kind === 'lab')!.path);
    let at = 0;
    for (const stage of STAGES) {
      const i = lab.indexOf(`>${stage}</a>`, at);
      expect(i, stage).toBeGreaterThan(-1);
      at = i;
    }
    const index = read(result.index);
    for (const stage of STAGES) expect(index).toContain(`>${stage}</a>`);
    // the hostile sixth stage shows as text
    expect(lab).toContain('&quot;&gt;&lt;b onmouseover=window.__xss=7&gt;x');
  });

  it('puts every hostile string in as text, never as markup', () => {
    for (const p of [result.index, ...result.pages.map((x) => x.path)]) {
      const page = read(p);
      for (const bad of ['<img src=x', '<svg onload', '<script>window', '<iframe src="javascript', '<b onmouseover']) {
        expect(page, `${p}: ${bad}`).not.toContain(bad);
      }
      // exactly one script element, and it is an inert data block
      expect(page.match(/<script/g)).toHaveLength(1);
      expect(page).toContain('<script type="application/json" id="looplens-data">');
      const data = /<script type="application\/json" id="looplens-data">([^]*?)<\/script>/.exec(page)![1];
      expect(() => JSON.parse(data)).not.toThrow();
    }
    const lab = read(result.pages.find((p) => p.kind === 'lab')!.path);
    expect(lab).toContain('GET /users/&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;');
    expect(lab).toContain('&lt;script&gt;window.__xss=2&lt;/script&gt;handler');
    expect(lab).toContain('&lt;/script&gt;&lt;script&gt;window.__xss=4&lt;/script&gt;SELECT 1');
    const hostileRun = read(result.pages.find((p) => p.id === HOSTILE.runId)!.path);
    expect(hostileRun).toContain('run-&lt;img src=x onerror=window.__xss=6&gt;');
    expect(hostileRun).toContain('&lt;iframe src=&quot;javascript:window.top.__xss=5&quot;&gt;&lt;/iframe&gt;');
  });

  it('forbids remote loads: a CSP meta, and only relative or in-page links', () => {
    for (const p of [result.index, ...result.pages.map((x) => x.path)]) {
      const page = read(p);
      expect(page).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;/);
      for (const href of links(page)) {
        expect(href, `${p}: ${href}`).toMatch(/^(#|\.\/|\.\.\/)/);
        if (href.startsWith('#')) {
          expect(page, `${p}: anchor ${href}`).toContain(`id="${href.slice(1)}"`);
          continue;
        }
        // every local link resolves to a file that exists (pages, flamegraphs)
        expect(existsSync(resolve(dirname(p), decodeURIComponent(href))), `${p}: ${href}`).toBe(true);
      }
    }
  });

  it('links each stage flamegraph relatively and ignores profiler outputs outside the run folder', () => {
    const lab = read(result.pages.find((p) => p.kind === 'lab')!.path);
    expect(lab).toContain('href="../2025-01-02T03-04-05-lab/01-baseline/flamegraph.html"');
    expect(lab).toContain('href="../2025-01-02T03-04-05-lab/05-cached/0x/flamegraph.html"');
    expect(lab).not.toContain('passwd');
    const run = loadRun(join(labDir, '01-baseline'));
    expect(run.notes.some((n) => n.includes('outside the run folder'))).toBe(true);
  });

  it('renders a run with no optional files, saying what is missing', () => {
    const run = loadRun(join(profiles, '2025-01-01-bare'));
    expect(run.evidence.eventLoop).toEqual([]);
    expect(run.evidence.blocking).toBeNull();
    expect(run.evidence.traces.source).toBeNull();
    expect(run.notes).toEqual(expect.arrayContaining(['eventloop.jsonl is missing', expect.stringMatching(/^blocking\.json missing/), expect.stringMatching(/^no spans \(traces\.otlp\.json and traces\.jaeger\.json missing/)]));
    const page = read(result.pages.find((p) => p.id === '2025-01-01-bare')!.path);
    expect(page).toContain('eventloop.jsonl is missing');
    expect(page).toContain('No traces (traces.otlp.json, traces.jaeger.json).');
  });

  it('is deterministic for the same input', () => {
    const lab = loadLab(labDir);
    const links = { hrefTo: () => './x', generatedAt: '2025-01-03T00:00:00.000Z' };
    expect(renderLabPage(lab, links)).toBe(renderLabPage(loadLab(labDir), links));
    const run = loadRun(join(labDir, '01-baseline'));
    expect(renderRunPage(run, links)).toBe(renderRunPage(loadRun(join(labDir, '01-baseline')), links));
  });

  it('marks blocked stretches on the waterfall and links the blocking table to it', () => {
    const lab = read(result.pages.find((p) => p.kind === 'lab')!.path);
    expect(lab).toMatch(/<g class="blocked"><title>event loop blocked [\d.]+ ms in /);
    expect(lab).toMatch(/<a href="#s0-wf-\d+" class="mono" title="[^"]*drawn below">[0-9a-f]{32}<\/a>/);
  });
});

describe('a route that got no responses', () => {
  it('shows "no responses", not latencies of 0 ms', () => {
    const dir = join(root, 'silent-route');
    buildRun(dir, { id: 'silent-route', speed: 1, routes: ['GET /ok', 'GET /stuck'], blocking: false, hostile: false, seed: 5, startMs: Date.UTC(2025, 0, 1) });
    // the load generator sent requests to GET /stuck and none came back in the window
    const summary = JSON.parse(read(join(dir, 'summary.json')));
    summary.routes['GET /stuck'] = { ...summary.routes['GET /stuck'], requests: 0, rps: 0, latencyMs: { p50: 0, p90: 0, p95: 0, p99: 0, max: 0 } };
    writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary));
    const page = renderRunPage(loadRun(dir), { hrefTo: () => './x' });
    expect(page).toMatch(/<code class="rt">GET \/<wbr>stuck<\/code><\/td><td class="n">0<\/td><td colspan="\d+" class="empty">no responses<\/td>/);
  });
});

describe('required files', () => {
  it('names a missing or corrupt required file in the error', () => {
    const dir = join(root, 'broken');
    buildRun(dir, { id: 'broken', speed: 1, routes: ['GET /'], blocking: false, hostile: false, seed: 1, startMs: Date.UTC(2025, 0, 1) });
    writeFileSync(join(dir, 'summary.json'), '{ not json');
    expect(() => loadRun(dir)).toThrow(RunFolderError);
    try {
      loadRun(dir);
    } catch (err) {
      expect((err as RunFolderError).code).toBe('RUN_FILE_CORRUPT');
      expect((err as RunFolderError).file).toBe(join(dir, 'summary.json'));
      expect((err as Error).message).toContain('summary.json is not valid JSON');
    }
    unlinkSync(join(dir, 'summary.json'));
    expect(() => loadRun(dir)).toThrow(/summary\.json is missing/);
    // explicit folder: the error reaches the caller; a scan lists the folder as unreadable instead
    expect(() => writeReport({ folders: [dir], out: join(root, 'out', 'index.html') })).toThrow(/summary\.json is missing/);
    const scanned = writeReport({ profilesDir: root, out: join(root, 'out2', 'index.html') });
    expect(scanned.warnings.join('\n')).toContain('summary.json is missing');
    expect(read(scanned.index)).toContain('summary.json is missing');
    expect(() => loadRun(join(root, 'nowhere'))).toThrow(/not a run folder/);
  });

  it('a corrupt optional file becomes a note, not a failure', () => {
    const dir = join(root, 'corrupt-optional');
    buildRun(dir, { id: 'corrupt-optional', speed: 1, routes: ['GET /'], blocking: false, hostile: false, seed: 2, startMs: Date.UTC(2025, 0, 1) });
    writeFileSync(join(dir, 'traces.jaeger.json'), '{"nope": 1}');
    writeFileSync(join(dir, 'blocking.json'), '[');
    const run = loadRun(dir);
    expect(run.evidence.traces.source).toBeNull();
    expect(run.evidence.blocking).toBeNull();
    expect(run.notes.join('\n')).toMatch(/traces\.jaeger\.json has no "data" array/);
    expect(run.notes.join('\n')).toMatch(/blocking\.json is not valid JSON/);
  });
});

describe('commonDir', () => {
  it('finds the folder every app frame shares, to print paths relative to it', () => {
    expect(commonDir(['/app/dist/a.js', '/app/dist/db/b.js', '/app/dist/c.js'])).toBe('/app/dist/');
    expect(commonDir(['/app/dist/a.js', '/app/src/b.js'])).toBe('/app/');
    expect(commonDir(['/a.js', '/b.js'])).toBe('');
    expect(commonDir(['/app/a.js', 'x.js'])).toBe('');
    expect(commonDir([])).toBe('');
  });
});

describe('a real lab (looplens lab of target-app, trimmed: test/dashboards/fixtures/real-lab)', () => {
  it('renders every stage, the N+1 of baseline as one repeated row, and the blocking of baseline', () => {
    const dir = join(root, 'real');
    cpSync(fileURLToPath(new URL('./fixtures/real-lab', import.meta.url)), join(dir, 'real-lab'), { recursive: true });
    const r = writeReport({ profilesDir: dir });
    expect(r.warnings).toEqual([]);
    const lab = read(r.pages.find((p) => p.kind === 'lab')!.path);
    for (const stage of STAGES) expect(lab).toContain(`>${stage}</a>`);
    // baseline's timeline/notifications: dozens of queries in a row, drawn as one row "×N"
    expect(lab).toMatch(/pg\.query:SELECT [\w…]+<tspan class="ws"> ×\d{2,}<\/tspan>/);
    expect(lab).toMatch(/<g class="blocked"><title>event loop blocked [\d,.]+ ms in callSync/);
    // per route, from RequestStats.blockedMsPerRequest / queriesPerRequest
    expect(lab).toContain('aria-label="Blocked ms per request, by route"');
    expect(lab).toContain('aria-label="Queries per request, by route"');
    expect(lab).toContain('<th class="n">Queries/req</th>');
  });
});
