/**
 * CPU hotspot — one library, or one function of the app, takes a large share of the CPU the app spends, on every
 * request, without ever blocking the loop long enough to be a blocking call: bluebird's long stack traces, a
 * validation library compiling its schema per request, a logger formatting every line.
 *
 * From the CPU samples of the measured window (the evidence's `cpu`): each sample is charged to its owner — walking from the innermost frame
 * out, the first frame of a package (`node_modules/<package>`, named by the package) or of the app itself (named by
 * its function and file); Node's own and native frames charge their caller. Left out, as looplens' own measuring:
 * the probes and OpenTelemetry (`@opentelemetry/*`, import-in-the-middle, require-in-the-middle, shimmer). Left out as
 * the request's plumbing, which every request runs by design: the HTTP frameworks and the database and cache
 * drivers (a slow use of a driver is the query rules' business). An owner with at least MIN_SHARE of the remaining
 * samples and MIN_MS_PER_REQUEST of CPU per request of the window is a hotspot — unless it is a function that blocked
 * the loop (the blocking-call rule names those).
 *
 * CPU per request: the owner's samples × ms per sample ÷ the window's requests the profiled process served. Saving
 * per request: that CPU time (what making the work cheap or removing it gives back to every request the loop
 * serves). Not per route: which request ran a sample is not recorded, so the finding has no route.
 */
import type { Finding } from '../../../profiles/contract/index.js';
import { findingKey, pct, round, type Rule } from '../rule.js';

export const MIN_SHARE = 0.15;
export const MIN_MS_PER_REQUEST = 0.5;

/** looplens' own measuring, never the app's. */
const MEASURING = /^(@opentelemetry\/|@fastify\/otel$|import-in-the-middle$|require-in-the-middle$|shimmer$)/;
/** The request's plumbing: frameworks and drivers every request runs through by design. */
const PLUMBING =
  /^(fastify|@fastify\/.+|express|router|body-parser|koa|@koa\/.+|koa-.+|@nestjs\/.+|@hapi\/.+|restify|find-my-way|light-my-request|pino|pg|pg-.+|ioredis|redis|@redis\/.+|mysql2|knex|sequelize|typeorm|@prisma\/.+|mongodb|undici|node-fetch)$/;

const FRAME = /^(.*) \((.*?)(?::(\d+))?\)$/;

/** The owner of one frame: a package, an app function, or null (Node's own, native). */
export function frameOwner(frame: string): { kind: 'package' | 'app' | 'probes'; name: string } | null {
  const m = FRAME.exec(frame);
  if (!m) return null;
  const [, fn, file] = m as unknown as [string, string, string];
  if (!file || file.startsWith('node:') || file.startsWith('internal/')) return null;
  const pkg = /(?:^|[\\/])node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(file);
  if (pkg) {
    const name = pkg[1]!.replace(/\\/g, '/');
    return MEASURING.test(name) ? { kind: 'probes', name } : { kind: 'package', name };
  }
  if (/(^|[\\/])(dist[\\/])?probes[\\/]/.test(file)) return { kind: 'probes', name: 'looplens probes' };
  return { kind: 'app', name: `${fn || '(anonymous)'} (${file})` };
}

export const cpuHotspot: Rule = {
  kind: 'cpu-hotspot',
  describe: 'one library or app function taking a large share of the CPU on every request, without blocking',
  detect({ cpu, measured }): Finding[] {
    if (!cpu || cpu.msPerSample === null || cpu.samples === 0 || cpu.requests === 0) return [];
    // a function that blocked the loop is the blocking-call rule's finding, not a hotspot as well
    const blockers = new Set(measured.blocks.map((b) => b.topFrame.replace(/:\d+(:\d+)?\)$/, ')')));
    const owners = new Map<string, { kind: 'package' | 'app'; samples: number }>();
    let counted = 0;
    for (const [stack, n] of cpu.stacks) {
      const frames = stack.split(';');
      let owner: ReturnType<typeof frameOwner> = null;
      for (let i = frames.length - 1; i >= 0 && !owner; i--) owner = frameOwner(frames[i]!);
      if (owner?.kind === 'probes') continue;
      counted += n;
      if (!owner || (owner.kind === 'package' && PLUMBING.test(owner.name)) || blockers.has(owner.name)) continue;
      const entry = owners.get(owner.name) ?? { kind: owner.kind, samples: 0 };
      entry.samples += n;
      owners.set(owner.name, entry);
    }
    const findings: Finding[] = [];
    for (const [name, { kind, samples }] of owners) {
      const share = samples / Math.max(1, counted);
      const msPerRequest = (samples * cpu.msPerSample) / cpu.requests;
      if (share < MIN_SHARE || msPerRequest < MIN_MS_PER_REQUEST) continue;
      findings.push({
        kind: 'cpu-hotspot',
        key: findingKey('cpu-hotspot', null, kind === 'package' ? name : name.replace(/:\d+\)$/, ')')),
        route: null,
        title: `${kind === 'package' ? `the ${name} package` : name} takes ${pct(share)} % of the app's CPU, ${round(msPerRequest)} ms per request`,
        evidence: {
          owner: name,
          ownerKind: kind,
          samples,
          shareOfCpu: pct(share),
          msPerSample: round(cpu.msPerSample),
          cpuMsPerRequest: round(msPerRequest),
          requests: cpu.requests,
          estimate: `CPU samples whose innermost package or app frame is ${name} (${samples} of ${counted}, looplens' own measuring left out) × ${round(cpu.msPerSample)} ms ÷ the ${cpu.requests} requests the profiled process served; samples of ${cpu.scope === 'window' ? 'the measured window' : 'the whole run, start-up and warm-up included (the profile has no clock of the probes)'}`,
        },
        savingMsPerRequest: round(msPerRequest),
        fix:
          kind === 'package'
            ? `Look at what ${name} does on every request in the flamegraph (search "${name}"): a debug or development setting left on (e.g. bluebird's long stack traces), work that could be done once and cached, or a cheaper library.`
            : 'Make this function cheaper on the request path: cache its result, do the work once at start-up, or move it off the loop (a worker thread).',
      });
    }
    return findings;
  },
};
