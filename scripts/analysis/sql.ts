/**
 * SQL statement shapes: two statements with the same shape are "the same query with other values". Used to group
 * an N+1 loop's queries (which differ only in the id) and to tell reads from writes.
 */

/**
 * Normalises a statement: comments and string/number literals and placeholders become `?`, IN-lists and VALUES rows
 * collapse to one, whitespace collapses, keywords are lower-cased (identifiers too: SQL folds them anyway).
 */
export function normaliseSql(sql: string): string {
  let s = sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/'(?:[^']|'')*'/g, '?') // string literals
    .replace(/\$\d+/g, '?') // pg placeholders
    .replace(/:\w+\b/g, (m, offset: number, all: string) => (all[offset - 1] === ':' ? m : '?')) // named params (not ::casts)
    .replace(/(?<![\w$.])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, '?') // numbers not part of identifiers
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
  s = s.replace(/\(\s*\?(?:\s*,\s*\?)*\s*\)/g, '(?)'); // IN (?, ?, ?) and VALUES (?, ?) → (?)
  s = s.replace(/(values\s*\(\?\))(?:\s*,\s*\(\?\))+/g, '$1'); // multi-row VALUES
  s = s.replace(/\s*;\s*$/, '');
  return s;
}

/** A statement that only reads: SELECT (or WITH … SELECT) without FOR UPDATE/SHARE, and no data-changing CTE. */
export function isReadStatement(sql: string): boolean {
  const s = sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/'(?:[^']|'')*'/g, "''")
    .trim()
    .toLowerCase();
  if (!/^(\(\s*)*(select|with)\b/.test(s)) return false;
  if (/\bfor\s+(update|share|no\s+key\s+update|key\s+share)\b/.test(s)) return false;
  if (/^with\b/.test(s) && /\b(insert|update|delete|merge)\b/.test(s)) return false;
  if (/\b(nextval|setval|pg_advisory_lock|pg_sleep)\s*\(/.test(s)) return false;
  return true;
}
