/** NestJS 11 (on Express) + TypeORM 0.3 on PostgreSQL under looplens' defaults: see blog-suite.ts for what is held to what. */
import { blogAppSuite } from './blog-suite.js';

blogAppSuite('nest-typeorm', 'nest-typeorm/app.cjs');
