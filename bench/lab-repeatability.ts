/**
 * Are two labs the same measurement? Reads two lab folders (lab.json, through the contract's reader) and prints, per
 * stage and route, both p50s and their difference, and per stage the cache hit ratio of each, against issue 19's
 * bar: every p50 within ±25 % of the first lab's, hit ratios within 0.05. Also each lab's recorded load average.
 *
 *   npx tsx bench/lab-repeatability.ts profiles/<lab A> profiles/<lab B> [--p50 0.25] [--hit 0.05]
 *
 * Exit 0 when both bars hold, 1 when one does not (the table says which rows), 2 on bad arguments.
 */
import { parseArgs } from 'node:util';
import { readLab } from '../profiles/contract/read.js';
import type { LabFile } from '../profiles/contract/types.js';

const { values, positionals } = parseArgs({ options: { p50: { type: 'string', default: '0.25' }, hit: { type: 'string', default: '0.05' } }, allowPositionals: true });
if (positionals.length !== 2) {
  process.stderr.write('usage: npx tsx bench/lab-repeatability.ts <lab A> <lab B> [--p50 0.25] [--hit 0.05]\n');
  process.exit(2);
}
const maxP50 = Number(values.p50);
const maxHit = Number(values.hit);
const [a, b] = positionals.map((dir) => readLab(dir)) as [LabFile, LabFile];

const f = (n: number | undefined, d = 1) => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(d));
const loads = (l: LabFile) => {
  const r = l.recorded;
  return r ? `${r.loadAverageStart.map((x) => x.toFixed(2)).join(' / ')} at the start, ${r.loadAverageEnd?.map((x) => x.toFixed(2)).join(' / ') ?? '–'} at the end` : 'not recorded';
};

const lines: string[] = [];
lines.push(`A: ${a.id} (load average 1/5/15 min ${loads(a)}); B: ${b.id} (${loads(b)})`, '');
lines.push('| stage | route | p50 A ms | p50 B ms | B ÷ A − 1 | within ±' + Math.round(maxP50 * 100) + ' % |', '| --- | --- | --- | --- | --- | --- |');
let ok = true;
for (const sa of a.stages) {
  const sb = b.stages.find((s) => s.stage === sa.stage);
  if (!sb) continue;
  for (const [route, ra] of Object.entries(sa.summary.routes)) {
    const rb = sb.summary.routes[route];
    const pa = ra.latencyMs.p50;
    const pb = rb?.latencyMs.p50;
    const rel = pb !== undefined && pa > 0 ? pb / pa - 1 : undefined;
    const pass = rel !== undefined && Math.abs(rel) <= maxP50;
    ok &&= pass;
    lines.push(`| ${sa.stage} | ${route} | ${f(pa)} | ${f(pb)} | ${rel === undefined ? '–' : `${rel >= 0 ? '+' : ''}${(rel * 100).toFixed(0)} %`} | ${pass ? 'yes' : '**no**'} |`);
  }
}
lines.push('', `| stage | hit ratio A | hit ratio B | difference | within ${maxHit} |`, '| --- | --- | --- | --- | --- |');
for (const sa of a.stages) {
  const sb = b.stages.find((s) => s.stage === sa.stage);
  const ha = sa.summary.cache?.hitRatio;
  const hb = sb?.summary.cache?.hitRatio;
  if (ha === undefined && hb === undefined) continue;
  const diff = ha !== undefined && hb !== undefined ? hb - ha : undefined;
  const pass = diff !== undefined && Math.abs(diff) <= maxHit;
  ok &&= pass;
  lines.push(`| ${sa.stage} | ${f(ha, 3)} | ${f(hb, 3)} | ${diff === undefined ? '–' : f(diff, 3)} | ${pass ? 'yes' : '**no**'} |`);
}
process.stdout.write(lines.join('\n') + '\n');
process.exit(ok ? 0 : 1);
