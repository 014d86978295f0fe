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
import { writeReport, type ReportResult } from '../../dashboards/report/write.js';
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

async function open(path: string): Promise<Watched> {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('request', (r) => {
    if (!r.url().startsWith('file:') && !r.url().startsWith('about:') && !r.url().startsWith('data:')) problems.push(`non-local request: ${r.url()}`);
  });
  const response = await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });
  expect(response?.ok() ?? true).toBe(true);
  return { page, problems };
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)`);
  root = mkdtempSync(join(tmpdir(), 'looplens-browser-'));
  const profiles = join(root, 'profiles');
  buildLab(profiles, { hostile: true, extraStage: true });
  buildRun(join(profiles, HOSTILE.runId), { id: HOSTILE.runId, stage: 'cached', speed: 8, routes: [HOSTILE.route, 'GET /'], blocking: true, hostile: true, seed: 5, startMs: Date.UTC(2025, 0, 1), flamegraph: true });
  // a real captured run (looplens profile of a Fastify app with blocking routes), with the CLI's flamegraph.html
  cpSync(fileURLToPath(new URL('./fixtures/fastify-blocking', import.meta.url)), join(profiles, 'fastify-blocking'), { recursive: true });
  result = writeReport({ profilesDir: profiles });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});

afterAll(async () => {
  await browser?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the report in Chromium', () => {
  it('loads every page with no console error, no failed or remote request, and runs no injected script', async () => {
    const shots = process.env.LOOPLENS_SCREENSHOTS;
    if (shots) mkdirSync(shots, { recursive: true });
    // The index, the lab, the hostile run, the real run and one stage run (the others share its template).
    const pages = [result.index, ...result.pages.filter((p) => p.kind === 'lab' || [HOSTILE.runId, '01-baseline', 'fastify-blocking'].includes(p.id)).map((p) => p.path)];
    expect(pages).toHaveLength(5);
    for (const path of pages) {
      const { page, problems } = await open(path);
      expect(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss), path).toBeUndefined();
      expect(await page.locator('img, iframe[src^="javascript"], svg script, body script:not([type="application/json"])').count(), path).toBe(0);
      if (shots) await page.screenshot({ path: join(shots, basename(path).replace(/[^A-Za-z0-9._-]/g, '_') + '.png'), fullPage: true });
      expect(problems, path).toEqual([]);
      await page.close();
    }
  });

  it('shows all stages of the lab and the hostile route as text', async () => {
    const lab = result.pages.find((p) => p.kind === 'lab')!;
    const { page, problems } = await open(lab.path);
    const overview = await page.locator('#overview').innerText();
    for (const stage of [...STAGES, HOSTILE.stage]) expect(overview).toContain(stage);
    for (const stage of STAGES) await expect(page.locator('#overview').getByText(stage, { exact: true }).isVisible()).resolves.toBe(true);
    const latency = await page.locator('#latency').innerText();
    expect(latency).toContain(HOSTILE.route);
    expect(await page.locator('#latency code', { hasText: HOSTILE.route }).first().isVisible()).toBe(true);
    const blocking = await page.locator('#blocking').innerText();
    expect(blocking).toContain(HOSTILE.fn);
    // the waterfall of the hostile route is drawn, with its blocked stretch marked
    expect(await page.locator('#waterfalls details[open] svg.waterfall').count()).toBeGreaterThanOrEqual(4);
    expect(await page.locator('#waterfalls details[open] g.blocked').count()).toBeGreaterThan(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss)).toBeUndefined();
    expect(problems).toEqual([]);
    await page.close();
  });

  it('loads a stage flamegraph into the page on demand, from the run folder', async () => {
    const lab = result.pages.find((p) => p.kind === 'lab')!;
    const { page, problems } = await open(lab.path);
    expect(page.frames()).toHaveLength(2); // the page and the placeholder frame: nothing loaded up front
    await page.locator('#flamegraphs a[target="looplens-flame"][href*="03-parallel/flamegraph.html"]').click();
    await expect.poll(() => page.frames().map((f) => f.url()).find((u) => u.endsWith('/flamegraph.html')) ?? '').toContain('/03-parallel/');
    const frame = page.frames().find((f) => f.url().endsWith('/flamegraph.html'))!;
    await expect.poll(() => frame.evaluate(() => document.body?.innerText ?? '')).toContain('flamegraph of 03-parallel');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows the real run: its routes, its waterfalls with blocked stretches, and its flamegraph on demand', async () => {
    const real = result.pages.find((p) => p.id === 'fastify-blocking')!;
    const { page, problems } = await open(real.path);
    const text = await page.locator('#latency').innerText();
    for (const route of ['GET /busy/1', 'GET /clean', 'GET /sleep/2', 'GET /timer']) expect(text).toContain(route);
    expect(await page.locator('#waterfalls svg.waterfall').count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator('#waterfalls g.blocked').count()).toBeGreaterThan(0);
    expect(await page.locator('#blocking').innerText()).toContain('busyLoop');
    await page.locator('#flamegraphs a[target="looplens-flame"]').first().click();
    await expect.poll(() => page.frames().some((f) => f.url().endsWith('/fastify-blocking/flamegraph.html'))).toBe(true);
    await page.waitForTimeout(300);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('follows the index to a lab and from the lab to a stage run', async () => {
    const { page, problems } = await open(result.index);
    await page.locator('#labs a code').first().click();
    await page.waitForLoadState('load');
    expect(await page.locator('h1').innerText()).toBe('2025-01-02T03-04-05-lab');
    await page.locator('#overview a', { hasText: 'pooled' }).click();
    await page.waitForLoadState('load');
    expect(await page.locator('h1').innerText()).toBe('04-pooled');
    await page.locator('header a', { hasText: 'runs' }).click();
    await page.waitForLoadState('load');
    expect(await page.locator('h1').innerText()).toBe('Runs');
    expect(problems).toEqual([]);
    await page.close();
  });
});
