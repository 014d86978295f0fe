'use strict';
/**
 * An app that ignores $PORT, as many example apps do (NestJS starters hard-code `app.listen(3000)`): Hapi 21 + pg,
 * listening on the port of its own config — $HAPI_PORT, else 3000 — so that a test on a shared machine can pick a
 * free one. looplens must find that port itself.
 * - GET /api/posts/{postId} — one query.
 * - GET /api/authors/{authorId}/posts — two dependent queries.
 * Prints "server running on <uri>" (not looplens' "listening <port>").
 */
if (process.env.COUNT_QUERIES === '1') require('../count-queries.cjs');
const Hapi = require('@hapi/hapi');
const pg = require('pg');

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

async function main() {
  const server = Hapi.server({ port: Number(process.env.HAPI_PORT) || 3000, host: '127.0.0.1' });
  server.route({
    method: 'GET',
    path: '/api/posts/{postId}',
    handler: async (request, h) => {
      const { rows } = await pool.query('SELECT * FROM posts WHERE id = $1', [Number(request.params.postId)]);
      return rows[0] ?? h.response({ error: 'not_found', message: 'no such post' }).code(404);
    },
  });
  server.route({
    method: 'GET',
    path: '/api/authors/{authorId}/posts',
    handler: async (request) => {
      const { rows: [author] } = await pool.query('SELECT id, name FROM authors WHERE id = $1', [Number(request.params.authorId)]);
      const { rows: posts } = await pool.query('SELECT id, title FROM posts WHERE author_id = $1 ORDER BY id', [author.id]);
      return { ...author, posts };
    },
  });
  await server.start();
  console.log(`server running on ${server.info.uri}`);
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
