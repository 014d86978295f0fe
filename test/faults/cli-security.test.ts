/**
 * Security of what looplens writes (bound addresses of the standalone servers: cli-bind.test.ts):
 * - the app under `looplens profile` binds 127.0.0.1 (HOST=127.0.0.1 unless the caller sets it): checked on the actual
 *   listening socket (/proc/net/tcp, tcp6) and by connecting through a non-loopback address, which must be refused;
 * - hostile strings (route and function names with <script>, <img onerror>, Markdown pipes and backticks) in a real
 *   run folder come out escaped in `looplens report` (HTML), `looplens compare` (Markdown and the diff flamegraph)
 *   and `looplens diagnose` (Markdown);
 * - requests carrying `Authorization: Bearer SECRET…`, `Cookie: sid=SECRET…`, an API-key header and a password in
 *   the body leave no trace of those values in any file of the run folder (traces.otlp.json and traces.jaeger.json
 *   included) nor in the report, compare and diagnose outputs. Query strings: decided and documented in
 *   profiles/README.md ("Secrets") — they are part of the URL the traces record (as OpenTelemetry records them), and
 *   never reach summaries, findings or reports; this test pins both halves.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readRunInfo, readSummary } from '../../profiles/contract/read.js';
import { renderLabMd, renderSummaryMd } from '../../scripts/analysis/markdown.js';
import { FIXTURE, expectLoopbackOnly, killTagged, runCli, waitForPhase } from './helpers-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'looplens-faults-sec-'));
const tags: string[] = [];
/** A real run folder of the blocking fixture, captured by the first test. */
let RUN = '';
afterAll(() => {
  for (const t of tags) killTagged(t);
  rmSync(tmp, { recursive: true, force: true });
});

// ── bound addresses ─────────────────────────────────────────────────────────────────────────────────────────────

describe('the app under looplens profile binds 127.0.0.1', () => {
  it('the app under looplens profile gets HOST=127.0.0.1 (this run is also the one the hostile-strings test uses)', async () => {
    // the fixture binds HOST; while the profile runs, its port must be loopback-only. 60 ms blocks: always a finding.
    RUN = join(tmp, 'captured');
    const port = 20000 + Math.floor(Math.random() * 20000);
    const cli = runCli(['profile', '--port', String(port), '--path', '/block', '--path', '/', '--warmup', '0', '--duration', '3', '--out', RUN, '--', 'node', FIXTURE], {
      HOST: '',
      BLOCK_MS: '60',
      LOOPLENS_QUIET: '1',
    });
    // (not as soon as something listens: looplens itself binds the port for a moment to check it is free)
    await waitForPhase(RUN, 'load', 30_000);
    await expectLoopbackOnly(port);
    const r = await cli;
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
  }, 60_000);
});

// ── hostile strings ─────────────────────────────────────────────────────────────────────────────────────────────

const HOSTILE = '<script>alert("xss")</script><img src=x onerror=alert(1)>|pipe|`tick`';

