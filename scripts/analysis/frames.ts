/**
 * Who a folded frame ("name (file:line)") belongs to: a package (node_modules/<package>), the app itself, or
 * looplens' own measuring (the probes, OpenTelemetry and the module hooks it patches through) — null for Node's own
 * and native frames. A sample is charged to the owner of its innermost frame that has one: Node's internals charge
 * their caller.
 */
export type FrameOwnerKind = 'package' | 'app' | 'probes';

export interface FrameOwner {
  kind: FrameOwnerKind;
  /** The package name, or "function (file)" for the app, or "looplens probes". */
  name: string;
}

/** looplens' own measuring, never the app's. */
const MEASURING = /^(@opentelemetry\/|@fastify\/otel$|import-in-the-middle$|require-in-the-middle$|shimmer$)/;
const FRAME = /^(.*) \((.*?)(?::(\d+))?\)$/;
const PACKAGE = /(?:^|[\\/])node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/;
/** The probes as they run: looplens' dist/probes (from a checkout, or node_modules/looplens). */
const PROBES = /(^|[\\/])dist[\\/]probes[\\/]/;

export function frameOwner(frame: string): FrameOwner | null {
  const m = FRAME.exec(frame);
  if (!m) return null;
  const fn = m[1]!;
  const file = m[2]!;
  if (!file || file.startsWith('node:') || file.startsWith('internal/')) return null;
  const pkg = PACKAGE.exec(file);
  if (pkg) {
    const name = pkg[1]!.replace(/\\/g, '/');
    if (name === 'looplens' && PROBES.test(file)) return { kind: 'probes', name: 'looplens probes' };
    return MEASURING.test(name) ? { kind: 'probes', name } : { kind: 'package', name };
  }
  if (PROBES.test(file)) return { kind: 'probes', name: 'looplens probes' };
  return { kind: 'app', name: `${fn || '(anonymous)'} (${file})` };
}

/** The owner of a folded stack's sample: its innermost frame's that has one; null when only Node's own ran. */
export function stackOwner(stack: string): FrameOwner | null {
  const frames = stack.split(';');
  for (let i = frames.length - 1; i >= 0; i--) {
    const owner = frameOwner(frames[i]!);
    if (owner) return owner;
  }
  return null;
}

/** Whether a sample was looplens measuring (left out of the app's CPU figures). */
export function isMeasuring(stack: string): boolean {
  return stackOwner(stack)?.kind === 'probes';
}
