/** `looplens db seed` / `looplens db migrate`: run target-app's seeder with progress. */
import { ensureService } from '../lab/services.js';
import { DEFAULT_DATABASE_URL, runSeed } from '../lab/seed.js';
import { PROJECT_ROOT } from '../profile/run.js';
import type { CommandContext, CommandHandler } from './index.js';

async function withPostgres<T>(ctx: CommandContext, fn: (url: string) => Promise<T>): Promise<T> {
  ctx.progress.enter('services', 'checking PostgreSQL');
  const pg = await ensureService('postgres', ctx.env.DATABASE_URL ?? DEFAULT_DATABASE_URL, (m) => ctx.progress.log(m));
  try {
    return await fn(pg.url);
  } finally {
    await pg.stop();
  }
}

export const seed: CommandHandler = async ({ options: o }, ctx) => {
  const result = await withPostgres(ctx, (url) => {
    ctx.progress.enter('seed', `scale ${o.scale}`);
    return runSeed({ root: PROJECT_ROOT, databaseUrl: url, scale: o.scale as number, progress: ctx.progress, signal: ctx.signal, env: ctx.env });
  });
  ctx.out(result.skipped ? `already seeded at scale ${result.scale ?? o.scale}: nothing to do` : `seeded: ${JSON.stringify(result)}`);
  return 0;
};

export const migrate: CommandHandler = async (_input, ctx) => {
  await withPostgres(ctx, (url) => {
    ctx.progress.enter('migrate', 'applying the schema');
    return runSeed({ root: PROJECT_ROOT, databaseUrl: url, migrateOnly: true, progress: ctx.progress, signal: ctx.signal, env: ctx.env });
  });
  ctx.out('schema applied');
  return 0;
};
