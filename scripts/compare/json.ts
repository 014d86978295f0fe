/**
 * compare.json: the whole comparison for other tools. Per-stack counts are left to diff.folded; a relative change
 * from zero (±Infinity in memory) is written as null, next to its base of 0.
 */
import type { Comparison, RunComparison } from './compare.js';
import type { GateResult } from './gate.js';
import type { OutputPaths } from './markdown.js';

export const COMPARE_JSON_VERSION = 1;

function runJson(c: RunComparison): Record<string, unknown> {
  const { stacks, ...rest } = c;
  return { ...rest, stackCount: stacks?.stacks.length ?? null };
}

export function comparisonToJson(c: Comparison, gate?: GateResult, outputs?: OutputPaths): string {
  const body =
    c.kind === 'runs'
      ? { kind: 'runs', ...runJson(c) }
      : { ...c, stages: c.stages.map((s) => ({ stage: s.stage, ...runJson(s.comparison) })) };
  const value = {
    version: COMPARE_JSON_VERSION,
    ...body,
    gate: gate
      ? {
          failed: gate.failed,
          rules: gate.rules.map((r) => r.text),
          unmeasured: gate.unmeasured,
          checks: gate.checks.map((k) => ({
            rule: k.rule.text,
            metric: k.rule.metric.name,
            direction: k.rule.direction,
            limit: k.rule.limit,
            scope: k.scope,
            change: k.change,
            exceeded: k.exceeded,
            crossed: k.crossed,
            routes: k.routes,
          })),
        }
      : null,
    outputs: outputs ?? {},
  };
  return JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}
