import { describe, expect, it } from 'vitest';
import { buildFlameData, msPerSampleOf, renderFlamegraphHtml, scriptJson, type FlameNode } from '../../dashboards/flamegraph/render.js';
import { frameKind } from '../../dashboards/flamegraph/frames.js';
import { filterStack } from '../../dashboards/flamegraph/model.js';

describe('flamegraph renderer', () => {
  const folded = 'main (app.js:1);handler (app.js:9);busy (app.js:20) 30\nmain (app.js:1);handler (app.js:9) 10\nmain (app.js:1);gc 5\n';

  it('builds an inclusive tree from folded stacks', () => {
    const d = buildFlameData(folded);
    expect(d.total).toBe(45);
    const main = d.root.c![0];
    expect(d.names[main.n]).toBe('main (app.js:1)');
    expect(main.v).toBe(45);
    const handler = main.c![0];
    expect(handler.v).toBe(40);
    expect(d.names[handler.c![0].n]).toBe('busy (app.js:20)');
  });

  it('carries base values for a differential flamegraph', () => {
    const d = buildFlameData(folded, 'main (app.js:1);handler (app.js:9);busy (app.js:20) 5\nmain (app.js:1);gc 5\n');
    expect(d.baseTotal).toBe(10);
    expect(d.root.c![0].c![0].b).toBe(5);
    expect(renderFlamegraphHtml({ folded, base: 'main (app.js:1) 1\n' })).toContain('red = larger share in head');
  });

  it('classifies frames: app, dependency (looplens probes included), Node, V8 pseudo-frames', () => {
    expect(frameKind('handler (dist/app.js:12)')).toBe('app');
    expect(frameKind('handler (dist/app.js)')).toBe('app');
    expect(frameKind('handler (/srv/app/server.mjs:3)')).toBe('app');
    expect(frameKind('route (node_modules/fastify/lib/route.js:465)')).toBe('dep');
    expect(frameKind('with (dist/probes/tracing.js:27)')).toBe('dep');
    expect(frameKind('emit (node:events:517)')).toBe('node');
    expect(frameKind('runMicrotasks')).toBe('node');
    expect(frameKind('(garbage collector)')).toBe('special');
  });

  it('folds filtered frames away: their samples stay with the nearest kept frame; a stack with none kept gets a placeholder', () => {
    const stack = ['main (app.js:1)', 'emit (node:events:1)', 'route (node_modules/f/r.js:1)', 'handler (app.js:9)', 'parse (node_modules/j/p.js:2)'];
    expect(filterStack(stack, 'app')).toEqual(['main (app.js:1)', 'handler (app.js:9)']);
    expect(filterStack(stack, 'lib')).toEqual(['main (app.js:1)', 'handler (app.js:9)']);
    expect(filterStack(['(garbage collector)'], 'lib')).toEqual(['(garbage collector)']);
    expect(filterStack(['(garbage collector)'], 'app')).toEqual(['(no app frame)']);
    expect(filterStack(['emit (node:events:1)', 'x (node_modules/a/b.js:1)'], 'lib')).toEqual(['(node internals and dependencies only)']);
    const d = buildFlameData(`${stack.join(';')} 30\nemit (node:events:1);tick (node:internal/timers:5) 10\n`);
    const byName = (n: FlameNode | undefined, name: string) => n?.c?.find((k) => d.names[k.n] === name);
    const app = d.views.app;
    expect(app.v).toBe(40); // totals never change
    expect(byName(byName(app, 'main (app.js:1)'), 'handler (app.js:9)')?.v).toBe(30);
    expect(byName(app, '(no app frame)')?.v).toBe(10);
    expect(d.kinds.charAt(byName(d.root, 'emit (node:events:1)')!.n)).toBe('n');
  });

  it('differential data: the union of both sides\' stacks, and the functions whose share moved, vanished ones included', () => {
    const base = 'main (app.js:1);blockingWork (app.js:30) 60\nmain (app.js:1);render (app.js:9) 40\n';
    const head = 'main (app.js:1);render (app.js:9) 80\nmain (app.js:1);cacheHit (app.js:50) 20\n';
    const d = buildFlameData(head, base, { msPerSample: 1.5, baseMsPerSample: 1 });
    expect(d.total).toBe(100);
    expect(d.baseTotal).toBe(100);
    const main = d.root.c![0];
    const gone = main.c!.find((k) => d.names[k.n] === 'blockingWork (app.js:30)')!;
    expect(gone).toMatchObject({ v: 0, b: 60 }); // drawn in the base shape only
    const vanished = d.changes!.all.shrank.find((c) => d.names[c.n] === 'blockingWork (app.js:30)')!;
    expect(vanished).toMatchObject({ status: 'vanished', base: 0.6, head: 0, baseSamples: 60 });
    expect(d.changes!.all.grew.map((c) => [d.names[c.n], c.status])).toEqual([
      ['render (app.js:9)', 'grew'],
      ['cacheHit (app.js:50)', 'new'],
    ]);
    expect(d.msPerSample).toBe(1.5);
    const html = renderFlamegraphHtml({ folded: head, base, msPerSample: 1.5, baseMsPerSample: 1 });
    expect(html).toContain('id="shape-base"');
    expect(html).toContain('ms = samples × the profile');
    expect(renderFlamegraphHtml({ folded: head, base })).toContain('ms unknown for both sides');
    expect(renderFlamegraphHtml({ folded: head })).toContain('ms unknown (no profile.cpuprofile');
  });

  it('lists the changes per filter, so app code is not crowded out of the list by Node and dependency frames', () => {
    const nodeFrames = Array.from({ length: 14 }, (_, i) => `tick${i} (node:internal/t${i}:1)`);
    const head = [...nodeFrames.map((f) => `${f} 10`), 'main (app.js:1);newCode (app.js:5) 5'].join('\n');
    const base = [...nodeFrames.map((f) => `${f} 1`), 'main (app.js:1);oldCode (app.js:9) 100'].join('\n');
    const d = buildFlameData(head, base);
    const names = (l: { n: number }[]) => l.map((c) => d.names[c.n]);
    expect(d.changes!.all.grew).toHaveLength(12);
    expect(names(d.changes!.all.grew)).not.toContain('newCode (app.js:5)');
    expect(names(d.changes!.app.grew)).toEqual(['newCode (app.js:5)']);
    expect(names(d.changes!.lib.shrank)).toEqual(['oldCode (app.js:9)', 'main (app.js:1)']); // vanished, the larger move
  });

  it('times a sample from a V8 profile: duration over samples', () => {
    expect(msPerSampleOf({ startTime: 1_000_000, endTime: 3_000_000, samples: new Array(2000).fill(1) })).toBe(1);
    expect(msPerSampleOf({ nodes: [] })).toBeUndefined();
    expect(msPerSampleOf({ startTime: 0, endTime: 10, samples: [] })).toBeUndefined();
  });

  it('is self-contained and never lets a frame name become markup', () => {
    const hostile = '</script><img src=x onerror=alert(1)>;<!-- \u2028 & "q" 3\n';
    const html = renderFlamegraphHtml({ folded: hostile, title: '<b>t</b>', subtitle: '"s" & <i>' });
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>t</b>');
    expect(html.match(/<\/script>/g)).toHaveLength(2); // only the page's own two script elements close
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
    expect(html).toContain("default-src 'none'");
    // the data survives the escaping intact
    const json = /<script type="application\/json" id="flame-data">([^<]*)<\/script>/.exec(html)![1];
    expect(JSON.parse(json).names).toContain('</script><img src=x onerror=alert(1)>');
    expect(scriptJson('\u2028<')).toBe('"\\u2028\\u003c"');
  });
});
