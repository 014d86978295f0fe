/** `looplens compare <base> <head>`: runs the library, prints the chosen format, exits 1 when the gate is crossed. */
import { defaultOutDir, runCompare } from '../compare/run.js';
import { pairWarnings } from '../compare/markdown.js';
import { resolve } from 'node:path';
import { checkOutFolder } from '../out-path.js';
import type { CommandContext, CommandInput } from './index.js';

export async function run({ options, positionals }: CommandInput, ctx: CommandContext): Promise<number> {
  const [base, head] = positionals;
  const out = options.out as string | undefined;
  // the one bounded --out check (a path under /proc would otherwise hang in mkdir), before any folder is read
  const outDir = out
    ? checkOutFolder(out, { cwd: ctx.cwd })
    : checkOutFolder(defaultOutDir(resolve(ctx.cwd, base!), resolve(ctx.cwd, head!)), { flag: 'the compare folder' });
  const result = runCompare({
    base,
    head,
    outDir,
    failOn: options['fail-on'] as string[] | undefined,
    cwd: ctx.cwd,
  });
  // unlike runs, and runs that measured nothing: on stderr too, so a log shows them without the markdown
  for (const w of pairWarnings(result.comparison)) ctx.progress.warn(`looplens compare: warning: ${w}`);
  const format = (options.format as string | undefined) ?? 'md';
  if (format === 'json') ctx.out(result.json);
  else if (format === 'html') {
    const pages = Object.values(result.files.diffFlamegraph);
    ctx.out(pages.length ? pages.join('\n') : 'no diff flamegraph: stacks.folded is missing (see compare.md)');
  } else ctx.out(result.markdown);
  if (result.gate?.failed) {
    const n = result.gate.checks.filter((c) => c.crossed).length;
    const empty = result.gate.unmeasured.length;
    const why = [n ? `${n} rule${n === 1 ? '' : 's'} crossed` : '', empty ? `${empty} run${empty === 1 ? '' : 's'} measured nothing` : ''].filter(Boolean).join(', ');
    ctx.progress.log(`looplens compare: gate failed (${why}) — see ${result.files.markdown}`);
    return 1;
  }
  return 0;
}
