/**
 * TypeScript sources: frames of a compiled app mapped to the .ts file and line through its source maps — tsc (a map
 * file, or inline), esbuild (a bundle) and tsx (maps kept in memory, written by the probes) — the compiled location
 * kept beside them. The fixture (test/scripts/fixtures/ts-app) is compiled by tsc and esbuild in the test; then the
 * real CLI profiles it, compiled and under tsx, and blocking.json, stacks.folded and the blocking-call finding must
 * name looplensFixturePriceBasket by src/pricing.ts and the line it is declared on.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBlocking, readFindings, readFolded, readRunInfo, readSourceMaps } from '../../profiles/contract/read.js';
import type { BlockingEvent } from '../../profiles/contract/types.js';
import { foldCpuProfile } from '../../scripts/analysis/fold.js';
import { SourceMapper, mapBlockingEvent, sourceMappingUrl, withSourcePositions } from '../../scripts/analysis/sourcemaps.js';
import { ROOT, runCli } from './helpers.js';

const APP = join(ROOT, 'test/scripts/fixtures/ts-app');
const SOURCE = join(APP, 'src/pricing.ts');
const FN = 'looplensFixturePriceBasket';
/** The line the blocking function is declared on in the .ts source. */
const TS_LINE = readFileSync(SOURCE, 'utf8').split('\n').findIndex((l) => l.startsWith(`export function ${FN}`)) + 1;

const tmp = mkdtempSync(join(tmpdir(), 'looplens-sourcemaps-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function tsc(outDir: string, ...flags: string[]): void {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', APP, '--outDir', outDir, ...flags], { stdio: 'pipe' });
  writeFileSync(join(outDir, '..', 'package.json'), '{ "type": "module" }\n');
}

/** Where V8 places the function in a compiled script: its line, and the column of its parameter list (1-based). */
function v8Position(file: string, fn = FN): { line: number; column: number } {
  const lines = readFileSync(file, 'utf8').split('\n');
  const line = lines.findIndex((l) => l.includes(`function ${fn}(`));
  expect(line, `function ${fn} in ${file}`).toBeGreaterThanOrEqual(0);
  return { line: line + 1, column: lines[line]!.indexOf(`${fn}(`) + fn.length + 1 };
}

