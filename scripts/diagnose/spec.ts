/** The `diagnose` command's flags and help: light on purpose, the registry imports it when the CLI starts. */
import type { CommandSpec } from '../flags.js';

export const DIAGNOSE_SPEC = {
  name: 'diagnose',
  summary: 'recognise what makes the app slow (blocking calls, N+1, serial calls…) in a run or lab folder',
  usage: 'diagnose <run-or-lab-folder> [--format md|json] [--write]',
  positionals: [{ name: 'folder', description: 'a run folder (looplens profile) or a lab folder (looplens lab)' }],
  flags: [
    { name: 'format', short: 'f', type: 'string', choices: ['md', 'json'], default: 'md', description: 'output format' },
    { name: 'write', type: 'boolean', description: 'also write findings.json into the run folder(s)' },
  ],
  notes: [
    'Each finding: kind, route, evidence, the estimated saving in ms per request (evidence.estimate says how it was derived) and the fix in one sentence.',
    'A folder the probes wrote without the CLI (node --import looplens/probes with LOOPLENS_OUT) works too. `looplens profile` writes findings.json into every run folder itself.',
  ],
  examples: ['looplens diagnose profiles/20260101-120000-baseline-none', 'looplens diagnose profiles/<lab-id> --format json'],
} as const satisfies CommandSpec;
