'use strict';
/**
 * Koa 2 + @koa/router + knex 3 on PostgreSQL: the same blog API as express-sequelize, written the Koa way.
 * - GET /api/groups/:groupId/authors — N+1: the group's authors, then each author's posts one query each (1 + 10).
 * - GET /api/authors/:authorId/stats — five independent queries awaited one after another.
 * - GET /api/posts/:postId — clean: one query (the post joined with its author).
 * FIXED=1 is the fixed twin: the posts in one `whereIn` query, the five queries under Promise.all.
 * Listens on $PORT (127.0.0.1 unless $HOST) and prints "listening <port>".
 */
if (process.env.COUNT_QUERIES === '1') require('../count-queries.cjs');
const Koa = require('koa');
const Router = require('@koa/router');
const knex = require('knex')({ client: 'pg', connection: process.env.DATABASE_URL, pool: { min: 0, max: 10 } });

const FIXED = process.env.FIXED === '1';
const router = new Router({ prefix: '/api' });

router.get('/groups/:groupId/authors', async (ctx) => {
  const authors = await knex('authors').select('id', 'name', 'group_id').where('group_id', Number(ctx.params.groupId)).orderBy('id');
  if (FIXED) {
    const posts = await knex('posts').select('*').whereIn('author_id', authors.map((a) => a.id)).orderBy('id');
    for (const a of authors) a.posts = posts.filter((p) => p.author_id === a.id);
  } else {
    for (const a of authors) a.posts = await knex('posts').select('*').where('author_id', a.id).orderBy('id');
  }
  ctx.body = authors;
});

router.get('/authors/:authorId/stats', async (ctx) => {
  const id = Number(ctx.params.authorId);
  const author = () => knex('authors').where('id', id).first();
  const posts = () => knex('posts').where('author_id', id).count({ n: '*' }).first();
  const comments = () => knex('comments').where('author_id', id).count({ n: '*' }).first();
  const latestPost = () => knex('posts').where('author_id', id).orderBy('created_at', 'desc').first();
  const latestComment = () => knex('comments').where('author_id', id).orderBy('id', 'desc').first();
  if (FIXED) {
    const [a, p, c, lp, lc] = await Promise.all([author(), posts(), comments(), latestPost(), latestComment()]);
    ctx.body = { author: a, posts: Number(p.n), comments: Number(c.n), latestPost: lp, latestComment: lc };
  } else {
    const a = await author();
    const p = await posts();
    const c = await comments();
    const lp = await latestPost();
    const lc = await latestComment();
    ctx.body = { author: a, posts: Number(p.n), comments: Number(c.n), latestPost: lp, latestComment: lc };
  }
});

router.get('/posts/:postId', async (ctx) => {
  const post = await knex('posts')
    .join('authors', 'authors.id', 'posts.author_id')
    .select('posts.*', 'authors.name as author_name')
    .where('posts.id', Number(ctx.params.postId))
    .first();
  if (!post) {
    ctx.status = 404;
    ctx.body = { error: 'not_found', message: 'no such post' };
    return;
  }
  ctx.body = post;
});

const app = new Koa();
app.use(router.routes()).use(router.allowedMethods());

const port = Number(process.env.PORT) || 3000;
const server = app.listen(port, process.env.HOST || '127.0.0.1', () => console.log(`listening ${server.address().port}`));
