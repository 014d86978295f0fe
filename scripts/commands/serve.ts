/** `looplens serve`: (re)writes the report, then serves the profiles folder on 127.0.0.1 until Ctrl-C. */
import { join, relative, resolve } from 'node:path';
import { LooplensError } from '../errors.js';
import { checkOutFolder } from '../out-path.js';
import type { CommandSpec } from '../flags.js';
import type { CommandContext, CommandInput } from './index.js';

export const SERVE_SPEC = {
  name: 'serve',
  summary: 'write the report and serve the profiles folder on 127.0.0.1 (Ctrl-C to stop)',
  usage: 'serve [--port n] [--dir profiles]',
  flags: [
    { name: 'port', type: 'number', min: 0, integer: true, valueName: 'n', description: 'port on 127.0.0.1 (default: a free port)' },
    { name: 'dir', type: 'string', valueName: 'dir', description: 'folder to report on and serve (default profiles)' },
    { name: 'no-report', type: 'boolean', description: 'serve what is there without rewriting the report' },
  ],
  notes: ['Loopback only; serves files under the folder and nothing else.'],
  examples: ['looplens serve', 'looplens serve --port 8080'],
} as const satisfies CommandSpec;

export async function run({ options }: CommandInput, ctx: CommandContext): Promise<number> {
  const { writeReport } = await import('../../dashboards/report/write.js');
  const { serveReport } = await import('../../dashboards/report/serve.js');
  const given = (options.dir as string | undefined) ?? 'profiles';
  const dir = resolve(ctx.cwd, given);
  // the report is written into it: the same bounded check as every --out
  if (options['no-report'] !== true) checkOutFolder(given, { cwd: ctx.cwd, flag: '--dir' });
  if (options['no-report'] !== true) {
    ctx.progress.enter('report', relative(ctx.cwd, dir) || dir);
    const result = writeReport({ profilesDir: dir, out: join(dir, 'index.html'), cwd: ctx.cwd });
    for (const w of result.warnings) ctx.progress.log(`looplens serve: skipped ${w}`);
  }
  let server;
  try {
    server = await serveReport({ root: dir, port: (options.port as number | undefined) ?? 0 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') throw new LooplensError('PORT_IN_USE', `port ${options.port} is in use`, 'pass another --port, or omit it to get a free port');
    if (/is not a folder/.test(e.message)) throw new LooplensError('NOT_A_RUN_FOLDER', e.message, 'run looplens profile or looplens lab first, or pass --dir');
    throw err;
  }
  ctx.out(`serving ${relative(ctx.cwd, dir) || dir} at ${server.url} (Ctrl-C to stop)`);
  await new Promise<void>((done) => {
    if (ctx.signal.aborted) return done();
    ctx.signal.addEventListener('abort', () => done(), { once: true });
  });
  await server.close();
  return 0;
}