/** Replace the fixture's route and blocking function by hostile strings in every data file of a real run folder. */
function makeHostile(dir: string): void {
  for (const f of readdirSync(dir)) {
    if (!/\.(json|jsonl|folded)$/.test(f)) continue;
    const p = join(dir, f);
    const enc = f.endsWith('.folded') ? (s: string) => s : (s: string) => JSON.stringify(s).slice(1, -1);
    const text = readFileSync(p, 'utf8')
      .split('looplensFixtureBusyWait').join(enc(`busy${HOSTILE}`))
      .split('GET /block').join(enc(`GET /block${HOSTILE}`))
      .split('"/block').join(`"${enc(`/block${HOSTILE}`)}`);
    writeFileSync(p, text);
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** No live HTML from the hostile strings: no tag they carry, and (in Markdown) no unescaped pipe or backtick from them. */
function expectInert(text: string, where: string, markdown: boolean): void {
  expect(text, `${where} lost the hostile string entirely`).toMatch(/alert/);
  expect(text, where).not.toMatch(/<script>alert|<img src=x onerror/);
  if (markdown) expect(text, where).not.toMatch(/\|pipe\||`tick`/);
}


describe('hostile route and function names are escaped in every report', () => {
  it('report (HTML), compare (Markdown, diff flamegraph) and diagnose (Markdown)', async () => {
    expect(existsSync(join(RUN, 'summary.json')), 'the captured run is missing').toBe(true);
    const a = join(tmp, 'hostile', 'a');
    const b = join(tmp, 'hostile', 'b');
    cpSync(RUN, a, { recursive: true });
    makeHostile(a);
    cpSync(a, b, { recursive: true });
    expect(readFileSync(join(a, 'summary.json'), 'utf8')).toContain('<script>alert');

    const report = await runCli(['report', a, '--out', join(tmp, 'hostile', 'rep', 'index.html')]);
    expect(report.code, report.stderr).toBe(0);
    const pages = filesUnder(join(tmp, 'hostile', 'rep')).filter((p) => p.endsWith('.html'));
    expect(pages.length).toBeGreaterThan(0);
    const html = pages.map((p) => readFileSync(p, 'utf8')).join('\n');
    expectInert(html, 'report HTML', false);

    const cmp = await runCli(['compare', a, b, '--out', join(tmp, 'hostile', 'cmp')]);
    expect(cmp.code, cmp.stderr).toBe(0);
    expectInert(cmp.stdout, 'compare stdout', true);
    expectInert(readFileSync(join(tmp, 'hostile', 'cmp', 'compare.md'), 'utf8'), 'compare.md', true);
    expectInert(readFileSync(join(tmp, 'hostile', 'cmp', 'diff-flamegraph.html'), 'utf8'), 'diff-flamegraph.html', false);

    const diag = await runCli(['diagnose', a]);
    expect(diag.code, diag.stderr).toBe(0);
    expect(diag.stdout).toContain('Blocking call');
    expectInert(diag.stdout, 'diagnose Markdown', true);

    // summary.md and lab.md, rendered from the hostile summary.json (profile and lab write them the same way)
    const summary = readSummary(a);
    expect(Object.keys(summary.routes).some((k) => k.includes('<script>'))).toBe(true);
    // (the command line is shown in a code span, backticks replaced: inert there, so it is left out of the check)
    const summaryMd = renderSummaryMd(summary, readRunInfo(a)).split('\n').filter((l) => !l.startsWith('- command: `')).join('\n');
    expectInert(summaryMd, 'summary.md', true);
    expectInert(renderLabMd({ id: 'lab', stages: [{ stage: 'baseline', run: 'a', summary }], settingsLine: '' }), 'lab.md', true);
  });
});

// ── secrets ─────────────────────────────────────────────────────────────────────────────────────────────────────

describe('credentials in requests do not reach traces or reports', () => {
  it('Authorization, Cookie, an API-key header and a body password: in no file; query strings only in the traces', async () => {
    const scenario = join(tmp, 'secrets.json');
    writeFileSync(
      scenario,
      JSON.stringify({
        name: 'secrets',
        requests: [
          { weight: 1, method: 'GET', path: '/block?token=SECRETQUERYTOKEN&page=2', headers: { authorization: 'Bearer SECRETBEARERTOKEN', cookie: 'sid=SECRETCOOKIESID; theme=dark' } },
          { weight: 1, method: 'POST', path: '/', headers: { Authorization: 'Basic SECRETBASICAUTH', Cookie: 'sid=SECRETCOOKIETWO', 'x-api-key': 'SECRETAPIKEY' }, body: { password: 'SECRETBODYPASSWORD' } },
        ],
      }),
    );
    const out = join(tmp, 'secrets-run');
    const r = await runCli(['profile', '--scenario', scenario, '--warmup', '0', '--duration', '1', '--out', out, '--', 'node', FIXTURE]);
    expect(r.code, r.stderr).toBe(0);
    expect((await runCli(['diagnose', out, '--write'])).code).toBe(0);
    const diag = await runCli(['diagnose', out]);
    const cmp = await runCli(['compare', out, out, '--out', join(tmp, 'secrets-cmp')]);
    const rep = await runCli(['report', out, '--out', join(tmp, 'secrets-rep', 'index.html')]);
    for (const x of [diag, cmp, rep]) expect(x.code, x.stderr).toBe(0);

    const files = [...filesUnder(out), ...filesUnder(join(tmp, 'secrets-cmp')), ...filesUnder(join(tmp, 'secrets-rep'))];
    const texts = new Map(files.map((f) => [f, readFileSync(f, 'latin1')]));
    texts.set('diagnose stdout', diag.stdout);
    texts.set('compare stdout', cmp.stdout);
    // the traces are there and did record these requests
    const jaeger = texts.get(join(out, 'traces.jaeger.json'))!;
    expect(jaeger).toContain('/block');
    expect(texts.get(join(out, 'traces.otlp.json'))).toContain('/block');
    for (const [file, text] of texts) {
      for (const secret of ['SECRETBEARERTOKEN', 'SECRETCOOKIESID', 'SECRETBASICAUTH', 'SECRETCOOKIETWO', 'SECRETAPIKEY', 'SECRETBODYPASSWORD']) {
        expect(text.includes(secret), `${secret} found in ${file}`).toBe(false);
      }
      // the query string is part of the URL the traces record, and goes nowhere else (see profiles/README.md)
      if (!/traces\.(otlp|jaeger)\.json$/.test(file)) expect(text.includes('SECRETQUERYTOKEN'), `query value found in ${file}`).toBe(false);
    }
  }, 90_000);
});
