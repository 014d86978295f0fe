import { describe, expect, it } from 'vitest';
import { esc, html, jsonForScript, raw, relHref } from '../../dashboards/report/escape.js';

describe('esc', () => {
  it('escapes the characters that matter in text and in quoted attributes', () => {
    expect(esc(`<img src=x onerror="window.__xss=1">`)).toBe('&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;');
    expect(esc(`a & b 'c' \`d\``)).toBe('a &amp; b &#39;c&#39; &#96;d&#96;');
  });

  it('does not double-decode: an escaped entity stays visible as text', () => {
    expect(esc('&lt;script&gt;')).toBe('&amp;lt;script&amp;gt;');
  });

  it('stringifies non-strings and drops null/undefined', () => {
    expect(esc(42)).toBe('42');
    expect(esc(null)).toBe('');
    expect(esc(undefined)).toBe('');
    expect(esc(true)).toBe('true');
  });

  it('replaces control characters and lone surrogates', () => {
    expect(esc('a\u0000b\u001bc\td\ne')).toBe('a\ufffdb\ufffdc\td\ne');
    expect(esc('x\ud800y')).toBe('x\ufffdy');
    expect(esc('😀')).toBe('😀');
  });
});

describe('html``', () => {
  it('escapes interpolations, keeps raw() and nested fragments, joins arrays, drops false/null', () => {
    const name = '<b>x</b>';
    const inner = html`<i>${name}</i>`;
    const out = html`<p title="${name}">${inner}${[html`<br>`, '<hr>']}${false}${null}${raw('<em>ok</em>')}</p>`;
    expect(out.html).toBe('<p title="&lt;b&gt;x&lt;/b&gt;"><i>&lt;b&gt;x&lt;/b&gt;</i><br>&lt;hr&gt;<em>ok</em></p>');
  });
});

describe('jsonForScript', () => {
  it('cannot close the script element or open a comment, and still parses to the same value', () => {
    const value = { route: '</script><script>alert(1)</script>', c: '<!-- x -->', amp: 'a&b', ls: '\u2028\u2029' };
    const text = jsonForScript(value);
    expect(text).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('relHref', () => {
  it('encodes every segment so a folder name cannot become a scheme, query or fragment', () => {
    expect(relHref('report/a b.html')).toBe('./report/a%20b.html');
    expect(relHref('../lab/01-baseline/flamegraph.html')).toBe('../lab/01-baseline/flamegraph.html');
    expect(relHref('javascript:alert(1)')).toBe('./javascript%3Aalert(1)');
    expect(relHref('x?y#z/"q".html')).toBe('./x%3Fy%23z/%22q%22.html');
    expect(relHref('')).toBe('./');
  });
});
