/**
 * How to start one of target-app's worker threads. Compiled code (dist/, what the lab runs) starts the sibling .js
 * file. Source code run by vitest or tsx starts the sibling .ts file through tsx's loader (a worker does not
 * inherit the parent's loader), so tests exercise the very same workers.
 */
export function workerFile(fromUrl: string, name: string): { filename: string | URL; eval: boolean } {
  if (!fromUrl.endsWith('.ts')) return { filename: new URL(`./${name}.js`, fromUrl), eval: false };
  const target = JSON.stringify(new URL(`./${name}.ts`, fromUrl).href);
  return { filename: `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${target}); });`, eval: true };
}
