/**
 * How long target-app waits for PostgreSQL, in one place (set from PG_CONNECT_TIMEOUT_MS / PG_QUERY_TIMEOUT_MS in
 * config.ts). A frozen or saturated server must turn into a quick 503, never a request that hangs (issue #7).
 * - connectMs: opening a connection, and — for the pools — waiting for a free client (pg-pool uses the same
 *   connectionTimeoutMillis for both);
 * - queryMs: one statement, client side (pg's query_timeout: works when the server does not answer at all) and
 *   server side (statement_timeout: the server cancels it and frees the backend).
 * The defaults leave the lab's slowest stages (baseline, async-db: a new connection per request under load) far
 * from the limit: their connects and statements take milliseconds to tens of milliseconds.
 */
export interface DbTimeouts {
  connectMs: number;
  queryMs: number;
}

export const DEFAULT_DB_TIMEOUTS: DbTimeouts = { connectMs: 5000, queryMs: 10_000 };

/** The options of a pg.Client / pg.Pool for these timeouts. */
export function pgTimeoutOptions(t: DbTimeouts = DEFAULT_DB_TIMEOUTS): {
  connectionTimeoutMillis: number;
  query_timeout: number;
  statement_timeout: number;
} {
  return { connectionTimeoutMillis: t.connectMs, query_timeout: t.queryMs, statement_timeout: t.queryMs };
}

/** pg's errors for these timeouts (they carry no code), and PostgreSQL's statement_timeout cancel (57014). */
export function isDbTimeout(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (!e) return false;
  if (e.code === '57014') return true;
  return /^(Query read timeout|timeout exceeded when trying to connect|Connection terminated due to connection timeout)/.test(e.message ?? '');
}
