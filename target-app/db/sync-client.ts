/**
 * A synchronous PostgreSQL client, the Node counterpart of a sync driver (psycopg2, SQLAlchemy's sync engine):
 * `SyncPgClient.connectSync()` and `querySync()` return only when PostgreSQL has answered, and the event loop does
 * not turn meanwhile. Under the hood a worker thread runs the async `pg` driver while this thread sleeps in
 * Atomics.wait (lib/blocking-bridge.ts) — a timer cannot fire during a query, which the tests check.
 *
 * OpenTelemetry's pg instrumentation cannot see queries run in a worker thread, so this client makes its own spans
 * (tracer "looplens-target-sync-pg"), named and attributed exactly as @opentelemetry/instrumentation-pg does:
 * `pg.connect` and `pg.query:<VERB> <database>`, SpanKind.CLIENT, db.system.name, db.namespace, server.address,
 * server.port, db.query.text. Without an OpenTelemetry SDK loaded these are no-ops.
 */
import { SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { BlockingBridge } from '../lib/blocking-bridge.js';
import { databaseName } from './connection.js';
import type { QueryCounter } from './counter.js';
import { DEFAULT_DB_TIMEOUTS, type DbTimeouts } from './timeouts.js';

const tracer = trace.getTracer('looplens-target-sync-pg');
/** How much longer this thread waits than the worker's own pg timeouts, so the worker's error arrives first. */
const BRIDGE_MARGIN_MS = 1000;

let bridge: BlockingBridge | null = null;
let nextConn = 1;

function getBridge(): BlockingBridge {
  bridge ??= new BlockingBridge(import.meta.url, 'sync-worker');
  return bridge;
}

/** Stops the worker thread (graceful shutdown). */
export async function closeSyncPg(): Promise<void> {
  const b = bridge;
  bridge = null;
  await b?.close();
}

/** instrumentation-pg's parseNormalizedOperationName: the first word, upper-cased, without a trailing ';'. */
export function operationName(text: string): string {
  const trimmed = text.trim();
  const space = trimmed.search(/\s/);
  const word = (space === -1 ? trimmed : trimmed.slice(0, space)).toUpperCase();
  return word.endsWith(';') ? word.slice(0, -1) : word;
}

function connectionAttributes(url: string): Attributes {
  const u = new URL(url);
  return {
    'db.system.name': 'postgresql',
    'db.namespace': databaseName(url),
    'server.address': u.hostname || 'localhost',
    'server.port': u.port ? Number(u.port) : 5432,
  };
}

function traced<T>(name: string, attributes: Attributes, fn: () => T): T {
  const span: Span = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes });
  try {
    return fn();
  } catch (err) {
    const e = err as { name?: string; code?: string; message?: string };
    // instrumentation-pg's sanitizedErrorMessage: no statement text or values in the exception
    span.recordException(`PostgreSQL error of type '${e?.name ?? 'PostgreSQLError'}' occurred (code: ${e?.code ?? 'UNKNOWN'})`);
    span.setStatus({ code: SpanStatusCode.ERROR, message: e?.message });
    throw err;
  } finally {
    span.end();
  }
}

export interface SyncQueryResult<R> {
  rows: R[];
  rowCount: number | null;
  command: string;
}

export class SyncPgClient {
  readonly #conn: number;
  readonly #attributes: Attributes;
  readonly #database: string;
  readonly #counter?: QueryCounter;
  readonly #timeouts: DbTimeouts;
  #open = true;

  private constructor(conn: number, url: string, counter: QueryCounter | undefined, timeouts: DbTimeouts) {
    this.#conn = conn;
    this.#attributes = connectionAttributes(url);
    this.#database = databaseName(url);
    this.#counter = counter;
    this.#timeouts = timeouts;
  }

  /**
   * Opens a new connection, blocking until PostgreSQL has accepted it. `timeouts` (db/timeouts.ts, the same as the
   * async stages') bound the connect and every statement, so a frozen server never blocks this thread for good:
   * the worker's pg gives up first (connectionTimeoutMillis, query_timeout), Atomics.wait a second later at most.
   * `timeoutMs` alone sets both.
   */
  static connectSync(url: string, options: { counter?: QueryCounter; timeoutMs?: number; timeouts?: DbTimeouts } = {}): SyncPgClient {
    const timeouts = options.timeouts ?? (options.timeoutMs ? { connectMs: options.timeoutMs, queryMs: options.timeoutMs } : DEFAULT_DB_TIMEOUTS);
    const client = new SyncPgClient(nextConn++, url, options.counter, timeouts);
    traced('pg.connect', client.#attributes, () =>
      getBridge().callSync({ op: 'connect', conn: client.#conn, url, timeouts }, timeouts.connectMs + BRIDGE_MARGIN_MS),
    );
    if (options.counter) options.counter.connections++;
    return client;
  }

  /** Runs one statement, blocking the thread until its rows are back. */
  querySync<R = Record<string, unknown>>(text: string, values?: unknown[]): SyncQueryResult<R> {
    if (!this.#open) throw Object.assign(new Error('the connection is closed'), { code: '08003' });
    if (this.#counter) this.#counter.queries++;
    return traced(`pg.query:${operationName(text)} ${this.#database}`, { ...this.#attributes, 'db.query.text': text }, () =>
      getBridge().callSync<SyncQueryResult<R>>({ op: 'query', conn: this.#conn, text, values }, this.#timeouts.queryMs + BRIDGE_MARGIN_MS),
    );
  }

  /** Closes the connection (also synchronously, as a sync driver's close() would). */
  endSync(): void {
    if (!this.#open) return;
    this.#open = false;
    try {
      getBridge().callSync({ op: 'end', conn: this.#conn }, this.#timeouts.connectMs + BRIDGE_MARGIN_MS);
    } catch {
      /* closing a broken connection: nothing to do */
    }
  }
}
