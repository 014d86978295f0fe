/**
 * The findings of every stage on a real lab run, captured small (test/diagnose/fixtures/lab-sample: 8 requests per
 * route, made with fixtures/capture.ts from `UPSTREAM_LATENCY_MS=images=90,notify=60,index=45 looplens lab --scale 200
 * --duration 6 --warmup 1 --connections 2 --scenario test/diagnose/fixtures/lab-scenario.json`, 2 cores, Node 20).
 * Fast; test/diagnose/lab.test.ts runs the lab itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { diagnoseLab } from '../../scripts/diagnose/index.js';
import { restoreLab } from './fixtures/capture.js';
import { expectLabFindings } from './lab-expectations.js';

const tmp = mkdtempSync(join(tmpdir(), 'looplens-diagnose-lab-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('diagnose on a captured real lab', () => {
  it('shows every finding in baseline, loses them stage by stage, none in cached', () => {
    const lab = diagnoseLab(restoreLab(fileURLToPath(new URL('./fixtures/lab-sample', import.meta.url)), tmp));
    for (const s of lab.stages) expect(s.file.notes).toEqual([]);
    expectLabFindings(lab);
  });
});
