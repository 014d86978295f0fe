/** Express 4 + Sequelize 6 on PostgreSQL under looplens' defaults: see blog-suite.ts for what is held to what. */
import { blogAppSuite } from './blog-suite.js';

blogAppSuite('express-sequelize', 'express-sequelize/app.cjs');
