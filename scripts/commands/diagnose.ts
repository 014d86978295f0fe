/**
 * `looplens diagnose <run or lab folder> [--format md|json] [--write]`: what is wrong, where, and what fixing it saves.
 */
import { relative, resolve } from 'node:path';
import { RUN_FILES, writeRunJson } from '../../profiles/contract/index.js';
import { diagnoseFolder, renderFindingsReport, renderLabFindingsMarkdown } from '../diagnose/index.js';
import type { CommandContext, CommandInput } from './index.js';

export async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const folder = resolve(ctx.cwd, input.positionals[0]!);
  const format = (input.options.format as string | undefined) ?? 'md';
  const write = input.options.write === true;
  const result = diagnoseFolder(folder);
  const show = (dir: string) => {
    const rel = relative(ctx.cwd, dir) || '.';
    return rel.startsWith('..') ? dir : rel;
  };

  if (result.kind === 'run') {
    if (write) writeRunJson(result.dir, 'findings', result.file);
    if (format === 'json') ctx.out(JSON.stringify(result.file, null, 2));
    else ctx.out(renderFindingsReport(result.file.findings, { title: show(result.dir), notes: result.file.notes, requests: result.file.requests }));
    if (write) ctx.out(`wrote ${show(result.dir)}/${RUN_FILES.findings}`);
    return 0;
  }

  const { lab } = result;
  if (write) for (const s of lab.stages) writeRunJson(s.dir, 'findings', s.file);
  if (format === 'json') {
    ctx.out(JSON.stringify({ lab: show(lab.dir), stages: lab.stages.map((s) => ({ stage: s.stage, run: show(s.dir), ...s.file })) }, null, 2));
  } else {
    const parts = [`# Findings: ${show(lab.dir)}`, '', renderLabFindingsMarkdown(lab.stages.map((s) => ({ stage: s.stage, findings: s.file.findings })), { heading: false })];
    for (const s of lab.stages) {
      parts.push(renderFindingsReport(s.file.findings, { title: `${s.stage} (${show(s.dir)})`, notes: s.file.notes, requests: s.file.requests }).replace(/^# /, '## ').replace(/\n## /g, '\n### '));
    }
    ctx.out(parts.join('\n'));
  }
  if (write) ctx.out(`wrote ${RUN_FILES.findings} into ${lab.stages.length} run folders`);
  return 0;
}
