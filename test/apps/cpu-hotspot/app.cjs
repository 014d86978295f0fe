'use strict';
/**
 * An app that spends its CPU in one library on every request without ever blocking the loop for long: Express 4 with
 * a data layer of bluebird promises and bluebird's long stack traces left on (a development setting: every promise
 * captures a stack trace). FIXED=1 turns them off — the same code, the setting a fix would change.
 * - GET /api/report/:id — a chain of 200 bluebird steps, each after a setImmediate (the loop turns between them).
 * - GET /api/ping — a small JSON answer, no bluebird.
 * Listens on $PORT (127.0.0.1) and prints "listening <port>".
 */
const Bluebird = require('bluebird');
const express = require('express');

Bluebird.config({ longStackTraces: process.env.FIXED !== '1', warnings: false });

const STEPS = 200;
const tick = () => new Bluebird((resolve) => setImmediate(resolve));

/** One "row" of the report: a few chained promises, as a data layer built on bluebird does. */
function step(i, acc) {
  return tick()
    .then(() => Bluebird.resolve(i * 7))
    .then((v) => acc + (v % 13));
}

function buildReport(id) {
  let chain = Bluebird.resolve(id);
  for (let i = 0; i < STEPS; i++) chain = chain.then((acc) => step(i, acc));
  return chain.then((total) => ({ id, total }));
}

const app = express();
app.get('/api/report/:id', (req, res, next) => {
  buildReport(Number(req.params.id)).then((body) => res.json(body), next);
});
app.get('/api/ping', (req, res) => res.json({ ok: true }));

const server = app.listen(Number(process.env.PORT) || 3000, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
