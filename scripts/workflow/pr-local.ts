/**
 * Runs the sample pull-request workflow (.github/workflows/looplens-pr.yml) on this machine, step by step, as the
 * runner would: two commits of a repository checked out side by side (git worktree, in place of actions/checkout),
 * installed, a lab on each with the workflow's own env and commands, the head's compare with its gate, and the PR
 * comment's body as the github-script step would post it. Each step's wall time is recorded with the load average,
 * so the run says what the workflow costs here.
 *
 *   npx tsx scripts/workflow/pr-local.ts --base main~1 --head main [--repo .] [--work dir] [--keep]
 *     [--lab-flags "--stages pooled --duration 2 …"] [--fail-on p95:+25%] [--install ci|link] [--db-prefix name_]
 *
 * `--install link` (for tests and quick runs) links each checkout's node_modules to the looplens folder's own and
 * runs `npm run build` instead of the workflow's `npm ci`. `--db-prefix` renames the workflow's databases
 * (looplens_pr_base/head → <prefix>base/head). What is emulated rather than run: actions/checkout (git worktree),
 * actions/setup-node (this Node), actions/upload-artifact (the files it would upload are listed, not uploaded),
 * the comment's GitHub API calls (the body is written to results/comment-body.md).
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'yaml';

export const WORKFLOW = '.github/workflows/looplens-pr.yml';
/** The comment's hidden marker, as the workflow's github-script step writes it. */
export const COMMENT_MARKER = '<!-- looplens-compare -->';

interface WorkflowStep {
  name?: string;
  uses?: string;
  run?: string;
  'working-directory'?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
  if?: string;
}

export interface Workflow {
  env: Record<string, string>;
  steps: WorkflowStep[];
}

export function readWorkflow(root: string): Workflow {
  const doc = parse(readFileSync(join(root, WORKFLOW), 'utf8')) as { env?: Record<string, string>; jobs: Record<string, { steps: WorkflowStep[] }> };
  const job = Object.values(doc.jobs)[0];
  return { env: doc.env ?? {}, steps: job.steps };
}

function step(w: Workflow, name: string): WorkflowStep {
  const s = w.steps.find((x) => x.name === name);
  if (!s) throw new Error(`${WORKFLOW} has no step "${name}" (the local runner follows its step names)`);
  return s;
}

export interface PrLocalOptions {
  /** The repository whose commits are compared (default: the looplens folder). */
  repo?: string;
  base: string;
  head: string;
  /** The workspace ($GITHUB_WORKSPACE); default a new temporary folder. */
  work?: string;
  /** Overrides the workflow's LAB_FLAGS / FAIL_ON. */
  labFlags?: string;
  failOn?: string;
  install?: 'ci' | 'link';
  /** Renames the workflow's databases: looplens_pr_base → <dbPrefix>base. */
  dbPrefix?: string;
  /** Keep the worktrees (they are removed at the end otherwise; results/ always stays). */
  keep?: boolean;
  /** Where each step's output goes (default <work>/steps.log). */
  log?: string;
  /** Progress lines (default: none). */
  onStep?: (line: string) => void;
}

export interface StepTiming {
  step: string;
  seconds: number;
  /** 1-minute load average when the step started. */
  load: number;
  exitCode: number;
}

export interface PrLocalResult {
  work: string;
  results: string;
  /** The compare step's exit code as it wrote it to $GITHUB_OUTPUT (0 passed, 1 gate crossed). */
  compareCode: number;
  /** The job's outcome: 0, or 1 when the "Fail on the gate" step would fail it. */
  exitCode: number;
  commentBody: string;
  /** What actions/upload-artifact would upload (paths relative to the workspace) and their size. */
  artifact: { files: string[]; bytes: number };
  timings: StepTiming[];
  totalSeconds: number;
}

function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; log: string }): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const out = createWriteStream(opts.log, { flags: 'a' });
    out.write(`\n$ (${opts.cwd}) ${cmd} ${args.join(' ')}\n`);
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.on('error', reject);
    child.on('close', (code) => {
      out.end();
      resolvePromise(code ?? 1);
    });
  });
}

