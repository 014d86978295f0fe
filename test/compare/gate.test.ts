import { describe, expect, it } from 'vitest';
import { LooplensError } from '../../scripts/errors.js';
import { describeRule, evaluateGate, parseGateSpec } from '../../scripts/compare/gate.js';
import { diffSummaries } from '../../scripts/compare/summary-diff.js';
import { stats, summary } from './helpers.js';

describe('parseGateSpec', () => {
  it('reads metric:±N% rules, comma-separated or repeated', () => {
    const rules = parseGateSpec(['p95:+10%, rps:-10%', 'blocked:+20%', 'delay:5.5%', 'rps:3%']);
    expect(rules.map((r) => [r.metric.name, r.direction, r.limit])).toEqual([
      ['p95', 'up', 0.1],
      ['rps', 'down', 0.1],
      ['blocked', 'up', 0.2],
      ['delay', 'up', 0.055],
      ['rps', 'down', 0.03], // no sign: the bad direction of the metric
    ]);
    expect(describeRule(rules[0])).toBe('p95 latency grew by more than 10%');
  });

  it('rejects a bad rule with an actionable message that lists the metrics', () => {
    const bad = (spec: string) => {
      try {
        parseGateSpec(spec);
      } catch (err) {
        expect(err).toBeInstanceOf(LooplensError);
        const e = err as LooplensError;
        expect(e.code).toBe('USAGE_BAD_VALUE');
        return `${e.message} — ${e.fix}`;
      }
      throw new Error(`accepted ${spec}`);
    };
    expect(bad('p96:+10%')).toMatch(/unknown metric "p96".*p50, p90, p95, p99, max, rps, errors, delay.*blocked/);
    expect(bad('p95+10%')).toMatch(/not metric:±N%.*p95:\+10%/);
    expect(bad('p95:+10')).toMatch(/not metric:±N%/);
    expect(bad(' , ')).toMatch(/no rules/);
  });
});

describe('evaluateGate', () => {
  const base = summary();
  const slower = summary({
    overall: { ...base.overall, rps: 150, latencyMs: { ...base.overall.latencyMs, p95: 130 } },
    blocking: { count: 100, totalMs: 5000, msPerRequest: 5.5 },
  });

  it('fails when a change goes past a rule in its direction, and only then', () => {
    const rules = parseGateSpec('p95:+10%,rps:-10%,blocked:+20%');
    const g = evaluateGate(rules, [{ scope: '', diff: diffSummaries(base, slower) }]);
    expect(g.failed).toBe(true);
    expect(g.checks.map((c) => [c.rule.text, c.crossed])).toEqual([
      ['p95:+10%', true],
      ['rps:-10%', true],
      ['blocked:+20%', false],
    ]);
    // the other way round everything improved: nothing crossed
    expect(evaluateGate(rules, [{ scope: '', diff: diffSummaries(slower, base) }]).failed).toBe(false);
  });

  it('does not fail on a change inside the runs\' spread, but reports it as exceeded', () => {
    const b = summary({ spread: { 'overall.latencyMs.p95': [80, 125] } });
    const h = summary({ overall: { ...slower.overall }, spread: { 'overall.latencyMs.p95': [110, 140] } });
    const g = evaluateGate(parseGateSpec('p95:+10%'), [{ scope: '', diff: diffSummaries(b, h) }]);
    expect(g.checks[0]).toMatchObject({ exceeded: true, crossed: false });
    expect(g.failed).toBe(false);
  });

  it('reports a metric one run did not measure instead of failing', () => {
    const g = evaluateGate(parseGateSpec('queries:+10%'), [{ scope: 'x', diff: diffSummaries(base, slower) }]);
    expect(g.checks[0]).toMatchObject({ change: null, exceeded: false, crossed: false, scope: 'x' });
  });

  it('with per-run values on both sides, fails only on a significant regression past the limit, and names the routes behind it', () => {
    // three runs each: base p95 100/104/98, head 200/210/196 (complete separation: p = 1/20, significant at 95 %)
    const b = summary({ routes: { 'GET /slow': stats(100, 100), 'GET /fast': stats(5, 100) }, perRun: { 'overall.latencyMs.p95': [100, 104, 98], 'routes.GET /slow.latencyMs.p95': [100, 104, 98], 'routes.GET /fast.latencyMs.p95': [5, 5.2, 4.9] } });
    const h = summary({
      overall: { ...b.overall, latencyMs: { ...b.overall.latencyMs, p95: 200 } },
      routes: { 'GET /slow': stats(200, 100), 'GET /fast': stats(5.1, 100) },
      perRun: { 'overall.latencyMs.p95': [200, 210, 196], 'routes.GET /slow.latencyMs.p95': [200, 210, 196], 'routes.GET /fast.latencyMs.p95': [5.1, 4.8, 5.3] },
    });
    const g = evaluateGate(parseGateSpec('p95:+10%'), [{ scope: '', diff: diffSummaries(b, h) }]);
    expect(g.failed).toBe(true);
    expect(g.checks[0].change?.test).toMatchObject({ significant: 'up', baseN: 3, headN: 3 });
    expect(g.checks[0].routes.map((r) => r.route)).toEqual(['GET /slow']);
    expect(g.checks[0].routes[0].change.test!.interval[0]).toBeGreaterThan(0);

    // the same medians, but the runs overlap: not significant, so not failing (however far past the limit)
    const h2 = { ...h, perRun: { ...h.perRun, 'overall.latencyMs.p95': [200, 95, 196] } };
    const g2 = evaluateGate(parseGateSpec('p95:+10%'), [{ scope: '', diff: diffSummaries(b, h2) }]);
    expect(g2.checks[0]).toMatchObject({ exceeded: true, crossed: false });
    expect(g2.checks[0].change?.verdict).toBe('noise');
    expect(g2.failed).toBe(false);
  });

  it('fails on a run that measured nothing, whatever the rules say', () => {
    const g = evaluateGate(parseGateSpec('p95:+10%'), [{ scope: '', diff: diffSummaries(base, base), unmeasured: [{ side: 'head', code: 'RUN_EMPTY', message: 'no request succeeded' }] }]);
    expect(g.checks[0].crossed).toBe(false);
    expect(g.unmeasured).toEqual([{ side: 'head', code: 'RUN_EMPTY', message: 'no request succeeded', scope: '' }]);
    expect(g.failed).toBe(true);
  });
});
