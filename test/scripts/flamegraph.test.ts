import { describe, expect, it } from 'vitest';
import { buildFlameData, renderFlamegraphHtml, scriptJson } from '../../dashboards/flamegraph/render.js';

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
