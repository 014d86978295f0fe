/**
 * Source maps that exist only in this process: a loader that compiles TypeScript in memory (tsx) hands Node the map
 * with the code, and the positions V8's CPU profile gives for such a script are positions in that compiled code —
 * which no file on disk describes. At exit, for every app script of the profile (not Node's, not a dependency's, not
 * the probes'), the map Node keeps (`module.findSourceMap`: only when source maps are enabled, as tsx and
 * --enable-source-maps do) is written to sourcemaps.json, without `sourcesContent`; looplens maps the frames with it
 * after the app stopped (scripts/analysis/sourcemaps.ts). Without in-memory maps nothing is written.
 */
import { findSourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { RawSourceMap, SourceMapsFile } from '../profiles/contract/types.js';
import { writeRunJson } from '../profiles/contract/write.js';

function mapOf(url: string): RawSourceMap | null {
  for (const key of url.startsWith('file://') ? [url, fileURLToPath(url)] : [url]) {
    try {
      const map = findSourceMap(key);
      if (map?.payload) {
        const { sourcesContent: _, ...rest } = map.payload as RawSourceMap & { sourcesContent?: unknown };
        return rest;
      }
    } catch {
      // not a path Node knows
    }
  }
  return null;
}

export function writeLoaderSourceMaps(out: string, profile: { nodes: readonly { callFrame: { url: string } }[] }, excludeUrlPrefixes: readonly string[]): void {
  if (!process.sourceMapsEnabled) return;
  const maps: Record<string, RawSourceMap> = {};
  for (const url of new Set(profile.nodes.map((n) => n.callFrame.url))) {
    if (!url || url.startsWith('node:') || url.includes('/node_modules/') || excludeUrlPrefixes.some((p) => url.startsWith(p))) continue;
    const map = mapOf(url);
    if (map) maps[url] = map;
  }
  if (Object.keys(maps).length > 0) writeRunJson(out, 'sourceMaps', { maps } satisfies SourceMapsFile);
}
