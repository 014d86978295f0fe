/**
 * What the lab must show, stage by stage (the acceptance): baseline has every finding but pool starvation;
 * each later stage loses what its change fixes and gains nothing; cached has none. Shared by the test on a captured
 * lab (fast) and the test that runs the lab.
 */
import { expect } from 'vitest';
import type { Finding } from '../../profiles/contract/index.js';
import type { LabFindings } from '../../scripts/diagnose/index.js';

export const EXPECTED_KINDS: Record<string, Finding['kind'][]> = {
  baseline: ['blocking-call', 'n-plus-one', 'serial-external-calls', 'unawaited-work-on-critical-path', 'connection-per-request', 'cacheable-reads'],
  'async-db': ['serial-external-calls', 'unawaited-work-on-critical-path', 'connection-per-request', 'cacheable-reads'],
  parallel: ['connection-per-request', 'cacheable-reads'],
  pooled: ['cacheable-reads'],
  cached: [],
};

/**
 * Kinds a stage may show besides its expected ones: baseline's likes read three statements in turn on the
 * synchronous driver (serial independent queries, a millisecond or two each: whether they pass the rule's 2 ms floor
 * depends on the machine's load).
 */
export const MAY_ALSO_SHOW: Record<string, Finding['kind'][]> = { baseline: ['serial-independent-queries'] };

const kinds = (fs: Finding[], stage: string) => [...new Set(fs.map((f) => f.kind))].filter((k) => !(MAY_ALSO_SHOW[stage] ?? []).includes(k)).sort();

export function expectLabFindings(lab: LabFindings): void {
  expect(lab.stages.map((s) => s.stage)).toEqual(Object.keys(EXPECTED_KINDS));
  const table = Object.fromEntries(lab.stages.map((s) => [s.stage, kinds(s.file.findings, s.stage)]));
  expect(table).toEqual(Object.fromEntries(Object.entries(EXPECTED_KINDS).map(([k, v]) => [k, [...v].sort()])));
  // Gains none: every (kind, route) of a stage was already there in the stage before.
  for (let i = 1; i < lab.stages.length; i++) {
    const before = new Set(lab.stages[i - 1]!.file.findings.map((f) => `${f.kind} ${f.route}`));
    const gained = lab.stages[i]!.file.findings.map((f) => `${f.kind} ${f.route}`).filter((k) => !before.has(k));
    expect(gained, `${lab.stages[i]!.stage} gained ${gained.join(', ')}`).toEqual([]);
  }
  const baseline = lab.stages[0]!.file.findings;
  // The blocking call names the synchronous database functions and says what kind of blocker it is.
  const blocking = baseline.filter((f) => f.kind === 'blocking-call');
  expect(blocking.length).toBeGreaterThan(0);
  for (const f of blocking) {
    expect(f.evidence.blocker).toBe('sync-db-driver');
    expect(f.title).toMatch(/^(querySync|connectSync|endSync)(\/(querySync|connectSync|endSync))* \(/); // the sync client's calls
    expect((f.evidence.syncCalls as string[]).length).toBeGreaterThan(0);
    // at its source position through target-app's source maps (the captured lab predates them: its compiled file)
    expect(f.evidence.file).toMatch(/target-app\/db\/sync-client\.(ts|js)$/);
  }
  // N+1: the author and the like count per post on the timeline, the sender per notification.
  const n1 = baseline.filter((f) => f.kind === 'n-plus-one').map((f) => `${f.route} ${String(f.evidence.statement)}`);
  expect(n1).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^GET \/users\/:id\/timeline SELECT id, name FROM users WHERE id = \$1/),
      expect.stringMatching(/^GET \/users\/:id\/timeline SELECT count\(\*\)::int AS n FROM likes WHERE post_id = \$1/),
      expect.stringMatching(/^GET \/users\/:id\/notifications SELECT id, name FROM users WHERE id = \$1/),
    ]),
  );
  // Serial calls and the work the client need not wait for, on POST /posts.
  const serial = baseline.find((f) => f.kind === 'serial-external-calls')!;
  expect(serial.route).toBe('POST /posts');
  expect((serial.evidence.calls as { call: string }[]).map((c) => c.call.replace(/^POST [^/]+/, ''))).toEqual(['/images', '/notify', '/index']);
  const deferrable = baseline.find((f) => f.kind === 'unawaited-work-on-critical-path')!;
  expect((deferrable.evidence.calls as { call: string }[]).map((c) => c.call.replace(/^POST [^/]+/, ''))).toEqual(['/index', '/notify']);
}
