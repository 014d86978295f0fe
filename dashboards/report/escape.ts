/**
 * The one escaping module of the report. Every string that comes from a run folder (routes, function names, file
 * paths, URLs, span attributes, notes) is untrusted: it goes into the page only through these functions.
 */

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/**
 * Escapes for HTML text and for quoted attribute values alike (both quote kinds are escaped). Non-strings are
 * stringified first; null/undefined become ''. Lone surrogates and C0 controls (except tab/newline) are replaced,
 * so a hostile string cannot produce invalid markup either.
 */
export function esc(value: unknown): string {
  if (value === null || value === undefined) return '';
  const s = typeof value === 'string' ? value : String(value);
  return s
    .replace(/[&<>"'`]/g, (c) => HTML_ESCAPES[c])
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '\ufffd')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/** Tagged template: interpolated values are escaped, except those wrapped by raw(). */
export class Raw {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}

export function raw(html: string): Raw {
  return new Raw(html);
}

function part(v: unknown): string {
  if (v instanceof Raw) return v.html;
  if (Array.isArray(v)) return v.map(part).join('');
  if (v === false || v === null || v === undefined) return '';
  return esc(v);
}

/** html`<td>${route}</td>` escapes route; nest fragments with raw() or by passing the result of html`` (a Raw). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Raw {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += part(values[i]) + strings[i + 1];
  return new Raw(out);
}

/**
 * JSON for a `<script type="application/json">` block: `<`, `>`, `&`, U+2028 and U+2029 become \u escapes, so the
 * data can never close the script element or open a comment, whatever it holds.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * A relative link (href/src) to a local file, from path segments. Each segment is URI-encoded, so a folder name
 * cannot turn into a scheme (`javascript:`), a query or a fragment; the result still needs esc() in an attribute.
 */
export function relHref(relativePath: string): string {
  const segments = relativePath.split(/[\\/]+/).filter((s) => s !== '' && s !== '.');
  const encoded = segments.map((s) => (s === '..' ? '..' : encodeURIComponent(s))).join('/');
  // "a:b" as a first segment would read as a scheme: encodeURIComponent leaves no ':' but be explicit anyway.
  return encoded === '' ? './' : encoded.startsWith('..') ? encoded : `./${encoded}`;
}
