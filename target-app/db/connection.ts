/**
 * Connection strings and the one-time preparation every entry point shares: parse DATABASE_URL, create the
 * database when it is missing, and turn "the server is not there" into one readable line instead of a stack.
 */
import pg from 'pg';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/looplens';

/** The database named by a connection string (pg's default: the user name, else "postgres"). */
export function databaseName(url: string): string {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return name || decodeURIComponent(u.username) || 'postgres';
}

/** The same server, the maintenance database: where CREATE DATABASE runs. */
export function maintenanceUrl(url: string): string {
  const u = new URL(url);
  u.pathname = '/postgres';
  return u.toString();
}

/** For messages: the URL without its password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNRESET']);

/** True when the error means "no PostgreSQL server there" rather than "the server said no". */
export function isUnreachable(err: unknown): boolean {
  const e = err as { code?: string; errors?: unknown[]; message?: string } | null;
  if (!e) return false;
  if (e.code && UNREACHABLE.has(e.code)) return true;
  if (Array.isArray(e.errors)) return e.errors.some(isUnreachable); // AggregateError from dual-stack connects
  return /timeout expired|Connection terminated due to connection timeout/i.test(e.message ?? '');
}

/** A short reason for a failed connection: the error code, else its first line. */
export function reasonOf(err: unknown): string {
  const e = err as { code?: string; errors?: { code?: string }[]; message?: string } | null;
  if (!e) return 'unknown error';
  if (e.code) return e.code;
  const inner = Array.isArray(e.errors) ? e.errors.find((x) => x?.code)?.code : undefined;
  return inner ?? (e.message ?? String(err)).split('\n')[0];
}

/** The one-line error the entry points print when PostgreSQL cannot be reached. */
export class DatabaseUnavailableError extends Error {
  constructor(url: string, cause: unknown) {
    super(
      `PostgreSQL is not reachable at ${redactUrl(url)} (${reasonOf(cause)}): start it, set DATABASE_URL, ` +
        'or run through `looplens`, which starts an embedded PostgreSQL when none is running',
      { cause },
    );
    this.name = 'DatabaseUnavailableError';
  }
}

/** Connects once with a short timeout; throws DatabaseUnavailableError when there is no server. */
export async function connectOnce(url: string, timeoutMs = 3000): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {}); // a dropped admin connection must not crash the process
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => {});
    if (isUnreachable(err)) throw new DatabaseUnavailableError(url, err);
    throw err;
  }
}

/** Creates the database named by `url` when it does not exist yet. Returns true when it created it. */
export async function ensureDatabase(url: string): Promise<boolean> {
  const name = databaseName(url);
  const admin = await connectOnce(maintenanceUrl(url)).catch((err: unknown) => {
    throw err instanceof DatabaseUnavailableError ? new DatabaseUnavailableError(url, err.cause) : err;
  });
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return false;
    try {
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      return true;
    } catch (err) {
      // 42P04 duplicate_database / 23505: another process created it between our check and our CREATE
      if ((err as { code?: string }).code === '42P04' || (err as { code?: string }).code === '23505') return false;
      throw err;
    }
  } finally {
    await admin.end().catch(() => {});
  }
}

/** Drops the database named by `url` (tests), disconnecting other sessions first. */
export async function dropDatabase(url: string): Promise<void> {
  const admin = await connectOnce(maintenanceUrl(url));
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(databaseName(url))} WITH (FORCE)`);
  } finally {
    await admin.end().catch(() => {});
  }
}
