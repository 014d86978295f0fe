/**
 * NODE_OPTIONS for running an app under the probes: the app's own NODE_OPTIONS are kept and the preload is
 * appended (never replaced). For launchers (the looplens CLI, tests, benchmarks); the probes never set it themselves.
 */
import { dirname, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** dist/probes/: this module's folder once compiled, or found from the source folder (tests run TypeScript). */
const self = dirname(fileURLToPath(import.meta.url));
const here = self.includes(`${sep}dist${sep}`) ? self : join(self, '..', 'dist', 'probes');

export const PROBE_ENTRIES = {
  /** ESM entry for --import (registers the OpenTelemetry loader hook). */
  esm: join(here, 'register.js'),
  /** CommonJS entry for --require (e.g. under clinic doctor). */
  cjs: join(here, 'preload.cjs'),
} as const;

function quote(value: string): string {
  return /[\s"\\]/.test(value) ? `"${value.replace(/(["\\])/g, '\\$1')}"` : value;
}

/** The flag that preloads the probes, as NODE_OPTIONS or argv wants it. */
export function probeFlag(kind: 'esm' | 'cjs'): string[] {
  return kind === 'esm' ? ['--import', pathToFileURL(PROBE_ENTRIES.esm).href] : ['--require', PROBE_ENTRIES.cjs];
}

/** `existing` plus the preload flag; an existing value is kept as is, in front. */
export function withProbeNodeOptions(existing: string | undefined, kind: 'esm' | 'cjs' = 'esm'): string {
  const [flag, value] = probeFlag(kind);
  const ours = `${flag}=${quote(value)}`;
  const before = existing?.trim();
  if (before && before.includes(ours)) return before;
  return before ? `${before} ${ours}` : ours;
}
