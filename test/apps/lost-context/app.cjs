'use strict';
/**
 * An app whose queries lose their request's async context: Express 4 + pg, with a data layer that returns bluebird
 * promises (as knex < 0.95 did, and many older apps' own helpers). Bluebird runs `.then` callbacks from its own queue,
 * drained in one setImmediate for every promise settled meanwhile, so a callback runs in the async context of
 * whichever request scheduled the drain: a query started there is charged to that other request's trace (or to none).
 * - GET /api/authors/:authorId/posts — the author, then the author's posts (2 queries, the second in a `.then`).
 * - GET /api/posts/:postId/comments — the post, its comments, their count (3 queries, chained).
 * - GET /api/posts/:postId — one query.
 * Listens on $PORT (127.0.0.1 unless $HOST) and prints "listening <port>".
 */
if (process.env.COUNT_QUERIES === '1') require('../count-queries.cjs');
const Bluebird = require('bluebird');
const express = require('express');
const pg = require('pg');

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
/** The data layer: every query as a bluebird promise. */
const query = (text, values) => Bluebird.resolve(pool.query(text, values)).then((r) => r.rows);

const app = express();

app.get('/api/authors/:authorId/posts', (req, res, next) => {
  const id = Number(req.params.authorId);
  query('SELECT id, name FROM authors WHERE id = $1', [id])
    .then(([author]) => query('SELECT id, title FROM posts WHERE author_id = $1 ORDER BY id', [author.id]).then((posts) => ({ ...author, posts })))
    .then((body) => res.json(body), next);
});

app.get('/api/posts/:postId/comments', (req, res, next) => {
  const id = Number(req.params.postId);
  query('SELECT id, title FROM posts WHERE id = $1', [id])
    .then(([post]) =>
      query('SELECT id, body FROM comments WHERE post_id = $1 ORDER BY id', [post.id]).then((comments) =>
        query('SELECT count(*)::int AS n FROM comments WHERE post_id = $1', [post.id]).then(([{ n }]) => ({ ...post, comments, count: n })),
      ),
    )
    .then((body) => res.json(body), next);
});

app.get('/api/posts/:postId', (req, res, next) => {
  query('SELECT * FROM posts WHERE id = $1', [Number(req.params.postId)]).then(([post]) => res.json(post), next);
});

const port = Number(process.env.PORT) || 3000;
const server = app.listen(port, process.env.HOST || '127.0.0.1', () => console.log(`listening ${server.address().port}`));
