/**
 * Frames of a compiled app, mapped back to the source a developer edits: a V8 position (script URL, line, column)
 * → the original file, line and column through the app's source map. A script's map is found, once per script, as
 * the code would have Node find it: in the maps the app's loader kept in memory (sourcemaps.json: tsx compiles .ts in
 * memory), else from the script's `//# sourceMappingURL=` comment (a data: URL inline, or a file beside it), else
 * `<script>.map`. tsc, esbuild, swc and tsx outputs all work this way; `@jridgewell/trace-mapping` decodes the maps.
 *
 * Only the app's own scripts are mapped (not Node's, not node_modules/). A script or map on disk that changed after
 * `notAfterMs` (the run's start, for a run read later) is not used: it may describe other code than what ran.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AnyMap, GREATEST_LOWER_BOUND, LEAST_UPPER_BOUND, originalPositionFor, type TraceMap } from '@jridgewell/trace-mapping';
import { hasFile, readSourceMaps } from '../../profiles/contract/read.js';
import type { BlockingEvent, BlockingFile, RawSourceMap, SourcePosition, StackFrame } from '../../profiles/contract/types.js';

/** Scripts larger than this are not read for their source map comment (a map is looked for beside them). */
const MAX_SCRIPT_BYTES = 64 * 1024 * 1024;

export interface SourceMapperOptions {
  /** Maps the app's loader kept in memory, by script URL (sourcemaps.json). */
  inMemory?: Readonly<Record<string, RawSourceMap>>;
  /** Epoch ms: scripts and maps on disk modified after it are not used. */
  notAfterMs?: number;
}

/** A file path for a script URL (file:// URL or absolute path), or null for anything else (node:…, eval, http…). */
export function scriptPath(url: string): string | null {
  if (url.startsWith('file://')) {
    try {
      return fileURLToPath(url);
    } catch {
      return null;
    }
  }
  return isAbsolute(url) ? url : null;
}

