/**
 * The differential flamegraph compare writes (dashboards/flamegraph's renderer in diff mode, fed normalised stacks),
 * opened in a real headless Chromium.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderFlamegraphHtml } from '../../dashboards/flamegraph/render.js';
import { baseOnlyShare, diffStacks, parseFolded, sideAsFolded } from '../../scripts/compare/folded.js';
import { runCompare } from '../../scripts/compare/run.js';

const BASE = ['main;handler;querySync (/srv/a/dist/db/sync.js:3:1) 60', 'main;handler;render 20', 'main;gc 20'].join('\n');
const HEAD = ['main;handler;render 40', 'main;handler;queryAsync (/srv/a/dist/db/async.js:9:1) 10', 'main;gc 40'].join('\n');

describe('sideAsFolded / baseOnlyShare', () => {
  it('gives each side as folded text with normalised names, and what head cannot draw', () => {
    const d = diffStacks(parseFolded(BASE), parseFolded(HEAD));
    expect(sideAsFolded(d, 'base')).toBe('main;gc 20\nmain;handler;querySync (dist/db/sync.js) 60\nmain;handler;render 20\n');
    expect(sideAsFolded(d, 'head')).toBe('main;gc 40\nmain;handler;queryAsync (dist/db/async.js) 10\nmain;handler;render 40\n');
    expect(baseOnlyShare(d)).toBeCloseTo(0.6);
    // idle samples count in the shares but are not drawn
    expect(sideAsFolded(diffStacks(parseFolded('(idle) 5\na 1'), parseFolded('a 1')), 'base')).toBe('a 1\n');
    // a base stack that is a prefix of a head stack is drawable
    expect(baseOnlyShare(diffStacks(parseFolded('a 5\na;b 5'), parseFolded('a;b;c 3')))).toBe(0);
  });
});

const HOSTILE = ['<img src=x onerror="window.__pwned=1">', '</script><script>window.__pwned=2</script>', '" onmouseover="window.__pwned=3', '\u2028<!--'];

describe('diff flamegraph in Chromium', () => {
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'looplens-diff-'));
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(base: string, head: string, name: string): Promise<{ page: Page; problems: string[] }> {
    const d = diffStacks(parseFolded(base), parseFolded(head));
    const file = join(dir, name);
    writeFileSync(file, renderFlamegraphHtml({ folded: sideAsFolded(d, 'head'), base: sideAsFolded(d, 'base'), title: HOSTILE[1] }));
    const page = await browser.newPage({ viewport: { width: 1000, height: 500 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) problems.push(`network: ${r.url()}`);
    });
    await page.goto(pathToFileURL(file).href);
    return { page, problems };
  }

  it('opens without console errors, colours by change and searches', async () => {
    const { page, problems } = await open(BASE, HEAD, 'plain.html');
    expect(await page.locator('#status').textContent()).toMatch(/^90 samples/);
    // Pixel colours: handler (80 % → 55 %) is blue, gc (20 % → 44 %) red. Rows are 18 px; root on top.
    const pixel = (x: number, y: number) =>
      page.locator('#fg').evaluate((c: HTMLCanvasElement, [px, py]) => {
        const dpr = window.devicePixelRatio || 1;
        return Array.from(c.getContext('2d')!.getImageData(px * dpr, py * dpr, 1, 1).data);
      }, [x, y]);
    const [hr, , hb] = await pixel(5, 18 * 2 + 9);
    expect(hb).toBeGreaterThan(hr + 50);
    await page.fill('#search', 'queryAsync');
    expect(await page.locator('#status').textContent()).toMatch(/matches: 11\.11 %/);
    await page.fill('#search', 'querySync');
    expect(await page.locator('#status').textContent()).toMatch(/matches: 0\.00 %/); // only in base: not drawn
    expect(problems).toEqual([]);
    await page.close();
  });

  it('opens the diff of two real captured runs (fixtures/) and finds the head\'s query code', async () => {
    const fix = new URL('./fixtures/', import.meta.url).pathname;
    const r = runCompare({ base: join(fix, 'baseline'), head: join(fix, 'async-db'), outDir: join(dir, 'real') });
    const page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await page.goto(pathToFileURL(r.files.diffFlamegraph['']).href);
    await page.fill('#search', 'stages/async-db.js');
    expect(await page.locator('#status').textContent()).toMatch(/matches: (?!0\.00 %)[\d.]+ %/);
    expect(await page.locator('header').textContent()).toMatch(/of base samples are in stacks head never ran/);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('keeps hostile frame names as text', async () => {
    const head = HOSTILE.map((name, i) => `main;${name} ${10 + i}`).join('\n');
    const base = `main;${HOSTILE[0]} 5\nmain;gone ${HOSTILE[1]} 5`;
    const { page, problems } = await open(base, head, 'hostile.html');
    expect(await page.title()).toBe(HOSTILE[1]);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(2);
    const box = (await page.locator('#fg').boundingBox())!;
    let seen = '';
    for (let x = 4; x < box.width; x += 25) {
      await page.mouse.move(box.x + x, box.y + 18 + 27);
      seen += (await page.locator('#tip').textContent()) + '\n';
    }
    for (const h of HOSTILE.slice(0, 3)) expect(seen).toContain(h);
    await page.fill('#search', '<img');
    expect(await page.locator('#status').textContent()).toMatch(/matches: [1-9]/);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(problems).toEqual([]);
    await page.close();
  });
});