beforeAll(async () => {
  tsc(join(tmp, 'tsc/dist'));
  tsc(join(tmp, 'inline/dist'), '--sourceMap', 'false', '--inlineSourceMap');
  mkdirSync(join(tmp, 'esbuild'), { recursive: true });
  for (const sourcemap of [true, 'inline'] as const) {
    await build({
      entryPoints: [join(APP, 'src/server.ts')],
      outfile: join(tmp, 'esbuild', sourcemap === true ? 'bundle.js' : 'inline.js'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      sourcemap,
      logLevel: 'silent',
    });
  }
}, 60_000);

describe('finding a script\'s source map and mapping a position', () => {
  it('maps the function to its .ts line: tsc with a map file, tsc inline, an esbuild bundle (map file and inline)', () => {
    const cases = [join(tmp, 'tsc/dist/pricing.js'), join(tmp, 'inline/dist/pricing.js'), join(tmp, 'esbuild/bundle.js'), join(tmp, 'esbuild/inline.js')];
    for (const file of cases) {
      const { line, column } = v8Position(file);
      const original = new SourceMapper().original(pathToFileURL(file).href, line, column);
      expect(original, file).toMatchObject({ url: SOURCE, lineNumber: TS_LINE });
      // the lines really differ: the compiled code is not the source
      expect(line, file).not.toBe(TS_LINE);
    }
    expect(sourceMappingUrl(readFileSync(join(tmp, 'tsc/dist/pricing.js'), 'utf8'))).toBe('pricing.js.map');
    expect(sourceMappingUrl(readFileSync(join(tmp, 'inline/dist/pricing.js'), 'utf8'))).toMatch(/^data:application\/json;base64,/);
  });

  it('falls back to <script>.map, and leaves alone what it cannot or must not map', () => {
    const dir = join(tmp, 'nocomment/dist');
    cpSync(join(tmp, 'tsc/dist'), dir, { recursive: true });
    const file = join(dir, 'pricing.js');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/\/\/# sourceMappingURL=.*$/m, ''));
    const { line, column } = v8Position(file);
    expect(new SourceMapper().original(file, line, column)).toMatchObject({ url: SOURCE, lineNumber: TS_LINE });
    // a script changed after the run started may not be what ran
    const later = Date.now() + 60_000;
    utimesSync(file, later / 1000, later / 1000);
    expect(new SourceMapper({ notAfterMs: Date.now() }).original(file, line, column)).toBeNull();
    expect(new SourceMapper().original(file, line, column)).not.toBeNull();
    // dependencies, Node's own code and files without a map are not mapped
    const dep = join(tmp, 'dep/node_modules/lib/dist');
    cpSync(join(tmp, 'tsc/dist'), dep, { recursive: true });
    expect(new SourceMapper().original(join(dep, 'pricing.js'), line, column)).toBeNull();
    expect(new SourceMapper().original('node:events', 10, 3)).toBeNull();
    expect(new SourceMapper().original(join(ROOT, 'test/scripts/fixtures/blocking-app.mjs'), 30, 3)).toBeNull();
  });

  it('names a block\'s top frame by its source, keeps the compiled one, and maps each frame once', () => {
    const compiled = join(tmp, 'tsc/dist/pricing.js');
    const server = join(tmp, 'tsc/dist/server.js');
    const { line, column } = v8Position(compiled);
    const event: BlockingEvent = {
      id: '1:1',
      startMs: 0,
      durationMs: 40,
      route: 'GET /quote/:id',
      traceId: null,
      spanId: null,
      // the probes show a frame under the app's working folder relative to it, others by their path
      topFrame: `${FN} (${compiled}:${line})`,
      frames: [
        { functionName: FN, url: pathToFileURL(compiled).href, lineNumber: line, columnNumber: column },
        { functionName: '', url: pathToFileURL(server).href, ...v8Position(server, 'answer'), lineNumber: v8Position(server, 'answer').line, columnNumber: v8Position(server, 'answer').column },
        { functionName: 'emit', url: 'node:events', lineNumber: 517, columnNumber: 28 },
      ],
    };
    const mapped = mapBlockingEvent(event, new SourceMapper());
    expect(mapped.topFrame).toBe(`${FN} (${SOURCE}:${TS_LINE})`);
    expect(mapped.compiledTopFrame).toBe(event.topFrame);
    expect(mapped.frames[0]).toMatchObject({ url: pathToFileURL(compiled).href, lineNumber: line, original: { url: SOURCE, lineNumber: TS_LINE } });
    expect(mapped.frames[1]!.original?.url).toBe(join(APP, 'src/server.ts'));
    expect(mapped.frames[2]!.original).toBeUndefined();
    expect(mapBlockingEvent(mapped, new SourceMapper())).toBe(mapped);
    // relative to the same folder as the compiled frame was shown
    const relative = mapBlockingEvent({ ...event, topFrame: `${FN} (dist/pricing.js:${line})` }, new SourceMapper());
    expect(relative.topFrame).toBe(`${FN} (${SOURCE}:${TS_LINE})`); // the source lies outside that folder: its full path
    const inside = mapBlockingEvent({ ...event, topFrame: `${FN} (${compiled.slice(tmp.length + 1)}:${line})` }, new SourceMapper());
    expect(inside.compiledTopFrame).toBe(`${FN} (${compiled.slice(tmp.length + 1)}:${line})`);
  });

  it('folds a profile at the source position of each frame', () => {
    const compiled = join(tmp, 'tsc/dist/pricing.js');
    const { line, column } = v8Position(compiled);
    const profile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1 }, children: [2] },
        { id: 2, callFrame: { functionName: FN, url: pathToFileURL(compiled).href, lineNumber: line - 1, columnNumber: column - 1 }, children: [] },
      ],
      samples: [2, 2, 2],
      timeDeltas: [1, 1, 1],
      startTime: 0,
      endTime: 3,
    };
    const mapper = new SourceMapper();
    expect(foldCpuProfile(profile, { root: ROOT, original: mapper.original.bind(mapper) })).toBe(`${FN} (test/scripts/fixtures/ts-app/src/pricing.ts:${TS_LINE}) 3\n`);
    expect(foldCpuProfile(profile, { root: ROOT })).toBe(`${FN} (${compiled}:${line}) 3\n`);
  });

  it('a run read later is mapped only when it has a start time, with the maps of then', () => {
    const compiled = join(tmp, 'tsc/dist/pricing.js');
    const { line, column } = v8Position(compiled);
    const blocking = {
      thresholdMs: 20,
      events: [{ startMs: 0, durationMs: 30, route: null, traceId: null, spanId: null, topFrame: `${FN} (${compiled}:${line})`, frames: [{ functionName: FN, url: compiled, lineNumber: line, columnNumber: column }] }],
    };
    expect(withSourcePositions(blocking, tmp, null)).toBe(blocking);
    expect(withSourcePositions(blocking, tmp, { startedAt: new Date(Date.now() + 120_000).toISOString() })!.events[0]!.topFrame).toBe(`${FN} (${SOURCE}:${TS_LINE})`);
    // built after the run started (utimes above moved only the copy): the map may describe other code
    const before = new Date(Date.now() - 3_600_000).toISOString();
    expect(withSourcePositions(blocking, tmp, { startedAt: before })!.events[0]!.topFrame).toBe(blocking.events[0].topFrame);
  });
});

