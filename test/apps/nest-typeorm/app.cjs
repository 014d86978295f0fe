'use strict';
/**
 * NestJS 11 (on Express) + TypeORM 0.3 on PostgreSQL: the same blog API as express-sequelize, as a Nest module with
 * a controller, a service and TypeORM repositories. Plain JavaScript: the decorators are applied by hand, as the
 * TypeScript compiler's output applies them (so no build step), and the entities are EntitySchemas.
 * - GET /api/groups/:groupId/authors — N+1: the group's authors, then each author's posts one query each (1 + 10).
 * - GET /api/authors/:authorId/stats — five independent queries awaited one after another.
 * - GET /api/posts/:postId — clean: one query (the post joined with its author).
 * FIXED=1 is the fixed twin: the posts in one `In(…)` query, the five queries under Promise.all.
 * Listens on $PORT (127.0.0.1 unless $HOST) and prints "listening <port>".
 */
if (process.env.COUNT_QUERIES === '1') require('../count-queries.cjs');
require('reflect-metadata');
const { Module, Controller, Injectable, Inject, Get, Param, NotFoundException } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { DataSource, EntitySchema, In } = require('typeorm');

const FIXED = process.env.FIXED === '1';

const Author = new EntitySchema({
  name: 'Author',
  tableName: 'authors',
  columns: { id: { type: 'int', primary: true }, name: { type: 'text' }, groupId: { type: 'int', name: 'group_id' } },
});
const Post = new EntitySchema({
  name: 'Post',
  tableName: 'posts',
  columns: {
    id: { type: 'int', primary: true },
    authorId: { type: 'int', name: 'author_id' },
    title: { type: 'text' },
    body: { type: 'text' },
    createdAt: { type: 'timestamptz', name: 'created_at' },
  },
  relations: { author: { type: 'many-to-one', target: 'Author', joinColumn: { name: 'author_id' } } },
});
const Comment = new EntitySchema({
  name: 'Comment',
  tableName: 'comments',
  columns: { id: { type: 'int', primary: true }, postId: { type: 'int', name: 'post_id' }, authorId: { type: 'int', name: 'author_id' }, body: { type: 'text' } },
});

/** Applies decorators the way TypeScript's __decorate does: class, method (with its descriptor) or parameter. */
function decorate(decorators, target, key, descriptor) {
  for (const d of decorators.reverse()) {
    if (key === undefined) target = d(target) || target;
    else descriptor = d(target, key, descriptor) || descriptor;
  }
  if (key !== undefined) Object.defineProperty(target, key, descriptor);
  return target;
}
const method = (cls, name, ...decorators) => decorate(decorators, cls.prototype, name, Object.getOwnPropertyDescriptor(cls.prototype, name));
// a constructor parameter's decorator gets the class, a method parameter's the prototype
const param = (cls, name, index, decorator) => decorator(name === undefined ? cls : cls.prototype, name, index);

class BlogService {
  constructor(dataSource) {
    this.authors = dataSource.getRepository(Author);
    this.posts = dataSource.getRepository(Post);
    this.comments = dataSource.getRepository(Comment);
  }

  async groupAuthors(groupId) {
    const authors = await this.authors.find({ where: { groupId }, order: { id: 'ASC' } });
    if (FIXED) {
      const posts = await this.posts.find({ where: { authorId: In(authors.map((a) => a.id)) }, order: { id: 'ASC' } });
      for (const a of authors) a.posts = posts.filter((p) => p.authorId === a.id);
    } else {
      for (const a of authors) a.posts = await this.posts.find({ where: { authorId: a.id }, order: { id: 'ASC' } });
    }
    return authors;
  }

  async authorStats(id) {
    const author = () => this.authors.findOneBy({ id });
    const posts = () => this.posts.countBy({ authorId: id });
    const comments = () => this.comments.countBy({ authorId: id });
    const latestPost = () => this.posts.findOne({ where: { authorId: id }, order: { createdAt: 'DESC' } });
    const latestComment = () => this.comments.findOne({ where: { authorId: id }, order: { id: 'DESC' } });
    if (FIXED) {
      const [a, p, c, lp, lc] = await Promise.all([author(), posts(), comments(), latestPost(), latestComment()]);
      return { author: a, posts: p, comments: c, latestPost: lp, latestComment: lc };
    }
    const a = await author();
    const p = await posts();
    const c = await comments();
    const lp = await latestPost();
    const lc = await latestComment();
    return { author: a, posts: p, comments: c, latestPost: lp, latestComment: lc };
  }

  async post(id) {
    // one query: the post LEFT JOINed with its author
    return this.posts.findOne({ where: { id }, relations: { author: true } });
  }
}
decorate([Injectable()], BlogService);
param(BlogService, undefined, 0, Inject('DATA_SOURCE'));

class BlogController {
  constructor(blog) {
    this.blog = blog;
  }
  groupAuthors(groupId) {
    return this.blog.groupAuthors(Number(groupId));
  }
  authorStats(authorId) {
    return this.blog.authorStats(Number(authorId));
  }
  async post(postId) {
    const post = await this.blog.post(Number(postId));
    if (!post) throw new NotFoundException('no such post');
    return post;
  }
}
method(BlogController, 'groupAuthors', Get('groups/:groupId/authors'));
param(BlogController, 'groupAuthors', 0, Param('groupId'));
method(BlogController, 'authorStats', Get('authors/:authorId/stats'));
param(BlogController, 'authorStats', 0, Param('authorId'));
method(BlogController, 'post', Get('posts/:postId'));
param(BlogController, 'post', 0, Param('postId'));
decorate([Controller('api')], BlogController);
param(BlogController, undefined, 0, Inject(BlogService));

const dataSourceProvider = {
  provide: 'DATA_SOURCE',
  useFactory: () => new DataSource({ type: 'postgres', url: process.env.DATABASE_URL, entities: [Author, Post, Comment], extra: { max: 10 } }).initialize(),
};

class AppModule {}
decorate([Module({ controllers: [BlogController], providers: [BlogService, dataSourceProvider] })], AppModule);

async function main() {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  const port = Number(process.env.PORT) || 3000;
  await app.listen(port, process.env.HOST || '127.0.0.1');
  console.log(`listening ${app.getHttpServer().address().port}`);
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
