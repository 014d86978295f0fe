'use strict';
/**
 * Express 5 + Prisma 7 (its pg driver adapter) on PostgreSQL: the same blog API as express-sequelize. Express 5
 * passes a rejected async handler to the error handler by itself.
 * - GET /api/groups/:groupId/authors — N+1: the group's authors, then each author's posts one query each (1 + 10).
 * - GET /api/authors/:authorId/stats — five independent queries awaited one after another.
 * - GET /api/posts/:postId — clean: the post, then its author (Prisma's `include`: two queries, the second needs the
 *   first's author_id).
 * FIXED=1 is the fixed twin: the posts in one `in` query, the five queries under Promise.all.
 * Listens on $PORT (127.0.0.1 unless $HOST) and prints "listening <port>".
 */
if (process.env.COUNT_QUERIES === '1') require('../count-queries.cjs');
const express = require('express');
const { PrismaClient } = require('@prisma/client');
const { PrismaPg } = require('@prisma/adapter-pg');

const FIXED = process.env.FIXED === '1';
const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: process.env.DATABASE_URL, max: 10 }) });

const api = express.Router();

api.get('/groups/:groupId/authors', async (req, res) => {
  const authors = await prisma.author.findMany({ where: { groupId: Number(req.params.groupId) }, orderBy: { id: 'asc' } });
  if (FIXED) {
    const posts = await prisma.post.findMany({ where: { authorId: { in: authors.map((a) => a.id) } }, orderBy: { id: 'asc' } });
    for (const a of authors) a.posts = posts.filter((p) => p.authorId === a.id);
  } else {
    for (const a of authors) a.posts = await prisma.post.findMany({ where: { authorId: a.id }, orderBy: { id: 'asc' } });
  }
  res.json(authors);
});

api.get('/authors/:authorId/stats', async (req, res) => {
  const id = Number(req.params.authorId);
  const author = () => prisma.author.findUnique({ where: { id } });
  const posts = () => prisma.post.count({ where: { authorId: id } });
  const comments = () => prisma.comment.count({ where: { authorId: id } });
  const latestPost = () => prisma.post.findFirst({ where: { authorId: id }, orderBy: { createdAt: 'desc' } });
  const latestComment = () => prisma.comment.findFirst({ where: { authorId: id }, orderBy: { id: 'desc' } });
  if (FIXED) {
    const [a, p, c, lp, lc] = await Promise.all([author(), posts(), comments(), latestPost(), latestComment()]);
    return res.json({ author: a, posts: p, comments: c, latestPost: lp, latestComment: lc });
  }
  const a = await author();
  const p = await posts();
  const c = await comments();
  const lp = await latestPost();
  const lc = await latestComment();
  res.json({ author: a, posts: p, comments: c, latestPost: lp, latestComment: lc });
});

api.get('/posts/:postId', async (req, res) => {
  // Prisma loads the relation with a second query (relationJoins is a preview feature): two dependent queries
  const post = await prisma.post.findUnique({ where: { id: Number(req.params.postId) }, include: { author: true } });
  if (!post) return res.status(404).json({ error: 'not_found', message: 'no such post' });
  res.json(post);
});

const app = express();
app.use('/api', api);

const port = Number(process.env.PORT) || 3000;
const server = app.listen(port, process.env.HOST || '127.0.0.1', () => console.log(`listening ${server.address().port}`));
