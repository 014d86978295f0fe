/** The `compare` command's flag table and help (kept apart from the handler so parsing never loads the library). */
import type { CommandSpec } from '../flags.js';

export const COMPARE_SPEC = {
  name: 'compare',
  summary: 'compare two runs (or two labs, stage by stage): markdown for a PR, JSON, a differential flamegraph',
  usage: 'compare <base> <head> [--format md|json|html] [--fail-on rules] [--out dir]',
  positionals: [
    { name: 'base', description: 'run folder or lab folder to compare against (before)' },
    { name: 'head', description: 'run folder or lab folder under review (after)' },
  ],
  flags: [
    {
      name: 'format',
      short: 'f',
      type: 'string',
      valueName: 'fmt',
      choices: ['md', 'json', 'html'],
      default: 'md',
      description: 'what to print: the markdown, compare.json, or the paths of the diff flamegraphs',
    },
    {
      name: 'fail-on',
      type: 'string',
      multiple: true,
      valueName: 'rules',
      description:
        'exit 1 when a change goes past a rule, e.g. p95:+10%,rps:-10%,blocked:+20% (metrics: p50 p90 p95 p99 max rps errors delay delay-max elu blocked queries heap gc; heap: growth per 1,000 requests, gc: GC share of the window)',
    },
    { name: 'out', short: 'o', type: 'string', valueName: 'dir', description: 'output folder (default: beside head, compare-<base>-vs-<head>)' },
  ],
  notes: [
    'Writes compare.md, compare.json, diff.folded (difffolded format) and diff-flamegraph.html (per stage for labs).',
    'Rules apply to overall numbers (of every stage, for labs). With --runs 3 or more on both sides a change fails only when a one-sided Mann–Whitney U test calls it significant at 95 % (markdown: ≈ and its interval); with fewer runs, a change within the runs\' ranges does not fail; single runs use the thresholds alone.',
    'A run whose load measured nothing (RUN_EMPTY, RUN_ERRORS) fails the gate. Runs that differ in app, routes, load, Node or machine are warned about on stderr and in the markdown.',
    'Exit codes: 0 ok, 1 a rule was crossed or a run measured nothing (or an error), 2 bad usage.',
  ],
  examples: [
    'looplens compare profiles/20250101-baseline profiles/20250101-async-db',
    'looplens compare base-lab head-lab --fail-on p95:+10%,rps:-10% > comment.md',
    'looplens compare a b --format html',
  ],
} as const satisfies CommandSpec;
