/** Koa 2 + @koa/router + knex 3 on PostgreSQL under looplens' defaults: see blog-suite.ts for what is held to what. */
import { blogAppSuite } from './blog-suite.js';

blogAppSuite('koa-knex', 'koa-knex/app.cjs');
