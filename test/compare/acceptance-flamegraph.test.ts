/**
 * A pull request that removes a blocking call, profiled for real (the fixture app under the probes, `looplens
 * profile`): compare names the function, the base-shaped diff flamegraph draws it as vanished with its share, and
 * the head-shaped one lists what grew — in the data and in a real headless Chromium.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlameData } from '../../dashboards/flamegraph/model.js';
import { runCli, type CliResult } from '../scripts/helpers.js';

const APP = new URL('./fixtures/app.mjs', import.meta.url).pathname;
const FN = 'looplensFixtureBlockingHash (test/compare/fixtures/app.mjs)';
const tmp = mkdtempSync(join(tmpdir(), 'looplens-accept-fg-'));
const load = ['--path', '/work', '--duration', '2', '--warmup', '0', '--connections', '2'];
let compare: CliResult;
let data: FlameData;
let browser: Browser | undefined;

beforeAll(async () => {
  const base = await runCli(['profile', ...load, '--out', join(tmp, 'base'), '--', 'node', APP], { BLOCKING: '1' });
  expect(base.code, base.stderr).toBe(0);
  const head = await runCli(['profile', ...load, '--out', join(tmp, 'head'), '--', 'node', APP]);
  expect(head.code, head.stderr).toBe(0);
  compare = await runCli(['compare', join(tmp, 'base'), join(tmp, 'head'), '--out', join(tmp, 'cmp')]);
  const html = readFileSync(join(tmp, 'cmp', 'diff-flamegraph.html'), 'utf8');
  data = JSON.parse(/<script type="application\/json" id="flame-data">([^<]*)<\/script>/.exec(html)![1]) as FlameData;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('a head without the base\'s blocking function', () => {
  it('compare.md names the function: its total time and its blocking hotspot vanished', () => {
    expect(compare.code, compare.stderr).toBe(0);
    const md = compare.stdout;
    expect(md).toContain(`Total time of <code>${FN}</code> (with its callees) shrank`);
    expect(md).toContain('vanished 🟢'); // the blocking hotspot on GET /work
    expect(md).toContain('looplensFixtureBlockingHash');
    expect(md).toContain('head-shaped or base-shaped (toggle)');
  });

  it('the diff data: base-shaped, the function is drawn with its base samples and none in head; listed as vanished with its share', () => {
    const i = data.names.indexOf(FN);
    expect(i).toBeGreaterThan(0);
    const nodes: { v: number; b?: number }[] = [];
    (function walk(n: FlameData['root']) {
      if (n.n === i) nodes.push(n);
      (n.c ?? []).forEach(walk);
    })(data.root);
    expect(nodes.length).toBeGreaterThan(0);
    expect(nodes.every((n) => n.v === 0)).toBe(true);
    const baseSamples = nodes.reduce((s, n) => s + (n.b ?? 0), 0);
    expect(baseSamples / data.baseTotal!).toBeGreaterThan(0.2);
    const vanished = data.changes!.all.shrank.find((c) => c.n === i)!;
    expect(vanished).toMatchObject({ status: 'vanished', head: 0 });
    expect(vanished.base).toBeCloseTo(baseSamples / data.baseTotal!, 6);
    // what grew in head: the page's remaining work, renderPage, takes a larger share
    expect(data.changes!.app.grew.map((c) => data.names[c.n])).toContain('renderPage (test/compare/fixtures/app.mjs)');
    // both runs have a CPU profile: ms are known on both sides
    expect(data.msPerSample).toBeGreaterThan(0);
    expect(data.baseMsPerSample).toBeGreaterThan(0);
  });

  it('in Chromium: base shape shows it vanished with its share and ms; head shape lists what grew; search finds it on the base side', async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    const page = await browser.newPage({ viewport: { width: 1300, height: 800 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    await page.goto(pathToFileURL(join(tmp, 'cmp', 'diff-flamegraph.html')).href);
    expect(await page.locator('#grew').textContent()).toMatch(/renderPage \(test\/compare\/fixtures\/app\.mjs\) — grew: base [\d.]+ % \([\d.,]+ ms\) → head [\d.]+ %/);
    await page.fill('#search', 'looplensFixtureBlockingHash');
    expect(await page.locator('#status').textContent()).toMatch(/matches: head 0\.00 % · base (?!0\.00)[\d.]+ %/);
    await page.click('#shape-base');
    await page.check('#f-app');
    // with app frames only, the function sits right under the handler: sweep the rows for its tooltip
    const box = (await page.locator('#fg').boundingBox())!;
    let seen = '';
    for (let row = 1; row < 5 && !seen.includes('vanished in head'); row++) {
      for (let x = 3; x < box.width; x += 40) {
        await page.mouse.move(box.x + x, box.y + 18 * row + 9);
        const t = (await page.locator('#tip').isVisible()) ? await page.locator('#tip').textContent() : '';
        if (t?.startsWith('looplensFixtureBlockingHash')) seen += t + '\n';
      }
    }
    expect(seen).toMatch(/head: 0 samples · 0\.0 ms · 0\.00 %\nbase: \d+ samples · [\d.,]+ ms · [1-9][\d.]* %\nvanished in head/);
    expect(problems).toEqual([]);
  });
});
