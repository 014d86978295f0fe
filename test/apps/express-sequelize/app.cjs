'use strict';
/**
 * Express 4 + Sequelize 6 on PostgreSQL: a small blog API with three routes of known shape.
 * - GET /api/groups/:groupId/authors — N+1: the group's authors, then each author's posts one query each (1 + 10).
 * - GET /api/authors/:authorId/stats — five independent queries awaited one after another.
 * - GET /api/posts/:postId — clean: one query (the post joined with its author).
 * FIXED=1 is the fixed twin: the posts in one `author_id IN (…)` query, the five queries under Promise.all.
 * Listens on $PORT (127.0.0.1 unless $HOST) and prints "listening <port>".
 */
if (process.env.COUNT_QUERIES === '1') require('../count-queries.cjs');
const express = require('express');
const { Sequelize, DataTypes } = require('sequelize');

const FIXED = process.env.FIXED === '1';
const sequelize = new Sequelize(process.env.DATABASE_URL, { dialect: 'postgres', logging: false, pool: { max: 10 } });

const Author = sequelize.define(
  'Author',
  { id: { type: DataTypes.INTEGER, primaryKey: true }, name: DataTypes.TEXT, groupId: { type: DataTypes.INTEGER, field: 'group_id' } },
  { tableName: 'authors', timestamps: false },
);
const Post = sequelize.define(
  'Post',
  {
    id: { type: DataTypes.INTEGER, primaryKey: true },
    authorId: { type: DataTypes.INTEGER, field: 'author_id' },
    title: DataTypes.TEXT,
    body: DataTypes.TEXT,
    createdAt: { type: DataTypes.DATE, field: 'created_at' },
  },
  { tableName: 'posts', timestamps: false },
);
const Comment = sequelize.define(
  'Comment',
  {
    id: { type: DataTypes.INTEGER, primaryKey: true },
    postId: { type: DataTypes.INTEGER, field: 'post_id' },
    authorId: { type: DataTypes.INTEGER, field: 'author_id' },
    body: DataTypes.TEXT,
  },
  { tableName: 'comments', timestamps: false },
);
Post.belongsTo(Author, { foreignKey: 'authorId', as: 'author' });

const api = express.Router();

api.get('/groups/:groupId/authors', async (req, res, next) => {
  try {
    const authors = await Author.findAll({ where: { groupId: Number(req.params.groupId) }, order: [['id', 'ASC']], raw: true });
    if (FIXED) {
      const posts = await Post.findAll({ where: { authorId: authors.map((a) => a.id) }, order: [['id', 'ASC']], raw: true });
      for (const a of authors) a.posts = posts.filter((p) => p.authorId === a.id);
    } else {
      for (const a of authors) a.posts = await Post.findAll({ where: { authorId: a.id }, order: [['id', 'ASC']], raw: true });
    }
    res.json(authors);
  } catch (err) {
    next(err);
  }
});

api.get('/authors/:authorId/stats', async (req, res, next) => {
  try {
    const id = Number(req.params.authorId);
    let author, posts, comments, latestPost, latestComment;
    if (FIXED) {
      [author, posts, comments, latestPost, latestComment] = await Promise.all([
        Author.findByPk(id, { raw: true }),
        Post.count({ where: { authorId: id } }),
        Comment.count({ where: { authorId: id } }),
        Post.findOne({ where: { authorId: id }, order: [['createdAt', 'DESC']], raw: true }),
        Comment.findOne({ where: { authorId: id }, order: [['id', 'DESC']], raw: true }),
      ]);
    } else {
      author = await Author.findByPk(id, { raw: true });
      posts = await Post.count({ where: { authorId: id } });
      comments = await Comment.count({ where: { authorId: id } });
      latestPost = await Post.findOne({ where: { authorId: id }, order: [['createdAt', 'DESC']], raw: true });
      latestComment = await Comment.findOne({ where: { authorId: id }, order: [['id', 'DESC']], raw: true });
    }
    res.json({ author, posts, comments, latestPost, latestComment });
  } catch (err) {
    next(err);
  }
});

api.get('/posts/:postId', async (req, res, next) => {
  try {
    const post = await Post.findByPk(Number(req.params.postId), { include: [{ model: Author, as: 'author' }] });
    if (!post) return res.status(404).json({ error: 'not_found', message: 'no such post' });
    res.json(post);
  } catch (err) {
    next(err);
  }
});

const app = express();
app.use(express.json());
app.use('/api', api);

const port = Number(process.env.PORT) || 3000;
const server = app.listen(port, process.env.HOST || '127.0.0.1', () => console.log(`listening ${server.address().port}`));
