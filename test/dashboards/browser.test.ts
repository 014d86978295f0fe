/**
 * The report in a real headless Chromium (Debian's chromium + playwright-core): every page loads from file:// with
 * no console error and no failed request, shows all the stages of a lab, and shows hostile run data as text.
 * LOOPLENS_SCREENSHOTS=<dir> also saves a full-page screenshot of each page there.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_FILES, writeJsonAtomic, type FindingsFile } from '../../profiles/contract/index.js';
import { writeReport, type ReportResult } from '../../dashboards/report/write.js';
import { BLOCK_COLOR, ERROR_COLOR } from '../../dashboards/report/style.js';
import { HOSTILE, STAGES, buildLab, buildRun } from './fixtures.js';

const CHROMIUM = process.env.LOOPLENS_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let root: string;
let result: ReportResult;
let browser: Browser;

interface Watched {
  page: Page;
  problems: string[];
}

let shared: Watched | undefined;

/** Opens a page in the one tab the tests share (a new tab costs seconds on a busy machine); problems start empty. */
async function open(path: string): Promise<Watched> {
  if (!shared) {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const w: Watched = { page, problems: [] };
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') w.problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => w.problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => w.problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:') && !r.url().startsWith('about:') && !r.url().startsWith('data:')) w.problems.push(`non-local request: ${r.url()}`);
    });
    shared = w;
  }
  shared.problems.length = 0;
  const response = await shared.page.goto(pathToFileURL(path).href, { waitUntil: 'load' });
  expect(response?.ok() ?? true).toBe(true);
  return shared;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)`);
  root = mkdtempSync(join(tmpdir(), 'looplens-browser-'));
  const profiles = join(root, 'profiles');
  buildLab(profiles, { hostile: true, extraStage: true });
  // a finding whose title and fix carry markdown code spans, as the diagnose rules write them
  const findings: FindingsFile = {
    generatedAt: '2025-01-02T03:05:00.000Z',
    findings: [
      {
        kind: 'blocking-call',
        key: 'blocking-call GET /users/:id/timeline readFileSync',
        route: 'GET /users/:id/timeline',
        title: '`readFileSync` (target-app/db/sync-client.ts:42) blocks the event loop 12 ms per GET /users/:id/timeline (synchronous fs call)',
        evidence: { function: 'readFileSync', file: 'target-app/db/sync-client.ts', line: 42 },
        savingMsPerRequest: 12,
        fix: 'Use the promise API (`fs/promises`) or a stream instead of the `*Sync` call, so file I/O runs in the threadpool.',
      },
    ],
  };
  writeJsonAtomic(join(profiles, '2025-01-02T03-04-05-lab', '01-baseline', RUN_FILES.findings), findings);
  buildRun(join(profiles, HOSTILE.runId), { id: HOSTILE.runId, stage: 'cached', speed: 8, routes: [HOSTILE.route, 'GET /'], blocking: true, hostile: true, seed: 5, startMs: Date.UTC(2025, 0, 1), flamegraph: true });
  // a real captured run (looplens profile of a Fastify app with blocking routes), with the CLI's flamegraph.html
  cpSync(fileURLToPath(new URL('./fixtures/fastify-blocking', import.meta.url)), join(profiles, 'fastify-blocking'), { recursive: true });
  // and a real lab of target-app's five stages
  cpSync(fileURLToPath(new URL('./fixtures/real-lab', import.meta.url)), join(profiles, 'real-lab'), { recursive: true });
  result = writeReport({ profilesDir: profiles });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});

afterAll(async () => {
  await browser?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** What every page must satisfy: no injected script ran, no element an injection would create, no console error. */
async function sound({ page, problems }: Watched, label: string): Promise<void> {
  expect(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss), label).toBeUndefined();
  expect(await page.locator('img, iframe[src^="javascript"], svg script, body script:not([type="application/json"])').count(), label).toBe(0);
  const shots = process.env.LOOPLENS_SCREENSHOTS;
  if (shots) {
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, basename(label).replace(/[^A-Za-z0-9._-]/g, '_') + '.png'), fullPage: true });
  }
  expect(problems, label).toEqual([]);
}

const labPage = (synthetic: boolean) => result.pages.find((p) => p.kind === 'lab' && (p.id === 'real-lab') !== synthetic)!.path;

describe('the report in Chromium', () => {
  it('the index and a hostile run load with no console error, no failed or remote request, no injected script', async () => {
    for (const path of [result.index, result.pages.find((p) => p.id === HOSTILE.runId)!.path]) {
      const w = await open(path);
      await sound(w, path);
    }
  });

  it('the synthetic lab: all stages visible, hostile strings as text, a flamegraph loaded on demand', async () => {
    const w = await open(labPage(true));
    const { page } = w;
    const overview = await page.locator('#overview').innerText();
    for (const stage of [...STAGES, HOSTILE.stage]) expect(overview).toContain(stage);
    for (const stage of STAGES) await expect(page.locator('#overview').getByText(stage, { exact: true }).isVisible()).resolves.toBe(true);
    expect(await page.locator('#latency').innerText()).toContain(HOSTILE.route);
    expect(await page.locator('#latency code', { hasText: HOSTILE.route }).first().isVisible()).toBe(true);
    expect(await page.locator('#blocking').innerText()).toContain(HOSTILE.fn);
    // the waterfalls of the first stage, the hostile route's included, with their blocked stretches
    expect(await page.locator('#waterfalls details[open] svg.waterfall').count()).toBeGreaterThanOrEqual(4);
    expect(await page.locator('#waterfalls details[open] g.blocked').count()).toBeGreaterThan(0);
    // flamegraphs: nothing loaded up front, one loaded into the page's frame on demand
    expect(page.frames()).toHaveLength(2);
    await page.locator('#flamegraphs a[target="looplens-flame"][href*="03-parallel/flamegraph.html"]').click();
    await expect.poll(() => page.frames().map((f) => f.url()).find((u) => u.endsWith('/flamegraph.html')) ?? '').toContain('/03-parallel/');
    const frame = page.frames().find((f) => f.url().endsWith('/flamegraph.html'))!;
    await expect.poll(() => frame.evaluate(() => document.body?.innerText ?? '')).toContain('flamegraph of 03-parallel');
    await sound(w, 'synthetic-lab');
  });

  it('the real lab: all five stages, charts per route and per second', async () => {
    const w = await open(labPage(false));
    for (const stage of STAGES) await expect(w.page.locator('#overview').getByText(stage, { exact: true }).isVisible()).resolves.toBe(true);
    expect(await w.page.locator('#latency svg.chart').count()).toBe(4);
    expect(await w.page.locator('#eventloop svg.chart path[data-segments]').count()).toBe(STAGES.length * 2);
    // the warm-up is marked on both event-loop charts, and the x axis counts from the start of the load
    expect(await w.page.locator('#eventloop svg.chart g.band').count()).toBe(2);
    expect(await w.page.locator('#eventloop svg.chart g.band title').first().textContent()).toMatch(/^warm-up: /);
    expect(await w.page.locator('#eventloop').innerText()).toContain('s since the load began');
    // the probes name outgoing calls by their target (POST /posts calls the stand-in's /images, /notify, /index)
    const labels = await w.page
      .locator('#waterfalls details[open] svg.waterfall text.wl')
      .evaluateAll((ts) => ts.map((t) => [...t.childNodes].filter((n) => n.nodeName !== 'title').map((n) => n.textContent).join('').trim()));
    expect(labels).toEqual(expect.arrayContaining(['POST /images', 'POST /notify', 'POST /index']));
    expect(labels).not.toContain('POST');
    await sound(w, 'real-lab');
  });

  it('the real run: its routes, waterfalls with blocked stretches, the CLI-rendered flamegraph on demand', async () => {
    const w = await open(result.pages.find((p) => p.id === 'fastify-blocking')!.path);
    const { page } = w;
    const text = await page.locator('#latency').innerText();
    // --path /busy/1 and /sleep/2: the rows carry the app's route templates, as the traces and findings do
    for (const route of ['GET /busy/:id', 'GET /clean', 'GET /sleep/:id', 'GET /timer']) expect(text).toContain(route);
    expect(await page.locator('#waterfalls svg.waterfall').count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator('#waterfalls g.blocked').count()).toBeGreaterThan(0);
    expect(await page.locator('#blocking').innerText()).toContain('busyLoop');
    await page.locator('#flamegraphs a[target="looplens-flame"]').first().click();
    await expect.poll(() => page.frames().some((f) => f.url().endsWith('/fastify-blocking/flamegraph.html'))).toBe(true);
    await page.waitForTimeout(300);
    await sound(w, 'real-run');
  });

  it('follows the index to a lab and on to a stage run', async () => {
    const w = await open(result.index);
    const { page } = w;
    await page.locator('#labs a code', { hasText: '2025-01-02T03-04-05-lab' }).click();
    await page.waitForLoadState('load');
    expect(await page.locator('h1').innerText()).toBe('2025-01-02T03-04-05-lab');
    // the stage link resolves (report.test checks every link resolves to a file); its href is the stage's page
    expect(await page.locator('#overview a', { hasText: 'pooled' }).getAttribute('href')).toBe('./2025-01-02T03-04-05-lab--04-pooled.html');
    expect(w.problems).toEqual([]);
  });

  it('in-page links: the sticky nav covers no section heading or waterfall it scrolled to', async () => {
    const w = await open(labPage(true));
    const { page } = w;
    const hrefs = await page.locator('nav.toc a').evaluateAll((as) => as.map((a) => a.getAttribute('href')!));
    expect(hrefs.length).toBeGreaterThanOrEqual(6);
    const covered = async (selector: string) =>
      page.evaluate((sel) => {
        const nav = document.querySelector('nav.toc')!.getBoundingClientRect();
        const target = document.querySelector(sel)!.getBoundingClientRect();
        return { navBottom: nav.bottom, top: target.top };
      }, selector);
    for (const href of hrefs) {
      await page.locator(`nav.toc a[href="${href}"]`).click();
      const { navBottom, top } = await covered(`${href} h2`);
      // the page may end before a late section reaches the top: then it only has to be below the nav
      expect(top, href).toBeGreaterThanOrEqual(navBottom);
    }
    // a trace link in the blocking table jumps to that request's waterfall: its heading is below the nav too
    const link = page.locator('#blocking a[href^="#s0-wf-"]').first();
    const anchor = (await link.getAttribute('href'))!;
    await link.click();
    const { navBottom, top } = await covered(`${anchor} h4`);
    expect(top).toBeGreaterThanOrEqual(navBottom);
    expect(w.problems).toEqual([]);
  });

  it('two reds: a span in error is not drawn like a blocked loop, and the legend names both', async () => {
    const w = await open(labPage(true));
    const { page } = w;
    const rgb = (hex: string) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(', ')})`;
    const errorFill = await page.locator('#waterfalls details[open] rect.err').first().evaluate((r) => getComputedStyle(r).fill);
    const blockedFill = await page.locator('#waterfalls details[open] g.blocked rect.blk').first().evaluate((r) => getComputedStyle(r).fill);
    expect(errorFill).toBe(rgb(ERROR_COLOR));
    expect(blockedFill).toBe(rgb(BLOCK_COLOR));
    expect(errorFill).not.toBe(blockedFill);
    const legend = await page.locator('#waterfalls .legend .lg').evaluateAll((items) =>
      items.map((i) => ({ text: (i as HTMLElement).innerText, color: getComputedStyle(i.querySelector('.sw')!).backgroundColor })),
    );
    expect(legend).toEqual(expect.arrayContaining([{ text: 'error (span status)', color: rgb(ERROR_COLOR) }, { text: 'event loop blocked by this request', color: rgb(BLOCK_COLOR) }]));
    expect(w.problems).toEqual([]);
  });

  it('the event-loop chart: no line across missing samples, a second with no reading is no dip to 0', async () => {
    const w = await open(labPage(true));
    const { page } = w;
    // baseline blocks: its sampler missed the sample at 5 s and saw no timer fire at 7 s (fixtures.ts)
    const paths = await page.locator('#eventloop svg.chart').first().locator('path[data-segments]').evaluateAll((ps) => ps.map((p) => ({ d: p.getAttribute('d')!, stroke: p.getAttribute('stroke') })));
    const baseline = paths[0]!;
    const subpaths = baseline.d.split('M').filter(Boolean).map((sub) => sub.split('L').map((pt) => pt.trim().split(' ').map(Number) as [number, number]));
    expect(subpaths.length).toBe(3);
    // within a subpath, points are one sample apart: no segment spans the 2 s gap
    const steps = subpaths.flatMap((sp) => sp.slice(1).map((p, i) => p[0] - sp[i]![0]));
    expect(Math.max(...steps) / Math.min(...steps)).toBeLessThan(1.2);
    const marks = await page.locator('#eventloop svg.chart').first().locator('path.nr title').allTextContents();
    expect(marks.filter((m) => m.startsWith('baseline ·'))).toEqual([expect.stringMatching(/^baseline · s since start 7: no reading — the loop never turned/)]);
    // the other stages did not block: one unbroken line each
    for (const p of paths.slice(1, 5)) expect(p.d.split('M').filter(Boolean)).toHaveLength(1);
    expect(w.problems).toEqual([]);
  });

  it('spans named by their target, routes that wrap only between words, a Fix column without markdown', async () => {
    const w = await open(labPage(true));
    const { page } = w;
    // outgoing calls are named "<METHOD> <path>", as the probes name them (test/probes/span-names.test.ts)
    const labels = await page
      .locator('#waterfalls details[open] svg.waterfall text.wl')
      .evaluateAll((ts) => ts.map((t) => [...t.childNodes].filter((n) => n.nodeName !== 'title').map((n) => n.textContent).join('')));
    expect(labels).toContain('GET /images/1');
    expect(labels).not.toContain('GET');
    // the Fix column shows code, not backticks
    const fix = page.locator('#findings tr.finding td').nth(4);
    expect(await fix.innerText()).not.toContain('`');
    expect(await fix.locator('code').allTextContents()).toEqual(['fs/promises', '*Sync']);
    expect(await page.locator('#findings tr.finding td').nth(1).innerText()).not.toContain('`');
    // in a narrow window a route wraps after a "/" or a space, never inside a word
    await page.setViewportSize({ width: 480, height: 900 });
    try {
      const broken = await page.locator('code.rt').evaluateAll((codes) =>
        codes.flatMap((code) => {
          const tops: { ch: string; top: number }[] = [];
          const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
          for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            for (let i = 0; i < n.textContent!.length; i++) {
              const range = document.createRange();
              range.setStart(n, i);
              range.setEnd(n, i + 1);
              const rect = range.getClientRects()[0];
              if (rect) tops.push({ ch: n.textContent![i]!, top: Math.round(rect.top) });
            }
          }
          const bad = tops.some((t, i) => i > 0 && t.top !== tops[i - 1]!.top && !/[ /]/.test(tops[i - 1]!.ch) && t.ch !== ' ');
          return bad ? [code.textContent] : [];
        }),
      );
      expect(broken).toEqual([]);
      // and some route did wrap (the check is not vacuous)
      const wrapped = await page.locator('code.rt').evaluateAll((codes) => codes.filter((c) => c.getClientRects().length > 1 || c.getBoundingClientRect().height > 24).length);
      expect(wrapped).toBeGreaterThan(0);
    } finally {
      await page.setViewportSize({ width: 1360, height: 900 });
    }
    expect(w.problems).toEqual([]);
  });
});
