/** The external-services stand-in (target-app/upstream) as a child process on a free port. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LooplensError } from '../errors.js';
import { freePort, killApp, startApp, waitForPort, type AppProcess } from '../profile/process.js';

export async function startUpstream(root: string, logFile: string, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<{ url: string; app: AppProcess }> {
  const main = join(root, 'dist/target-app/upstream/main.js');
  if (!existsSync(main)) throw new LooplensError('BUILD_MISSING', `the external-services stand-in is not built (${main})`, 'run `npm run build`');
  const port = await freePort();
  const app = startApp([process.execPath, main], { env: { ...env, PORT: String(port), HOST: '127.0.0.1' }, cwd: root, logFile });
  try {
    await waitForPort(app, port, 15_000, signal);
  } catch (err) {
    await killApp(app);
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, app };
}
