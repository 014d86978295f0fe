/**
 * What a flamegraph frame is, from its name alone — raw folded frames ("handler (dist/app.js:12)",
 * "emit (node:events:517)") and compare's normalised ones ("handler (dist/app.js)") alike:
 * - `app`: has a file that is not Node's, not a dependency's and not looplens's probes';
 * - `dep`: a file under node_modules/ (looplens's probes included: they wrap the app, they are not it);
 * - `node`: Node's own code (node:…, internal/…) and natives without a file (runMicrotasks, …);
 * - `special`: V8's pseudo-frames, "(garbage collector)", "(program)", "(idle)" — kept by every filter.
 */
export type FrameKind = 'app' | 'dep' | 'node' | 'special';

/** looplens's probes as the reference app's frames name them (dist/probes/…), or as a dependency. */
const PROBE_LOCATION = /^(?:dist\/)?probes\/|node_modules\/looplens\//;

/** The file of a frame, without line and column ("dist/app.js"), or undefined when it has none. */
export function frameLocation(name: string): string | undefined {
  const m = /^.+ \(([^()]*)\)$/.exec(name);
  if (!m) return undefined;
  return m[1].replace(/^file:\/\//, '').replace(/(?::\d+){1,2}$/, '');
}

export function frameKind(name: string): FrameKind {
  const loc = frameLocation(name);
  if (loc === undefined || loc === '') return name.startsWith('(') ? 'special' : 'node';
  if (loc.startsWith('node:') || loc.startsWith('internal/')) return 'node';
  if (loc.includes('node_modules/') || PROBE_LOCATION.test(loc)) return 'dep';
  return 'app';
}