/** The files actions/upload-artifact would take: the step's globs over results/ (`**` and `*` only, `!` excludes). */
export function artifactFiles(work: string, patterns: string[]): string[] {
  const toRe = (glob: string) =>
    new RegExp('^' + glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '(?:.*/)?').replace(/\*/g, '[^/]*') + '$');
  const include = patterns.filter((p) => !p.startsWith('!')).map(toRe);
  const exclude = patterns.filter((p) => p.startsWith('!')).map((p) => toRe(p.slice(1)));
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const rel = relative(work, path);
        if (include.some((r) => r.test(rel)) && !exclude.some((r) => r.test(rel))) files.push(rel);
      }
    }
  };
  if (existsSync(join(work, 'results'))) walk(join(work, 'results'));
  return files.sort();
}

export async function runPrWorkflowLocally(options: PrLocalOptions): Promise<PrLocalResult> {
  const looplens = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/dist\/$/, '/');
  const repo = resolve(options.repo ?? looplens);
  const workflow = readWorkflow(repo);
  const work = resolve(options.work ?? mkdtempSync(join(tmpdir(), 'looplens-pr-')));
  mkdirSync(join(work, 'results'), { recursive: true });
  const log = options.log ?? join(work, 'steps.log');
  const outputFile = join(work, 'github-output');
  const summaryFile = join(work, 'step-summary.md');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...workflow.env,
    ...(options.labFlags !== undefined ? { LAB_FLAGS: options.labFlags } : {}),
    ...(options.failOn !== undefined ? { FAIL_ON: options.failOn } : {}),
    GITHUB_WORKSPACE: work,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    CI: 'true',
  };
  const timings: StepTiming[] = [];
  const started = Date.now();
  const timed = async (name: string, fn: () => Promise<number>): Promise<number> => {
    const load = Math.round(loadavg()[0] * 100) / 100;
    const t0 = Date.now();
    options.onStep?.(`[${name}] started (load average ${load})`);
    const code = await fn();
    const seconds = Math.round((Date.now() - t0) / 100) / 10;
    timings.push({ step: name, seconds, load, exitCode: code });
    options.onStep?.(`[${name}] ${code === 0 ? 'done' : `exit ${code}`} in ${seconds} s`);
    return code;
  };
  const must = async (name: string, fn: () => Promise<number>) => {
    const code = await timed(name, fn);
    if (code !== 0) throw new Error(`step "${name}" exited ${code}; see ${log}`);
  };
  const sides = ['base', 'head'] as const;
  const worktrees: string[] = [];
  try {
    // actions/checkout ×2 → git worktree, side by side as base/ and head/
    for (const side of sides) {
      const dir = join(work, side);
      await must(`Check out the ${side} commit`, () => run('git', ['-C', repo, 'worktree', 'add', '--detach', '--force', dir, options[side]], { cwd: work, env, log }));
      worktrees.push(dir);
    }
    for (const side of sides) {
      const dir = join(work, side);
      const s = step(workflow, `Install (${side})`);
      if ((options.install ?? 'ci') === 'ci') {
        await must(s.name!, () => run('bash', ['-eo', 'pipefail', '-c', s.run!], { cwd: dir, env, log }));
      } else {
        await must(`${s.name} (linked node_modules + build)`, async () => {
          if (!existsSync(join(dir, 'node_modules'))) symlinkSync(join(looplens, 'node_modules'), join(dir, 'node_modules'));
          return run('npm', ['run', 'build', '--silent'], { cwd: dir, env, log });
        });
      }
    }
    for (const side of sides) {
      const s = step(workflow, `Lab on the ${side} commit`);
      const stepEnv = { ...env, ...(s.env ?? {}) };
      if (options.dbPrefix && stepEnv.DATABASE_URL) stepEnv.DATABASE_URL = stepEnv.DATABASE_URL.replace(/\/looplens_pr_/, `/${options.dbPrefix}`);
      await must(s.name!, () => run('bash', ['-eo', 'pipefail', '-c', s.run!], { cwd: join(work, s['working-directory'] ?? side), env: stepEnv, log }));
    }
    const compare = step(workflow, 'Compare');
    await must(compare.name!, () => run('bash', ['-eo', 'pipefail', '-c', compare.run!], { cwd: work, env, log }));
    const code = Number(/^code=(\d+)$/m.exec(readFileSync(outputFile, 'utf8'))?.[1] ?? NaN);

    // actions/upload-artifact: what it would upload
    const upload = step(workflow, 'Keep the runs, flamegraphs and the diff flamegraph');
    const files = artifactFiles(work, String(upload.with?.path ?? '').split('\n').map((l) => l.trim()).filter(Boolean));
    const bytes = files.reduce((n, f) => n + statSync(join(work, f)).size, 0);

    // actions/github-script: the body it posts (the API calls themselves need GitHub)
    const runUrl = '(the workflow run)';
    const commentBody = [
      COMMENT_MARKER,
      readFileSync(join(work, 'results/comment.md'), 'utf8'),
      `Files (diff flamegraph, both labs) are in the \`looplens-results\` artifact of [this workflow run](${runUrl}).`,
    ].join('\n');
    writeFileSync(join(work, 'results/comment-body.md'), commentBody);
    return {
      work,
      results: join(work, 'results'),
      compareCode: code,
      exitCode: code !== 0 ? 1 : 0,
      commentBody,
      artifact: { files, bytes },
      timings,
      totalSeconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    if (!options.keep) {
      for (const dir of worktrees) {
        await run('git', ['-C', repo, 'worktree', 'remove', '--force', dir], { cwd: work, env, log }).catch(() => 1);
      }
    }
  }
}

