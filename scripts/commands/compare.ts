/** `looplens compare <base> <head>`: runs the library, prints the chosen format, exits 1 when the gate is crossed. */
import { runCompare } from '../compare/run.js';
import type { CommandContext, CommandInput } from './index.js';

export async function run({ options, positionals }: CommandInput, ctx: CommandContext): Promise<number> {
  const [base, head] = positionals;
  const result = runCompare({
    base,
    head,
    outDir: options.out as string | undefined,
    failOn: options['fail-on'] as string[] | undefined,
    cwd: ctx.cwd,
  });
  const format = (options.format as string | undefined) ?? 'md';
  if (format === 'json') ctx.out(result.json);
  else if (format === 'html') {
    const pages = Object.values(result.files.diffFlamegraph);
    ctx.out(pages.length ? pages.join('\n') : 'no diff flamegraph: stacks.folded is missing (see compare.md)');
  } else ctx.out(result.markdown);
  if (result.gate?.failed) {
    const n = result.gate.checks.filter((c) => c.crossed).length;
    ctx.progress.log(`looplens compare: gate failed (${n} rule${n === 1 ? '' : 's'} crossed) — see ${result.files.markdown}`);
    return 1;
  }
  return 0;
}
