/**
 * `--fail-on`: comma-separated rules `metric:±N%` — the largest relative change allowed before compare fails.
 *   p95:+10%   fail when p95 latency grew by more than 10 %
 *   rps:-10%   fail when requests/s dropped by more than 10 %
 *   blocked:20%  no sign: the metric's bad direction (up for latency, down for rps)
 * Rules apply to the overall numbers of the run (of every stage, for labs). A change compare calls noise does not
 * fail the gate (with --runs on both sides: one the Mann–Whitney test does not call significant, ./change.ts); the
 * markdown still shows it. A crossed request-metric rule names the routes whose same metric went past the limit. A run
 * whose load measured nothing (RUN_EMPTY, RUN_ERRORS: ./pair-checks.ts) fails the gate whatever the rules say.
 */
import { LooplensError } from '../errors.js';
import type { Change } from './change.js';
import { GATE_METRICS, findMetric, isRequestMetric, type MetricDef } from './metrics.js';
import type { Unmeasured } from './pair-checks.js';
import type { SummaryDiff } from './summary-diff.js';

export interface GateRule {
  /** As written, e.g. "p95:+10%". */
  text: string;
  metric: MetricDef;
  /** "up": fail when the value grew by more than `limit`; "down": when it dropped by more. */
  direction: 'up' | 'down';
  /** Allowed relative change, 0.1 = 10 %. */
  limit: number;
}

export interface GateCheck {
  rule: GateRule;
  /** Stage name for labs, "" for a pair of runs. */
  scope: string;
  /** null: the metric was not measured in one of the runs. */
  change: Change | null;
  /** The change went past the limit in the rule's direction. */
  exceeded: boolean;
  /** Exceeded and not noise: this fails the gate. */
  crossed: boolean;
  /** For request metrics (p50 … errors): the routes whose own value went past the same limit (crossed ones first). */
  routes: { route: string; change: Change }[];
}

export interface GateResult {
  rules: GateRule[];
  checks: GateCheck[];
  /** Runs whose load measured nothing, per scope: each fails the gate. */
  unmeasured: (Unmeasured & { scope: string })[];
  failed: boolean;
}

const RULE = /^([a-z][a-z0-9-]*)\s*:\s*([+-]?)\s*(\d+(?:\.\d+)?)\s*%$/i;

function validMetrics(): string {
  return GATE_METRICS.map((m) => m.name).join(', ');
}

/** Parses `--fail-on` (a string, or the flag's repeated values). Throws USAGE_BAD_VALUE with a fix on any bad rule. */
export function parseGateSpec(spec: string | readonly string[]): GateRule[] {
  const parts = (typeof spec === 'string' ? [spec] : spec)
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const rules: GateRule[] = [];
  for (const text of parts) {
    const m = RULE.exec(text);
    if (!m) {
      throw new LooplensError(
        'USAGE_BAD_VALUE',
        `--fail-on rule "${text}" is not metric:±N%`,
        `write rules like p95:+10%,rps:-10%,blocked:+20% (metrics: ${validMetrics()})`,
      );
    }
    const metric = findMetric(m[1].toLowerCase());
    if (!metric) {
      throw new LooplensError(
        'USAGE_BAD_VALUE',
        `--fail-on: unknown metric "${m[1]}" in "${text}"`,
        `use one of: ${validMetrics()}`,
      );
    }
    const sign = m[2];
    const direction = sign === '+' ? 'up' : sign === '-' ? 'down' : metric.better === 'lower' ? 'up' : 'down';
    rules.push({ text, metric, direction, limit: Number(m[3]) / 100 });
  }
  if (rules.length === 0) {
    throw new LooplensError('USAGE_BAD_VALUE', '--fail-on has no rules', `write rules like p95:+10%,rps:-10% (metrics: ${validMetrics()})`);
  }
  return rules;
}

/** The overall change of a metric in one summary diff, or null when one side did not measure it. */
export function overallChange(diff: SummaryDiff, name: string): Change | null {
  return diff.overall.metrics[name] ?? diff.run.find((r) => r.name === name)?.change ?? null;
}

export function checkRule(rule: GateRule, change: Change | null, scope = ''): GateCheck {
  let exceeded = false;
  if (change) {
    exceeded = rule.direction === 'up' ? change.relative > rule.limit : change.relative < -rule.limit;
  }
  return { rule, scope, change, exceeded, crossed: exceeded && change?.verdict !== 'noise', routes: [] };
}

/**
 * The routes (both runs served) whose value of a request metric went past the rule's limit: those that crossed it
 * (significant, or judged by size alone) first, then those past it within the noise (a route has fewer requests
 * than the whole, so its own test is weaker), each group largest change first.
 */
function crossedRoutes(rule: GateRule, diff: SummaryDiff): { route: string; change: Change }[] {
  if (!isRequestMetric(rule.metric)) return [];
  return diff.routes
    .filter((r) => r.presence === 'both' && r.metrics[rule.metric.name])
    .map((r) => ({ route: r.route, change: r.metrics[rule.metric.name], check: checkRule(rule, r.metrics[rule.metric.name]) }))
    .filter((r) => r.check.exceeded)
    .sort((a, b) => Number(b.check.crossed) - Number(a.check.crossed) || Math.abs(b.change.relative) - Math.abs(a.change.relative))
    .map(({ route, change }) => ({ route, change }));
}

/** Every rule against every scope (one per run pair; one per stage for labs). */
export function evaluateGate(
  rules: readonly GateRule[],
  scopes: readonly { scope: string; diff: SummaryDiff; unmeasured?: readonly Unmeasured[] }[],
): GateResult {
  const checks = scopes.flatMap(({ scope, diff }) =>
    rules.map((r) => {
      const check = checkRule(r, overallChange(diff, r.metric.name), scope);
      check.routes = crossedRoutes(r, diff);
      return check;
    }),
  );
  const unmeasured = scopes.flatMap(({ scope, unmeasured: u }) => (u ?? []).map((x) => ({ ...x, scope })));
  return { rules: [...rules], checks, unmeasured, failed: checks.some((c) => c.crossed) || unmeasured.length > 0 };
}

/** "p95 latency grew by more than 10%". */
export function describeRule(rule: GateRule): string {
  const pct = +(rule.limit * 100).toFixed(2);
  return `${rule.metric.label} ${rule.direction === 'up' ? 'grew' : 'dropped'} by more than ${pct}%`;
}
