'use strict';
/**
 * The fixtures' own query count, independent of looplens: with COUNT_QUERIES=1 an app requires this first; it wraps
 * pg's Client#query (every ORM here — Sequelize, knex, TypeORM, Prisma's pg adapter — sends its statements through it)
 * and serves the running total as JSON on 127.0.0.1:$COUNT_PORT. The tests read it before and after one request at a
 * time to learn how many statements each route really runs. Off (not even required) under looplens.
 */
const http = require('node:http');
const pg = require('pg');

let count = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(...args) {
  count++;
  return query.apply(this, args);
};

const port = Number(process.env.COUNT_PORT);
if (port) {
  http
    .createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ queries: count })))
    .listen(port, '127.0.0.1')
    .unref();
}
