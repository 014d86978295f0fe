/**
 * The allocation flamegraph in a real headless Chromium: a real run of test/probes/fixtures/memory-app.mjs (looplens
 * profile, heap profile on by default), its report's run page, heap-flamegraph.html loaded into the page's flamegraph
 * frame on demand, and the flamegraph's search finding the leaking function (rememberSession) with a share of the
 * allocations. heap.heapprofile itself is checked structurally in test/probes/memory.test.ts.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_FILES } from '../../profiles/contract/index.js';
import { writeReport, type ReportResult } from '../../dashboards/report/write.js';
import { BIN, ROOT, runCli } from '../scripts/helpers.js';

const CHROMIUM = process.env.LOOPLENS_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const APP = join(ROOT, 'test/probes/fixtures/memory-app.mjs');

let root: string;
let result: ReportResult;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)`);
  root = mkdtempSync(join(tmpdir(), 'looplens-heap-browser-'));
  const run = join(root, 'profiles', 'memory-run');
  const r = await runCli(['profile', '--heap', '--path', '/leak', '--path', '/churn', '-c', '4', '-d', '5', '--warmup', '1', '-o', run, '--', process.execPath, APP]);
  expect(r.code, r.stderr).toBe(0);
  expect(existsSync(join(run, RUN_FILES.heapFlamegraph))).toBe(true);
  result = writeReport({ profilesDir: join(root, 'profiles') });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the allocation flamegraph in Chromium', () => {
  it('loads from the report on demand, and its search finds the leaking function', async () => {
    expect(BIN).toBeTruthy();
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    const path = result.pages.find((p) => p.id === 'memory-run')!.path;
    await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });
    // the memory section, with the leaking route's figures
    expect(await page.locator('#memory').innerText()).toContain('GET /leak');
    expect(await page.locator('#eventloop svg.chart rect.mark').count()).toBeGreaterThan(0);
    await page.locator(`#flamegraphs a[target="looplens-flame"][href$="/${RUN_FILES.heapFlamegraph}"]`).click();
    await expect.poll(() => page.frames().some((f) => f.url().endsWith(`/${RUN_FILES.heapFlamegraph}`))).toBe(true);
    const frame = page.frames().find((f) => f.url().endsWith(`/${RUN_FILES.heapFlamegraph}`))!;
    await expect.poll(() => frame.evaluate(() => document.body?.innerText ?? '')).toContain('allocations');
    await frame.locator('#search').fill('rememberSession');
    await expect.poll(() => frame.evaluate(() => document.body?.innerText ?? '')).toMatch(/matches: [\d.]+ ?%/);
    // the filters work on it too: app frames only keeps the fixture's functions
    await frame.locator('#f-app').check();
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});
