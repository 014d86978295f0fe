/**
 * Writers for the run folder. Dependency-free on purpose: the probes load this inside the user's app.
 * Writes are atomic (temp file + rename) so a reader never sees half a JSON file, even after Ctrl-C.
 */
import { appendFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROUTE_FLAMEGRAPHS, RUN_FILES, type RouteFlamegraph, type RunFileKey } from './types.js';

export function runFilePath(dir: string, key: RunFileKey): string {
  return join(dir, RUN_FILES[key]);
}

/** Synchronous so it can run inside process 'exit' handlers. */
export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, path);
}

export function writeTextAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** flamegraphs/: one HTML flamegraph a route and routes.json listing them; what an earlier write left is removed. */
export function writeRouteFlamegraphs(dir: string, routes: readonly (Omit<RouteFlamegraph, 'file'> & { html: string })[]): void {
  const folder = join(dir, ROUTE_FLAMEGRAPHS.dir);
  rmSync(folder, { recursive: true, force: true });
  if (routes.length === 0) return;
  mkdirSync(folder, { recursive: true });
  const index: RouteFlamegraph[] = routes.map(({ html, ...r }, i) => {
    const file = `${i + 1}-${r.route.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'route'}.html`;
    writeTextAtomic(join(folder, file), html);
    return { ...r, file };
  });
  writeJsonAtomic(join(folder, ROUTE_FLAMEGRAPHS.index), index);
}

/** profile.pprof: the gzipped pprof bytes (scripts/analysis/pprof.ts builds them). */
export function writePprof(dir: string, bytes: Uint8Array): void {
  const path = runFilePath(dir, 'pprof');
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

export function writeRunJson(dir: string, key: RunFileKey, value: unknown): void {
  mkdirSync(dir, { recursive: true });
  writeJsonAtomic(runFilePath(dir, key), value);
}

/** One JSON value per line; a line is small enough that append is effectively atomic. */
export function appendJsonLine(path: string, value: unknown): void {
  appendFileSync(path, JSON.stringify(value) + '\n');
}
