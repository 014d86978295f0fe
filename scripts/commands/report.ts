/** `looplens report [folders…]`: writes the HTML report (index + one page per lab and run) and prints where. */
import { isAbsolute, relative } from 'node:path';
import type { CommandSpec } from '../flags.js';
import type { CommandContext, CommandInput } from './index.js';

export const REPORT_SPEC = {
  name: 'report',
  summary: 'write the HTML report: stages side by side, event loop, blocking, span waterfalls, flamegraphs',
  usage: 'report [folders…] [--out profiles/index.html]',
  positionals: [{ name: 'folders', description: 'run or lab folders (or folders holding them); default: every run and lab in profiles/', optional: true, variadic: true }],
  flags: [
    { name: 'out', short: 'o', type: 'string', valueName: 'file', description: 'the index file; pages go to report/ beside it (default profiles/index.html)' },
    { name: 'no-embed', type: 'boolean', description: 'link flamegraphs only, without the "show below" frame' },
  ],
  notes: [
    'Self-contained and offline: inline CSS and SVG, no script, a Content-Security-Policy that forbids remote loads. Links are relative: copy the profiles folder anywhere and the report still works.',
  ],
  examples: ['looplens report', 'looplens report profiles/2025-01-02-lab', 'looplens report a b --out /tmp/report/index.html'],
} as const satisfies CommandSpec;

export async function run({ options, positionals }: CommandInput, ctx: CommandContext): Promise<number> {
  const { writeReport } = await import('../../dashboards/report/write.js');
  ctx.progress.enter('report', positionals.length ? positionals.join(' ') : 'every run in profiles/');
  const result = writeReport({
    folders: positionals,
    out: options.out as string | undefined,
    cwd: ctx.cwd,
    embedFlamegraphs: options['no-embed'] !== true,
  });
  for (const w of result.warnings) ctx.progress.log(`looplens report: skipped ${w}`);
  const labs = result.pages.filter((p) => p.kind === 'lab').length;
  const runs = result.pages.length - labs;
  // relative when it is under the working folder, else absolute: never a ../../ path to count up
  const show = (p: string) => {
    const rel = relative(ctx.cwd, p);
    return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p;
  };
  ctx.out(
    [
      `report: ${show(result.index)}`,
      `  ${labs} lab page${labs === 1 ? '' : 's'}, ${runs} run page${runs === 1 ? '' : 's'}${result.warnings.length ? `, ${result.warnings.length} folder(s) unreadable (listed on the index)` : ''}`,
      `  open it in a browser, or: looplens serve`,
    ].join('\n'),
  );
  return 0;
}
