/**
 * The baseline's synchronous PostgreSQL client really stops the event loop, reports errors like pg does, and makes
 * the spans @opentelemetry/instrumentation-pg would make (which cannot see queries run in a worker thread).
 */
import { createRequire } from 'node:module';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDatabase } from '../../target-app/db/connection.js';
import { QueryCounter } from '../../target-app/db/counter.js';
import { SyncPgClient, closeSyncPg, operationName } from '../../target-app/db/sync-client.js';
import { dropTestDatabase, testDatabaseUrl } from './helpers.js';

const SUFFIX = 'sync';
const url = testDatabaseUrl(SUFFIX);
const exporter = new InMemorySpanExporter();
const instrumentationPg = createRequire(import.meta.url)('@opentelemetry/instrumentation-pg/build/src/utils.js') as {
  getQuerySpanName(db: string, q: { text: string }): string;
  parseNormalizedOperationName(text: string): string;
  getSemanticAttributesFromConnection(p: { database: string; host: string; port: number }): Record<string, unknown>;
};

beforeAll(async () => {
  await ensureDatabase(url);
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
});

afterAll(async () => {
  trace.disable();
  await closeSyncPg();
  await dropTestDatabase(SUFFIX);
});

describe('SyncPgClient', () => {
  it('stops the event loop for the whole query: no timer fires during a 200 ms query', async () => {
    const db = SyncPgClient.connectSync(url);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    await new Promise((r) => setTimeout(r, 30));
    expect(ticks).toBeGreaterThan(0); // the timer does run when the loop is free
    const before = ticks;
    const started = performance.now();
    const { rows } = db.querySync<{ one: number }>('SELECT pg_sleep(0.2), 1::int AS one');
    const took = performance.now() - started;
    const during = ticks - before;
    clearInterval(timer);
    db.endSync();
    expect(rows).toEqual([{ pg_sleep: '', one: 1 }]);
    expect(took).toBeGreaterThanOrEqual(195);
    expect(during).toBe(0);
  });

  it('answers rows typed as pg types them, counts queries and connections, and throws PostgreSQL errors with their code', () => {
    const counter = new QueryCounter();
    const db = SyncPgClient.connectSync(url, { counter });
    const { rows, rowCount, command } = db.querySync<{ n: number; t: Date; s: string; a: number[] }>(
      "SELECT 42::int AS n, timestamptz '2025-01-02T03:04:05.678Z' AS t, $1::text AS s, ARRAY[1,2]::int[] AS a",
      ["it's"],
    );
    expect(rows[0]).toEqual({ n: 42, t: new Date('2025-01-02T03:04:05.678Z'), s: "it's", a: [1, 2] });
    expect([rowCount, command]).toEqual([1, 'SELECT']);
    expect(() => db.querySync('SELECT * FROM no_such_table')).toThrow(expect.objectContaining({ code: '42P01', message: 'relation "no_such_table" does not exist' }));
    db.endSync();
    expect(() => db.querySync('SELECT 1')).toThrow(/closed/);
    expect(counter).toMatchObject({ queries: 2, connections: 1 });
  });

  it('fails a connection to a server that is not there with the connect error, not a hang', () => {
    expect(() => SyncPgClient.connectSync('postgres://postgres@127.0.0.1:1/x', { timeoutMs: 2000 })).toThrow(expect.objectContaining({ code: 'ECONNREFUSED' }));
  });

  it('makes the spans instrumentation-pg makes: pg.connect and pg.query:<VERB> <db>, same attributes', () => {
    exporter.reset();
    const db = SyncPgClient.connectSync(url);
    const text = 'SELECT $1::int AS x';
    db.querySync(text, [1]);
    expect(() => db.querySync('  insert into nope values (1)')).toThrow();
    db.endSync();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['pg.connect', 'pg.query:SELECT looplens_test_app_sync', 'pg.query:INSERT looplens_test_app_sync']);
    expect(spans[1].name).toBe(instrumentationPg.getQuerySpanName('looplens_test_app_sync', { text }));
    for (const q of ['SELECT 1', '  insert into t values (1)', 'COMMIT;', 'WITH x AS (SELECT 1) SELECT * FROM x']) {
      expect(operationName(q)).toBe(instrumentationPg.parseNormalizedOperationName(q));
    }
    const connection = instrumentationPg.getSemanticAttributesFromConnection({ database: 'looplens_test_app_sync', host: '127.0.0.1', port: 5432 });
    expect(spans[0].attributes).toEqual(connection);
    expect(spans[1].attributes).toEqual({ ...connection, 'db.query.text': text });
    expect(spans.every((s) => s.kind === SpanKind.CLIENT && s.instrumentationScope.name === 'looplens-target-sync-pg')).toBe(true);
    expect(spans[2].status).toEqual({ code: SpanStatusCode.ERROR, message: 'relation "nope" does not exist' });
    expect(spans[2].events[0].attributes?.['exception.message']).toBe("PostgreSQL error of type 'error' occurred (code: 42P01)");
  });
});
