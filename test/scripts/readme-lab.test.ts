/**
 * scripts/readme-lab.ts: the README's lab figures come from a recorded lab folder — the paragraph says how it was
 * measured (command, commit, date, machine, versions, load average, seeding, duration) and the table is lab.md's
 * headline from the same lab.json; only the marked block changes; --check tells a stale block; labs that cannot be
 * quoted (incomplete, unrecorded) are refused. The README itself holds exactly one such block.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LabFile, Summary } from '../../profiles/contract/types.js';
import { writeJsonAtomic } from '../../profiles/contract/write.js';
import { renderLabMd } from '../../scripts/analysis/markdown.js';
import { README_BEGIN, README_END, main, renderReadmeLabBlock, replaceReadmeBlock } from '../../scripts/readme-lab.js';

const FIXTURE = new URL('./fixtures/run-none/', import.meta.url).pathname;
const ROOT = new URL('../../', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'looplens-readme-lab-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const summary = JSON.parse(readFileSync(join(FIXTURE, 'summary.json'), 'utf8')) as Summary;

function labFolder(name: string, patch: Partial<LabFile> = {}): string {
  const dir = join(tmp, name);
  for (const stage of ['01-baseline', '02-cached']) {
    mkdirSync(join(dir, stage), { recursive: true });
    copyFileSync(join(FIXTURE, 'run.json'), join(dir, stage, 'run.json'));
  }
  const lab: LabFile = {
    id: name,
    startedAt: '2026-12-04T10:00:00.000Z',
    endedAt: '2026-12-04T10:02:30.000Z',
    complete: true,
    settings: { profiler: 'none', load: { durationS: 15, warmupS: 10, connections: 10, scenario: 'sns' }, scale: 150000 },
    stages: [
      { stage: 'baseline', run: '01-baseline', summary },
      { stage: 'cached', run: '02-cached', summary: { ...summary, overall: { ...summary.overall, rps: summary.overall.rps * 20 } } },
    ],
    recorded: {
      command: ['looplens', 'lab'],
      loadAverageStart: [0.41, 0.3, 0.22],
      loadAverageEnd: [1.9, 1.2, 0.6],
      postgres: '15.20 (Debian 15.20-0+deb12u1)',
      redis: '7.0.15',
      seed: { skipped: true, ms: 12 },
    },
    ...patch,
  };
  writeJsonAtomic(join(dir, 'lab.json'), lab);
  return dir;
}

describe('readme-lab', () => {
  it('says how the lab was measured, and shows lab.md\'s headline table from the same lab.json', () => {
    const dir = labFolder('good');
    const block = renderReadmeLabBlock(dir);
    expect(block).toMatch(/^Measured with `looplens lab` \(lab `good`, commit `623ce1e253a3`\) on 2026-12-04: 2 × AMD EPYC, 24 GiB, linux-x64, Node v20\.20\.2, PostgreSQL 15\.20 and Redis 7\.0\.15;/);
    expect(block).toContain('load average (1 / 5 / 15 min) 0.41 / 0.30 / 0.22 at the start, 1.90 / 1.20 / 0.60 at the end;');
    expect(block).toContain('database already seeded; the lab took 2 min 30 s.');
    expect(block).toContain('scenario sns, 15 s of load after 10 s warmup, 10 connections, profiler none, 150,000 users');
    const lab = JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as LabFile;
    const labMdTable = renderLabMd({ id: lab.id, stages: lab.stages, settingsLine: '' })
      .split('\n')
      .filter((l) => l.startsWith('| throughput req/s'));
    expect(labMdTable).toHaveLength(1);
    expect(block).toContain(labMdTable[0]);
  });

  it('rewrites only the block between the markers; --check says whether it is current', () => {
    const dir = labFolder('check');
    const readme = join(tmp, 'README.md');
    writeFileSync(readme, `# x\n\nbefore\n\n${README_BEGIN}\nhand-copied 4,809 ms\n${README_END}\n\nafter\n`);
    const out: string[] = [];
    expect(main([dir, '--readme', readme, '--check'], (s) => out.push(s))).toBe(1);
    expect(readFileSync(readme, 'utf8')).toContain('hand-copied');
    expect(main([dir, '--readme', readme], (s) => out.push(s))).toBe(0);
    const text = readFileSync(readme, 'utf8');
    expect(text).not.toContain('hand-copied');
    expect(text.startsWith('# x\n\nbefore\n\n')).toBe(true);
    expect(text.endsWith(`${README_END}\n\nafter\n`)).toBe(true);
    expect(text).toContain('| throughput req/s |');
    expect(main([dir, '--readme', readme, '--check'], (s) => out.push(s))).toBe(0);
  });

  it('refuses a lab that cannot be quoted, and a README without one block', () => {
    expect(() => renderReadmeLabBlock(labFolder('interrupted', { complete: false, reason: 'interrupted by Ctrl-C during stage 2/5 async-db load' }))).toThrow(/not complete \(interrupted by Ctrl-C/);
    expect(() => renderReadmeLabBlock(labFolder('unrecorded', { recorded: undefined }))).toThrow(/no "recorded" section/);
    expect(() => replaceReadmeBlock('no markers', 'x')).toThrow(/no single lab-figures block/);
    expect(() => replaceReadmeBlock(`${README_BEGIN}\n${README_END}\n${README_BEGIN}\n${README_END}`, 'x')).toThrow(/no single/);
  });

  it('the README holds exactly one lab-figures block', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme.split(README_BEGIN)).toHaveLength(2);
    expect(readme.split(README_END)).toHaveLength(2);
    expect(readme.indexOf(README_BEGIN)).toBeLessThan(readme.indexOf(README_END));
  });
});
