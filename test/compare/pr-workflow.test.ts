/**
 * The sample PR workflow (.github/workflows/looplens-pr.yml), run locally by scripts/workflow/pr-local.ts on a small
 * lab: two commits of a clone of this repository checked out side by side (git worktree), built, a lab on each with
 * the workflow's own commands and env, the head's compare with the gate, and the PR comment's body.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLab } from '../../profiles/contract/index.js';
import { dropDatabase } from '../../target-app/db/connection.js';
import { COMMENT_MARKER, readWorkflow, runPrWorkflowLocally, type PrLocalResult } from '../../scripts/workflow/pr-local.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'looplens-pr-'));
const repo = join(tmp, 'repo');
const PREFIX = 'looplens_test_compare_pr_';
let result: PrLocalResult;

beforeAll(async () => {
  // a clone of the committed repository, and a pull request on it: one commit that only touches the README
  execFileSync('git', ['clone', '--quiet', '--shared', ROOT, repo]);
  writeFileSync(join(repo, 'README.md'), readFileSync(join(repo, 'README.md'), 'utf8') + '\nA pull request.\n');
  execFileSync('git', ['-C', repo, '-c', 'user.name=looplens test', '-c', 'user.email=test@looplens.invalid', 'commit', '--quiet', '-am', 'a pull request']);
  result = await runPrWorkflowLocally({
    repo,
    base: 'HEAD~1',
    head: 'HEAD',
    work: join(tmp, 'workspace'),
    labFlags: '--stages pooled --duration 2 --warmup 1 --runs 1 --scale 500',
    failOn: 'p95:+1000%',
    install: 'link',
    dbPrefix: PREFIX,
  });
}, 300_000);

afterAll(async () => {
  for (const side of ['base', 'head']) await dropDatabase(`postgres://postgres@127.0.0.1:5432/${PREFIX}${side}`).catch(() => {});
  rmSync(tmp, { recursive: true, force: true });
});

describe('the PR workflow, locally', () => {
  it('follows the workflow file: its env, its lab and compare steps', () => {
    const w = readWorkflow(ROOT);
    expect(w.env.LAB_FLAGS).toMatch(/--runs 3/);
    expect(w.steps.map((s) => s.name)).toEqual(expect.arrayContaining(['Lab on the base commit', 'Lab on the head commit', 'Compare', 'Post or update the PR comment', 'Fail on the gate']));
    expect(result.timings.map((t) => t.step)).toEqual([
      'Check out the base commit',
      'Check out the head commit',
      'Install (base) (linked node_modules + build)',
      'Install (head) (linked node_modules + build)',
      'Lab on the base commit',
      'Lab on the head commit',
      'Compare',
    ]);
    for (const t of result.timings) expect(t.exitCode, t.step).toBe(0);
  });

  it('ran a lab on each commit and compared them with the gate; the job passes', () => {
    for (const side of ['base', 'head']) {
      const lab = readLab(join(result.results, side));
      expect(lab.complete, lab.reason).toBe(true);
      expect(lab.stages.map((s) => s.stage)).toEqual(['pooled']);
      expect(lab.stages[0].summary.overall.requests).toBeGreaterThan(0);
    }
    const gitSha = (side: string) => JSON.parse(readFileSync(join(result.results, side, '01-pooled', 'run.json'), 'utf8')).gitSha as string;
    expect(gitSha('base')).not.toBe(gitSha('head')); // each lab ran from its own checkout
    expect(result.compareCode).toBe(0);
    expect(result.exitCode).toBe(0);
    const json = JSON.parse(readFileSync(join(result.results, 'compare', 'compare.json'), 'utf8'));
    expect(json).toMatchObject({ kind: 'labs', gate: { failed: false, rules: ['p95:+1000%'] } });
    expect(readFileSync(join(result.work, 'step-summary.md'), 'utf8')).toContain('## looplens compare');
  });

  it('writes the comment body as the github-script step posts it, and lists the artifact', () => {
    expect(result.commentBody.startsWith(`${COMMENT_MARKER}\n## looplens compare`)).toBe(true);
    expect(result.commentBody).toContain('**Gate passed**');
    expect(result.commentBody).toContain('`looplens-results` artifact');
    expect(result.commentBody.length).toBeLessThan(65_536);
    expect(result.artifact.files).toEqual(expect.arrayContaining(['results/compare/compare.md', 'results/compare/pooled.diff-flamegraph.html', 'results/base/lab.json']));
    expect(result.artifact.files.some((f) => /traces\.\w+\.json$/.test(f))).toBe(false);
  });

  it('removes its worktrees', () => {
    expect(existsSync(join(result.work, 'base'))).toBe(false);
    expect(execFileSync('git', ['-C', repo, 'worktree', 'list'], { encoding: 'utf8' }).trim().split('\n')).toHaveLength(1);
  });
});
