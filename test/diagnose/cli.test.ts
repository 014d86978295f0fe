/** `looplens diagnose` through the CLI's main(): run folder, lab folder, probe-only folder, formats, --write, errors. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_FILES, hasFile, readFindings, writeJsonAtomic, writeRunJson, type FindingsFile } from '../../profiles/contract/index.js';
import { main } from '../../scripts/cli.js';
import { diffFindings, renderFindingsMarkdown, renderLabFindingsMarkdown } from '../../scripts/diagnose/index.js';
import { T0, TraceBuilder, summaryWith } from './builder.js';
import { RULES } from '../../scripts/diagnose/rules/index.js';

const up = 'http://127.0.0.1:4001';
let root = '';

function runInfo(id: string) {
  return {
    schemaVersion: 1,
    id,
    command: ['node', 'app.js'],
    profiler: 'none',
    load: { durationS: 5, warmupS: 1, connections: 4 },
    node: process.version,
    platform: process.platform,
    cpu: { model: 'test', cores: 2 },
    startedAt: new Date().toISOString(),
    // the measured window holds every request the builder makes
    window: { startMs: T0 - 1000, endMs: T0 + 60_000 },
    complete: true,
  };
}

/** A run folder whose POST /posts awaits three calls in a row (serial: true) or gathers them. */
function writeRun(dir: string, serial: boolean, withRunJson = true): void {
  const t = new TraceBuilder();
  t.requests(10, 'POST', '/posts', 1000, serial ? 660 : 310, (r) => {
    r.call('POST', `${up}/upload`, 6, 300, 201);
    r.call('POST', `${up}/thumbnail`, serial ? 307 : 6, serial ? 200 : 200, 201);
    r.call('POST', `${up}/resize`, serial ? 508 : 7, 150, 201);
  });
  mkdirSync(dir, { recursive: true });
  if (withRunJson) writeRunJson(dir, 'run', runInfo(dir.split('/').pop()!));
  const summary = summaryWith({ 'POST /posts': 10 });
  writeRunJson(dir, 'summary', summary);
  writeRunJson(dir, 'load', { overall: summary.overall, routes: { 'POST /posts': { ...summary.routes['POST /posts']!, method: 'POST', paths: ['/posts'] } } });
  writeRunJson(dir, 'tracesOtlp', t.toOtlp());
  writeRunJson(dir, 'blocking', { thresholdMs: 20, events: [] });
}

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, cwd: root, env: { LOOPLENS_QUIET: '1' } });
  return { code, out, err };
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'looplens-diagnose-cli-'));
  writeRun(join(root, 'lab', 'a-before'), true);
  writeRun(join(root, 'lab', 'b-after'), false);
  writeJsonAtomic(join(root, 'lab', LAB_FILES.lab), {
    id: 'lab',
    startedAt: new Date().toISOString(),
    complete: true,
    settings: { profiler: 'none', load: { durationS: 5, warmupS: 1, connections: 4 } },
    stages: [
      { stage: 'before', run: 'a-before', summary: summaryWith({ 'POST /posts': 10 }) },
      { stage: 'after', run: 'b-after', summary: summaryWith({ 'POST /posts': 10 }) },
    ],
  });
  writeRun(join(root, 'probes-only'), true, false);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('looplens diagnose', () => {
  it('prints a run folder\'s findings as Markdown, and as JSON with --format json', async () => {
    const md = await cli('diagnose', 'lab/a-before');
    expect(md.code).toBe(0);
    expect(md.out).toContain('# Findings: lab/a-before');
    expect(md.out).toContain('**Serial external calls**');
    expect(md.out).toContain('estimate: per request: sum of the serial calls');
    const json = await cli('diagnose', 'lab/a-before', '--format', 'json');
    const file = JSON.parse(json.out) as FindingsFile;
    expect(file.findings.map((f) => f.kind)).toEqual(['serial-external-calls']);
    expect(file).toMatchObject({ source: 'traces.otlp.json', requests: 10, notes: [] });
    expect(hasFile(join(root, 'lab', 'a-before'), 'findings')).toBe(false); // read-only without --write
  });

  it('diagnoses every stage of a lab folder and writes findings.json with --write', async () => {
    const { code, out } = await cli('diagnose', 'lab', '--write');
    expect(code).toBe(0);
    expect(out).toMatch(/\| Serial external calls \| 352 \(POST \/posts\) \| – \|/);
    expect(out).toContain('wrote findings.json into 2 run folders');
    expect(readFindings(join(root, 'lab', 'a-before')).findings).toHaveLength(1);
    expect(readFindings(join(root, 'lab', 'b-after')).findings).toEqual([]);
  });

  it('accepts a folder the probes wrote without the CLI', async () => {
    const { code, out } = await cli('diagnose', 'probes-only', '--format', 'json');
    expect(code).toBe(0);
    expect((JSON.parse(out) as FindingsFile).findings).toHaveLength(1);
  });

  it('answers a wrong folder or a missing argument with one line and a code', async () => {
    const missing = await cli('diagnose', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/nope does not exist .*\[NOT_A_RUN_FOLDER\]\n$/);
    mkdirSync(join(root, 'empty'));
    expect((await cli('diagnose', 'empty')).err).toMatch(/is not a run folder/);
    const none = await cli('diagnose');
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/diagnose needs <folder>/);
  });
});

describe('rendering for summary.md, lab.md, the report and compare', () => {
  it('renders the top findings, a lab matrix and what a change fixed', async () => {
    const before = (JSON.parse((await cli('diagnose', 'lab/a-before', '--format', 'json')).out) as FindingsFile).findings;
    const table = renderFindingsMarkdown(before, { max: 1, traceHref: (id) => `report.html#trace-${id}` });
    expect(table).toMatch(/^## Findings\n\n\| # \| finding \| route \| saves ms\/req \| fix \|/);
    expect(table).toMatch(/\[trace\]\(report\.html#trace-[0-9a-f]{32}\)/);
    expect(renderFindingsMarkdown([], { heading: false })).toMatch(new RegExp(`^No findings: none of the ${RULES.length} rules`));
    const matrix = renderLabFindingsMarkdown([{ stage: 'before', findings: before }, { stage: 'after', findings: [] }], { topPerStage: 3 });
    expect(matrix).toContain('| Blocking call | – | – |');
    expect(matrix).toContain('### after');
    const diff = diffFindings(before, []);
    expect(diff.fixed.map((f) => f.kind)).toEqual(['serial-external-calls']);
    expect(diff.introduced).toEqual([]);
  });
});