describe('looplens profile of a TypeScript app (built CLI)', () => {
  const scenario = join(tmp, 'ts-app.json');
  beforeAll(() => {
    writeFileSync(scenario, JSON.stringify({ name: 'ts-app', requests: [{ weight: 1, method: 'GET', path: '/quote/{id}' }, { weight: 1, method: 'GET', path: '/health' }] }));
  });
  const load = ['--scenario', scenario, '--ids', '20', '--duration', '4', '--warmup', '1', '-c', '2'];

  /** Blocks of the quote route, the folded stacks and the findings name the function by src/pricing.ts. */
  function expectNamedBySource(out: string, compiledFile: RegExp): void {
    // blocking.json keeps the route the probes saw (the URL of a plain node:http app)
    const events = readBlocking(out).events.filter((e) => e.route?.startsWith('GET /quote/') && e.topFrame.startsWith(FN));
    expect(events.length, [...new Set(readBlocking(out).events.map((e) => `${e.route} ${e.topFrame}`))].join(', ')).toBeGreaterThan(5);
    for (const e of events) {
      expect(e.topFrame).toMatch(new RegExp(`^${FN} \\((.*/)?test/scripts/fixtures/ts-app/src/pricing\\.ts:${TS_LINE}\\)$`));
      expect(e.compiledTopFrame).toMatch(compiledFile);
      expect(e.frames[0]!.original).toMatchObject({ url: SOURCE, lineNumber: TS_LINE });
    }
    expect(readFolded(out)).toContain(`${FN} (test/scripts/fixtures/ts-app/src/pricing.ts:${TS_LINE})`);
    expect(readFileSync(join(out, 'flamegraph.html'), 'utf8')).toContain(`src/pricing.ts:${TS_LINE}`);
    const finding = readFindings(out).findings.find((f) => f.kind === 'blocking-call' && f.route === 'GET /quote/:id');
    expect(finding, JSON.stringify(readFindings(out).findings.map((f) => f.title))).toBeDefined();
    expect(finding!.title).toContain(`src/pricing.ts:${TS_LINE}`);
    expect(finding!.evidence).toMatchObject({ function: FN, file: expect.stringMatching(/src\/pricing\.ts$/), line: TS_LINE });
  }

  it('compiled by tsc: the .ts file and line, the dist/ location beside it', async () => {
    const dist = join(tmp, 'app/dist');
    tsc(dist);
    const out = join(tmp, 'run-tsc');
    const r = await runCli(['profile', ...load, '--out', out, '--', 'node', join(dist, 'server.js')], { ROUNDS: '2000' });
    expect(r.code, r.stderr).toBe(0);
    expectNamedBySource(out, new RegExp(`^${FN} \\(.*app/dist/pricing\\.js:${v8Position(join(dist, 'pricing.js')).line}\\)$`));
  });

  it('under tsx: the maps tsx kept in memory are written by the probes and used', async () => {
    const out = join(tmp, 'run-tsx');
    const r = await runCli(['profile', ...load, '--out', out, '--', 'node', '--import', 'tsx', join(APP, 'src/server.ts')], { ROUNDS: '2000' });
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(readSourceMaps(out).maps)).toContain(pathToFileURL(SOURCE).href);
    // tsx's compiled position is in the .ts file, at a line of tsx's own output
    expectNamedBySource(out, new RegExp(`^${FN} \\(test/scripts/fixtures/ts-app/src/pricing\\.ts:(?!${TS_LINE}\\))\\d+\\)$`));
  });
  it('compiled in memory by a require hook (as ts-node): mapped with --enable-source-maps, else a note says why not', async () => {
    const dir = join(ROOT, 'test/scripts/fixtures/ts-hook');
    const fn = 'looplensFixtureHookedSpin';
    const line = readFileSync(join(dir, 'app.ts'), 'utf8').split('\n').findIndex((l) => l.startsWith(`export function ${fn}`)) + 1;
    const tops = (out: string) => [...new Set(readBlocking(out).events.filter((e) => e.topFrame.startsWith(fn)).map((e) => e.topFrame))];
    const hooked = ['--path', '/', '--duration', '2', '--warmup', '1', '-c', '1'];
    const on = join(tmp, 'run-hook-maps');
    const a = await runCli(['profile', ...hooked, '--out', on, '--', 'node', '--enable-source-maps', '--require', join(dir, 'register.cjs'), join(dir, 'entry.cjs')]);
    expect(a.code, a.stderr).toBe(0);
    expect(tops(on)).toEqual([`${fn} (test/scripts/fixtures/ts-hook/app.ts:${line})`]);
    expect((readRunInfo(on).notes ?? []).filter((n) => n.includes('compiled in memory'))).toEqual([]);
    const off = join(tmp, 'run-hook-nomaps');
    const b = await runCli(['profile', ...hooked, '--out', off, '--', 'node', '--require', join(dir, 'register.cjs'), join(dir, 'entry.cjs')]);
    expect(b.code, b.stderr).toBe(0);
    const shown = tops(off);
    expect(shown).toHaveLength(1);
    expect(shown[0]).not.toBe(`${fn} (test/scripts/fixtures/ts-hook/app.ts:${line})`);
    const note = readRunInfo(off).notes?.find((n) => n.includes('compiled in memory'));
    expect(note).toMatch(/^1 TypeScript file \(test\/scripts\/fixtures\/ts-hook\/app\.ts\) ran compiled in memory .* NODE_OPTIONS=--enable-source-maps/);
    expect(b.stdout).toContain(`note: ${note}`);
  });
});
