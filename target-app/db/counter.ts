/** Counts the database work a stage does, so tests and the lab can compare queries per request across stages. */
import type pg from 'pg';

export class QueryCounter {
  /** Statements sent to PostgreSQL (each round trip counts once). */
  queries = 0;
  /** New connections opened. */
  connections = 0;
}

/** Makes every query of `client` count in `counter` (instrumentation-friendly: wraps the instance, not pg). */
export function countQueries<C extends pg.ClientBase>(client: C, counter: QueryCounter): C {
  const query = client.query;
  client.query = function (this: C, ...args: unknown[]) {
    counter.queries++;
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as C['query'];
  counter.connections++;
  return client;
}
