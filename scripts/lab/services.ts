/**
 * The lab's view of scripts/services.ts (owned by target-app): loaded at run time so this package builds and
 * parses flags even before that module exists, and its errors become SERVICE_UNAVAILABLE.
 */
import { LooplensError } from '../errors.js';

export interface Service {
  url: string;
  source: string;
  stop(): Promise<void> | void;
}

interface ServicesModule {
  ensurePostgres(o: { url?: string; log: (m: string) => void }): Promise<Service>;
  ensureRedis(o: { url?: string; log: (m: string) => void }): Promise<Service>;
}

async function services(): Promise<ServicesModule> {
  try {
    return (await import(new URL('../services.js', import.meta.url).href)) as ServicesModule;
  } catch (err) {
    throw new LooplensError('BUILD_MISSING', `scripts/services.js could not be loaded (${(err as Error).message})`, 'run `npm run build` in the looplens folder');
  }
}

export async function ensureService(kind: 'postgres' | 'redis', url: string | undefined, log: (m: string) => void): Promise<Service> {
  const mod = await services();
  try {
    return kind === 'postgres' ? await mod.ensurePostgres({ url, log }) : await mod.ensureRedis({ url, log });
  } catch (err) {
    if (err instanceof LooplensError) throw err;
    const fix = kind === 'postgres' ? 'start PostgreSQL or set DATABASE_URL' : 'start redis-server or set REDIS_URL';
    throw new LooplensError('SERVICE_UNAVAILABLE', (err as Error).message.split('\n')[0], fix, { cause: err });
  }
}
