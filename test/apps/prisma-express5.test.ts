/** Express 5 + Prisma 7 (pg driver adapter) on PostgreSQL under looplens' defaults: see blog-suite.ts for what is held to what. */
import { blogAppSuite } from './blog-suite.js';

blogAppSuite('prisma-express5', 'prisma-express5/app.cjs');