/** The last `sourceMappingURL` comment of a script (`//# …` or a `/*# … *\/` block), if any. */
export function sourceMappingUrl(code: string): string | null {
  const re = /(?:\/\/|\/\*)[#@][ \t]*sourceMappingURL=([^\s*]+)[ \t]*(?:\*\/)?[ \t]*$/gm;
  let found: string | null = null;
  for (let m = re.exec(code); m; m = re.exec(code)) found = m[1]!;
  return found;
}

/** A data: URL's JSON (base64 or percent-encoded), or null. */
function dataUrlJson(url: string): unknown {
  const comma = url.indexOf(',');
  if (comma < 0) return null;
  const meta = url.slice(5, comma);
  const data = url.slice(comma + 1);
  try {
    return JSON.parse(/;base64$/i.test(meta) ? Buffer.from(data, 'base64').toString('utf8') : decodeURIComponent(data));
  } catch {
    return null;
  }
}

function isMap(v: unknown): v is RawSourceMap {
  const m = v as { version?: unknown; mappings?: unknown; sources?: unknown; sections?: unknown } | null;
  return !!m && typeof m === 'object' && (Array.isArray(m.sections) || (typeof m.mappings === 'string' && Array.isArray(m.sources)));
}

export class SourceMapper {
  private readonly maps = new Map<string, TraceMap | null>();
  /** TypeScript scripts V8 ran that have no map: compiled in memory (ts-node, a require hook) without Node's maps. */
  private readonly unmappedTs = new Set<string>();
  constructor(private readonly options: SourceMapperOptions = {}) {}

  /** The .ts/.tsx/.mts/.cts scripts a lookup found no map for: their lines are those of code compiled in memory. */
  typeScriptWithoutMaps(): string[] {
    return [...this.unmappedTs];
  }

  /** Whether a file on disk may be used (it exists and did not change after notAfterMs). */
  private usable(path: string): boolean {
    try {
      const st = statSync(path);
      return st.isFile() && (this.options.notAfterMs === undefined || st.mtimeMs <= this.options.notAfterMs);
    } catch {
      return false;
    }
  }

  private readMapFile(path: string): TraceMap | null {
    if (!this.usable(path)) return null;
    try {
      const json: unknown = JSON.parse(readFileSync(path, 'utf8'));
      return isMap(json) ? new AnyMap(json as never, path) : null;
    } catch {
      return null;
    }
  }

  /** The map of a script, found once and kept (null: it has none). */
  private mapOf(url: string): TraceMap | null {
    if (this.maps.has(url)) return this.maps.get(url)!;
    let map: TraceMap | null = null;
    const kept = this.options.inMemory?.[url];
    if (kept && isMap(kept)) {
      try {
        map = new AnyMap(kept as never, url);
      } catch {
        map = null;
      }
    } else {
      const path = scriptPath(url);
      if (path && !path.split(sep).includes('node_modules') && this.usable(path)) map = this.mapOnDisk(path);
    }
    this.maps.set(url, map);
    return map;
  }

  private mapOnDisk(path: string): TraceMap | null {
    let comment: string | null = null;
    try {
      if (statSync(path).size <= MAX_SCRIPT_BYTES) comment = sourceMappingUrl(readFileSync(path, 'utf8'));
    } catch {
      return null;
    }
    if (comment?.startsWith('data:')) {
      const json = dataUrlJson(comment);
      try {
        return isMap(json) ? new AnyMap(json as never, path) : null;
      } catch {
        return null;
      }
    }
    if (comment) {
      const target = comment.startsWith('file://') ? scriptPath(comment) : /^[a-z][a-z0-9+.-]*:/i.test(comment) ? null : resolve(dirname(path), decodeURI(comment));
      return target ? this.readMapFile(target) : null;
    }
    return existsSync(`${path}.map`) ? this.readMapFile(`${path}.map`) : null;
  }

  /**
   * The original position of a V8 position (1-based line and column; column 0 = unknown), or null. V8 places a
   * function at the start of its parameters: the mapping at or before that column on its line names the function's
   * line; one after it when none is before.
   */
  original(url: string, lineNumber: number, columnNumber: number): SourcePosition | null {
    if (!url || lineNumber < 1) return null;
    const map = this.mapOf(url);
    if (!map) {
      const path = scriptPath(url);
      if (path && /\.[cm]?tsx?$/.test(path) && !path.split(sep).includes('node_modules')) this.unmappedTs.add(path);
      return null;
    }
    const needle = { line: lineNumber, column: Math.max(0, columnNumber - 1) };
    let pos = originalPositionFor(map, { ...needle, bias: GREATEST_LOWER_BOUND });
    if (pos.source === null) pos = originalPositionFor(map, { ...needle, bias: LEAST_UPPER_BOUND });
    if (pos.source === null || pos.line === null) return null;
    const source = pos.source.startsWith('file://') ? (scriptPath(pos.source) ?? pos.source) : pos.source;
    return { url: source, lineNumber: pos.line, columnNumber: (pos.column ?? 0) + 1 };
  }

  /** A frame with its original position added (unchanged when it has none, or already has one). */
  frame(f: StackFrame): StackFrame {
    if (f.original) return f;
    const original = this.original(f.url, f.lineNumber, f.columnNumber);
    return original ? { ...f, original } : f;
  }
}

/** A path for display: as `shown` was written — relative to the same folder when it was relative, else absolute. */
function displayLike(shown: string, compiledPath: string, originalPath: string): string {
  if (isAbsolute(shown) || shown.startsWith('file://')) return originalPath;
  const suffix = shown.split('/').join(sep);
  if (!compiledPath.endsWith(sep + suffix)) return originalPath;
  const base = compiledPath.slice(0, compiledPath.length - suffix.length);
  const rel = relative(base, originalPath);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : originalPath;
}

/** "name (file:line)" → its parts, or null. */
function splitTopFrame(top: string): { name: string; file: string; line: number } | null {
  const m = /^(.*) \((.+):(\d+)\)$/.exec(top);
  return m ? { name: m[1]!, file: m[2]!, line: Number(m[3]) } : null;
}

/**
 * A block with its frames mapped, and its topFrame ("name (file:line)", the probes' display of one of its frames)
 * naming the original file and line, the compiled one kept in compiledTopFrame. A block already mapped (it has
 * compiledTopFrame, or frames with an original position) is returned as it is.
 */
export function mapBlockingEvent(e: BlockingEvent, mapper: SourceMapper): BlockingEvent {
  if (e.compiledTopFrame !== undefined || e.frames.some((f) => f.original)) return e;
  const frames = e.frames.map((f) => mapper.frame(f));
  if (frames.every((f, i) => f === e.frames[i])) return e;
  const top = splitTopFrame(e.topFrame);
  const shown = top
    ? frames.find((f) => {
        const path = scriptPath(f.url) ?? f.url;
        const file = top.file.replace(/^file:\/\//, '');
        return f.original && (f.functionName || '(anonymous)') === top.name && f.lineNumber === top.line && (path === file || path.endsWith(sep + file.split('/').join(sep)));
      })
    : undefined;
  if (!top || !shown?.original) return { ...e, frames };
  const compiledPath = scriptPath(shown.url) ?? shown.url;
  const originalFile = displayLike(top.file, compiledPath, shown.original.url);
  return { ...e, topFrame: `${top.name} (${originalFile}:${shown.original.lineNumber})`, compiledTopFrame: e.topFrame, frames };
}

/** Every block of a blocking file mapped (see mapBlockingEvent); the same object when nothing moved. */
export function mapBlocking(file: BlockingFile, mapper: SourceMapper): BlockingFile {
  const events = file.events.map((e) => mapBlockingEvent(e, mapper));
  return events.every((e, i) => e === file.events[i]) ? file : { ...file, events };
}

/** The probe folders of a run: the run folder, and its cluster workers' and child processes' folders. */
function probeDirs(runDir: string): string[] {
  const dirs = [runDir];
  for (const sub of ['workers', 'children']) {
    const d = join(runDir, sub);
    if (existsSync(d)) for (const n of readdirSync(d)) dirs.push(join(d, n));
  }
  return dirs;
}

/**
 * What to tell the user about TypeScript frames that could not be mapped, in one line, or null: their lines are
 * those of the code an in-memory compiler produced.
 */
export function unmappedTypeScriptNote(mapper: SourceMapper, root?: string): string | null {
  const files = mapper.typeScriptWithoutMaps();
  if (files.length === 0) return null;
  const shown = files.slice(0, 3).map((f) => (root && f.startsWith(root) ? f.slice(root.length).replace(/^[\\/]/, '') : f));
  return `${files.length} TypeScript file${files.length === 1 ? '' : 's'} (${shown.join(', ')}${files.length > 3 ? ', …' : ''}) ran compiled in memory without a source map Node kept (ts-node or a require hook), so their frames show lines of the compiled code: run the app with NODE_OPTIONS=--enable-source-maps (tsx needs nothing), or compile it with source maps`;
}

/** A mapper for a run folder: the in-memory maps its probes kept (sourcemaps.json), then the app's files. */
export function runSourceMapper(runDir: string, notAfterMs?: number): SourceMapper {
  const inMemory: Record<string, RawSourceMap> = {};
  for (const dir of probeDirs(runDir)) {
    if (!hasFile(dir, 'sourceMaps')) continue;
    try {
      Object.assign(inMemory, readSourceMaps(dir).maps);
    } catch {
      // an unreadable sourcemaps.json maps nothing; the files on disk still do
    }
  }
  return new SourceMapper({ inMemory, ...(notAfterMs !== undefined ? { notAfterMs } : {}) });
}

/**
 * A run's blocks read later (the evidence): mapped through the app's source maps as they were during the run —
 * scripts and maps changed since its start are not used — unless the runner mapped them already. Without a start
 * time (an older run.json, or none) the blocks stay as they are.
 */
export function withSourcePositions(blocking: BlockingFile | null, runDir: string, info: { startedAt?: string } | null): BlockingFile | null {
  const startedAt = info?.startedAt ? Date.parse(info.startedAt) : NaN;
  if (!blocking || !Number.isFinite(startedAt) || blocking.events.every((e) => e.compiledTopFrame !== undefined || e.frames.length === 0)) return blocking;
  return mapBlocking(blocking, runSourceMapper(runDir, startedAt));
}