function parseArgs(argv: string[]): PrLocalOptions {
  const o: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const key = a.slice(2);
    if (key === 'keep') o.keep = true;
    else o[key] = argv[++i] ?? '';
  }
  if (!o.base || !o.head) throw new Error('usage: pr-local.ts --base <commit> --head <commit> [--repo dir] [--work dir] [--lab-flags "…"] [--fail-on rules] [--install ci|link] [--db-prefix name_] [--keep]');
  return {
    base: String(o.base),
    head: String(o.head),
    ...(o.repo ? { repo: String(o.repo) } : {}),
    ...(o.work ? { work: String(o.work) } : {}),
    ...(o['lab-flags'] !== undefined ? { labFlags: String(o['lab-flags']) } : {}),
    ...(o['fail-on'] ? { failOn: String(o['fail-on']) } : {}),
    ...(o.install ? { install: o.install === 'link' ? 'link' : 'ci' } : {}),
    ...(o['db-prefix'] ? { dbPrefix: String(o['db-prefix']) } : {}),
    ...(o.keep ? { keep: true } : {}),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const options = parseArgs(process.argv.slice(2));
  runPrWorkflowLocally({ ...options, onStep: (l) => console.error(l) }).then(
    (r) => {
      console.log(`workspace: ${r.work}`);
      console.log(`compare: code ${r.compareCode} (${r.compareCode === 0 ? 'gate passed' : 'gate crossed'}); comment body: ${join(r.results, 'comment-body.md')}`);
      console.log(`artifact: ${r.artifact.files.length} files, ${(r.artifact.bytes / 1e6).toFixed(1)} MB`);
      console.log('| step | s | load average at start |');
      console.log('| --- | ---: | ---: |');
      for (const t of r.timings) console.log(`| ${t.step} | ${t.seconds} | ${t.load} |`);
      console.log(`| total | ${r.totalSeconds} | |`);
      process.exitCode = r.exitCode;
    },
    (err) => {
      console.error(`pr-local: ${(err as Error).message}`);
      process.exitCode = 2;
    },
  );
}
