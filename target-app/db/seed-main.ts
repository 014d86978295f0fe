/**
 * `node dist/target-app/db/seed-main.js [--scale N] [--migrate-only] [--reset] [--force]`
 *
 * Migrates DATABASE_URL (creating the database if missing) and seeds it, skipping the seed when the marker table
 * says it is already seeded at that scale. Progress lines go to stderr; the last stdout line is one JSON object:
 * {"scale":N,"users":…,"posts":…,"follows":…,"likes":…,"notifications":…,"skipped":bool,"ms":…}.
 * --reset removes what the app wrote since seeding (posts, likes, notifications) instead of seeding.
 * Exit codes: 0 done, 1 failed (one line on stderr), 2 bad arguments.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_DATABASE_URL, DatabaseUnavailableError } from './connection.js';
import { migrate } from './schema.js';
import { DEFAULT_SCALE, reset, seed } from './seed.js';

function fail(code: number, message: string): never {
  process.stderr.write(`seed: ${message}\n`);
  process.exit(code);
}

let args;
try {
  args = parseArgs({
    options: {
      scale: { type: 'string' },
      'migrate-only': { type: 'boolean', default: false },
      reset: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
    },
    strict: true,
  }).values;
} catch (err) {
  fail(2, `${(err as Error).message} (usage: seed-main.js [--scale N] [--migrate-only] [--reset] [--force])`);
}

const scale = args.scale === undefined ? DEFAULT_SCALE : Number(args.scale);
if (!Number.isInteger(scale) || scale < 10) fail(2, `--scale must be a whole number of users ≥ 10, got "${args.scale}"`);
const databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
const started = performance.now();

try {
  await migrate(databaseUrl, (line) => process.stderr.write(line + '\n'));
  if (args['migrate-only']) {
    process.stderr.write('seed: schema applied\n');
    process.stdout.write(JSON.stringify({ migrated: true, ms: Math.round(performance.now() - started) }) + '\n');
  } else if (args.reset) {
    await reset(databaseUrl);
    process.stderr.write('seed: removed what the app wrote since seeding\n');
    process.stdout.write(JSON.stringify({ reset: true, ms: Math.round(performance.now() - started) }) + '\n');
  } else {
    const result = await seed({ databaseUrl, scale, force: args.force, onProgress: (line) => process.stderr.write(line + '\n') });
    process.stdout.write(JSON.stringify(result) + '\n');
  }
} catch (err) {
  if (err instanceof DatabaseUnavailableError || err instanceof RangeError) fail(1, err.message);
  const e = err as { message?: string; code?: string };
  fail(1, `failed: ${(e.message ?? String(err)).split('\n')[0]}${e.code ? ` (${e.code})` : ''}`);
}
