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
    writeFileSync(file, renderFlamegraphHtml({ folded: sideAsFolded(d, 'head'), base: sideAsFolded(d, 'base'), title: HOSTILE[1], msPerSample: 2, baseMsPerSample: 1 }));
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

  /** Tooltips along one row of the chart (rows are 18 px, root on top). */
  async function sweep(page: Page, row: number): Promise<string> {
    const box = (await page.locator('#fg').boundingBox())!;
    let seen = '';
    for (let x = 3; x < box.width; x += 12) {
      await page.mouse.move(box.x + x, box.y + 18 * row + 9);
      if (await page.locator('#tip').isVisible()) seen += (await page.locator('#tip').textContent()) + '\n';
    }
    await page.mouse.move(0, 0);
    return seen;
  }

  it('opens without console errors, colours by change and searches', async () => {
    const { page, problems } = await open(BASE, HEAD, 'plain.html');
    expect(await page.locator('#status').textContent()).toMatch(/^head shape — 90 samples \(180 ms\)/);
    // Pixel colours: handler (80 % → 55 %) is blue, gc (20 % → 44 %) red. Rows are 18 px; root on top.
    const pixel = (x: number, y: number) =>
      page.locator('#fg').evaluate((c: HTMLCanvasElement, [px, py]) => {
        const dpr = window.devicePixelRatio || 1;
        return Array.from(c.getContext('2d')!.getImageData(px * dpr, py * dpr, 1, 1).data);
      }, [x, y]);
    const [hr, , hb] = await pixel(5, 18 * 2 + 9);
    expect(hb).toBeGreaterThan(hr + 50);
    await page.fill('#search', 'queryAsync');
    expect(await page.locator('#status').textContent()).toMatch(/matches: head 11\.11 % · base 0\.00 %/);
    // only in base: head's shape cannot draw it, but search finds it there, and the note says where it is
    await page.fill('#search', 'querySync');
    expect(await page.locator('#status').textContent()).toMatch(/matches: head 0\.00 % · base 60\.00 %/);
    expect(await page.locator('#note').textContent()).toMatch(/60\.00 % of base samples are in stacks head never ran: the base shape draws them/);
    // the list of changes names what grew and what vanished, with both sides' shares and ms
    expect(await page.locator('#grew').textContent()).toMatch(/queryAsync \(dist\/db\/async\.js\) — new: base 0\.00 % \(0\.0 ms\) → head 11\.11 % \(20\.0 ms\)/);
    expect(await page.locator('#shrank').textContent()).toMatch(/querySync \(dist\/db\/sync\.js\) — vanished: base 60\.00 % \(60\.0 ms\) → head 0\.00 %/);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('the base shape draws what vanished, with its share; the toggle goes back', async () => {
    const { page, problems } = await open(BASE, HEAD, 'shapes.html');
    await page.click('#shape-base');
    expect(await page.locator('#shape-base').getAttribute('aria-pressed')).toBe('true');
    expect(await page.locator('#status').textContent()).toMatch(/^base shape — 100 samples \(100 ms\)/);
    // row 3: handler's children in base — querySync, drawn now, hover shows both sides and that it vanished
    const row3 = await sweep(page, 3);
    expect(row3).toContain('querySync (dist/db/sync.js)');
    expect(row3).toMatch(/head: 0 samples · 0\.0 ms · 0\.00 %\nbase: 60 samples · 60\.0 ms · 60\.00 %\nvanished in head \(was 60\.00 % of base\)/);
    expect(row3).not.toContain('queryAsync'); // head-only code has no width in base's shape
    expect(await page.locator('#note').textContent()).toMatch(/11\.11 % of head samples are in stacks base never ran \(new code\): the head shape draws them/);
    await page.click('#shape-head');
    expect(await page.locator('#status').textContent()).toMatch(/^head shape/);
    const head3 = await sweep(page, 3);
    expect(head3).toContain('queryAsync (dist/db/async.js)');
    expect(head3).toMatch(/render\nhead: 40 samples · 80\.0 ms · 44\.44 %\nbase: 20 samples · 20\.0 ms · 20\.00 %\nchange of share: \+24\.44 points \(grew\)/);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('filters fold node_modules and node: internals away, or all but app frames; the change list follows', async () => {
    const root = '/srv/a';
    const f = (name: string, file: string) => `${name} (${root}/${file}:1:1)`;
    const stack = (leaf: string) => [f('main', 'app.js'), 'emit (node:events:517:28)', f('route', 'node_modules/fastify/lib/route.js'), leaf].join(';');
    const base = [`${stack(f('blockingWork', 'app.js'))} 40`, `${stack(f('handler', 'app.js'))} 40`, '(garbage collector) 20'].join('\n');
    const head = [`${stack(f('handler', 'app.js'))} 70`, 'emit (node:events:517:28);tick (node:internal/timers:5:1) 10', '(garbage collector) 20'].join('\n');
    const { page, problems } = await open(base, head, 'filters.html');
    expect(await sweep(page, 2)).toContain('emit (node:events)');
    await page.check('#f-lib');
    const lib = (await sweep(page, 1)) + (await sweep(page, 2));
    expect(lib).toContain('handler (app.js)');
    expect(lib).toContain('(garbage collector)');
    expect(lib).toContain('(node internals and dependencies only)');
    expect(lib).not.toMatch(/emit|fastify/);
    expect(await page.locator('#status').textContent()).toMatch(/^head shape — 100 samples/); // totals never change
    await page.check('#f-app');
    const app = await sweep(page, 1);
    expect(app).toContain('main (app.js)');
    expect(app).toContain('(no app frame)');
    expect(app).not.toContain('(garbage collector)');
    expect(await page.locator('#shrank').textContent()).toContain('blockingWork (app.js) — vanished');
    expect(await page.locator('#shrank').textContent()).not.toContain('fastify');
    // search still finds the vanished function, on the base side
    await page.fill('#search', 'blockingWork');
    expect(await page.locator('#status').textContent()).toMatch(/matches: head 0\.00 % · base 40\.00 %/);
    await page.click('#shape-base');
    expect(await sweep(page, 2)).toContain('vanished in head (was 40.00 % of base)');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('the single-run flamegraph has the filters, and ms on hover and in search', async () => {
    const file = join(dir, 'single.html');
    writeFileSync(file, renderFlamegraphHtml({ folded: 'main (/srv/a/app.js:1:1);emit (node:events:1:1);busy (/srv/a/app.js:9:1) 30\n(garbage collector) 10\n', msPerSample: 1.25 }));
    const page = await browser.newPage({ viewport: { width: 1000, height: 500 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await page.goto(pathToFileURL(file).href);
    expect(await page.locator('#shape-base').count()).toBe(0);
    expect(await page.locator('#status').textContent()).toMatch(/^40 samples \(50\.0 ms\)/);
    expect(await sweep(page, 3)).toMatch(/busy \(\/srv\/a\/app\.js:9:1\)\n30 samples · 37\.5 ms · 75\.00 % of all/);
    await page.check('#f-app');
    expect(await sweep(page, 2)).toContain('busy (/srv/a/app.js:9:1)'); // emit folded away: busy moves up a row
    await page.fill('#search', 'busy');
    expect(await page.locator('#status').textContent()).toMatch(/matches: 75\.00 % \(37\.5 ms\)/);
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
    expect(await page.locator('#status').textContent()).toMatch(/matches: head (?!0\.00 %)[\d.]+ %/);
    expect(await page.locator('header').textContent()).toMatch(/of base samples are in stacks head never ran/);
    // the blocking bridge's wait vanished: found on the base side, drawn in the base shape, listed as vanished
    await page.fill('#search', 'blocking-bridge.js');
    expect(await page.locator('#status').textContent()).toMatch(/matches: head 0\.00 % · base (?!0\.00)[\d.]+ %/);
    expect(await page.locator('#shrank').textContent()).toMatch(/callSync \(dist\/target-app\/lib\/blocking-bridge\.js\) — vanished: base [1-9]/);
    await page.click('#shape-base');
    expect(await page.locator('#status').textContent()).toMatch(/^base shape — .* matches: head 0\.00 % · base [1-9]/);
    // app frames only: the list names the app code that replaced it, not Node's or OpenTelemetry's frames
    await page.check('#f-app');
    expect(await page.locator('#grew').textContent()).toMatch(/dist\/target-app\/stages\/async-db\.js\) — new/);
    expect(await page.locator('#grew').textContent()).not.toMatch(/node_modules|node:/);
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
    expect(await page.locator('#status').textContent()).toMatch(/matches: head [1-9]/);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(problems).toEqual([]);
    await page.close();
  });
});
