/**
 * CPU hotspot — one library, or one function of the app, takes a large share of the CPU the app spends, on every
 * request, without ever blocking the loop long enough to be a blocking call: bluebird's long stack traces, a
 * validation library compiling its schema per request, a logger formatting every line.
 *
 * From the CPU samples of the evidence (`cpu`, looplens' own measuring already left out): each sample is charged to
 * its owner (scripts/analysis/frames.ts) — walking from the innermost frame out, the first frame of a package
 * (`node_modules/<package>`, named by the package) or of the app itself (named by its function and file); Node's own
 * and native frames charge their caller. Left out as the request's plumbing, which every request runs by design: the
 * HTTP frameworks and the database and cache drivers (a slow use of a driver is the query rules' business). An owner
 * with at least MIN_SHARE of the CPU, MIN_TOTAL_MS of it in all, and MIN_MS_PER_REQUEST of CPU per request is a
 * hotspot — unless it is a function that blocked the loop, or a synchronous call (a `*Sync` API, a synchronous driver or
 * HTTP client: the loop waiting, not working), which the blocking-call rule names.
 *
 * With a span profile (every sample charged to the request that ran it: the probes' default with tracing), per route
 * — the CPU its traced requests of the window ran, routes with MIN_ROUTE_REQUESTS of them. Without one (another
 * profiler, tracing off), over the whole app with no route: the window's CPU ÷ its requests. CPU is the evidence's:
 * each sample weighs the time to the next, capped (scripts/analysis/cpu.ts). Saving per request: that CPU time (what
 * making the work cheap or removing it gives back to every request the loop serves).
 */
import type { Finding } from '../../../profiles/contract/index.js';
import { stackOwner } from '../../analysis/frames.js';
import type { EvidenceBlock } from '../../analysis/evidence.js';
import { findingKey, pct, round, routesOf, type Rule } from '../rule.js';
import { syncKindOfStack } from './blocking-call.js';

export const MIN_SHARE = 0.15;
export const MIN_MS_PER_REQUEST = 0.5;
/** Less CPU than this in all says too little (20 samples at the default 5 ms interval). */
export const MIN_TOTAL_MS = 100;

/** The request's plumbing: frameworks and drivers every request runs through by design. */
const PLUMBING =
  /^(fastify|@fastify\/.+|express|router|body-parser|koa|@koa\/.+|koa-.+|@nestjs\/.+|@hapi\/.+|restify|find-my-way|light-my-request|pino|pg|pg-.+|ioredis|redis|@redis\/.+|mysql2|knex|sequelize|typeorm|@prisma\/.+|mongodb|undici|node-fetch)$/;

interface Hot {
  name: string;
  kind: 'package' | 'app';
  ms: number;
  share: number;
  msPerRequest: number;
}

/** The owners of `stacks` (folded stack → ms) past the thresholds, hottest first; `blocks` name the functions left to the blocking rule. */
export function hotOwners(stacks: Map<string, number>, requests: number, blocks: readonly EvidenceBlock[]): { hot: Hot[]; totalMs: number } {
  const blockers = new Set(blocks.map((b) => b.topFrame.replace(/:\d+(:\d+)?\)$/, ')')));
  const owners = new Map<string, { kind: 'package' | 'app'; ms: number }>();
  let totalMs = 0;
  for (const [stack, ms] of stacks) {
    const owner = stackOwner(stack);
    if (owner?.kind === 'probes') continue;
    totalMs += ms;
    // a synchronous call's samples are the loop waiting, not CPU work: the blocking-call rule's (syncCallsOnLoop)
    if (!owner || (owner.kind === 'package' && PLUMBING.test(owner.name)) || blockers.has(owner.name) || syncKindOfStack(stack)) continue;
    const entry = owners.get(owner.name) ?? { kind: owner.kind, ms: 0 };
    entry.ms += ms;
    owners.set(owner.name, entry);
  }
  const hot: Hot[] = [];
  for (const [name, { kind, ms }] of owners) {
    const share = ms / Math.max(1e-9, totalMs);
    const msPerRequest = ms / Math.max(1, requests);
    if (ms >= MIN_TOTAL_MS && share >= MIN_SHARE && msPerRequest >= MIN_MS_PER_REQUEST) hot.push({ name, kind, ms, share, msPerRequest });
  }
  return { hot: hot.sort((a, b) => b.ms - a.ms), totalMs };
}

function finding(h: Hot, route: string | null, totalMs: number, requests: number, of: string): Finding {
  const who = h.kind === 'package' ? `the ${h.name} package` : h.name;
  return {
    kind: 'cpu-hotspot',
    key: findingKey('cpu-hotspot', route, h.kind === 'package' ? h.name : h.name.replace(/:\d+\)$/, ')')),
    route,
    title: `${who} takes ${pct(h.share)} % of ${route ? "the route's" : "the app's"} CPU, ${round(h.msPerRequest)} ms per request`,
    evidence: {
      owner: h.name,
      ownerKind: h.kind,
      cpuMs: round(h.ms),
      shareOfCpu: pct(h.share),
      cpuMsPerRequest: round(h.msPerRequest),
      requests,
      estimate: `CPU of the samples whose innermost package or app frame is ${h.name} (${round(h.ms)} of ${round(totalMs)} ms, looplens' own measuring left out) ÷ ${requests} requests: ${of}`,
    },
    savingMsPerRequest: round(h.msPerRequest),
    fix:
      h.kind === 'package'
        ? `Look at what ${h.name} does on every request in the flamegraph (search "${h.name}"): a debug or development setting left on (e.g. bluebird's long stack traces), work that could be done once and cached, or a cheaper library.`
        : 'Make this function cheaper on the request path: cache its result, do the work once at start-up, or move it off the loop (a worker thread).',
  };
}

export const cpuHotspot: Rule = {
  kind: 'cpu-hotspot',
  describe: 'one library or app function taking a large share of the CPU on every request, without blocking',
  detect({ cpu, measured }): Finding[] {
    if (!cpu) return [];
    if (cpu.routes) {
      const findings: Finding[] = [];
      for (const [route, requests] of routesOf(measured)) {
        const rc = cpu.routes.get(route);
        if (!rc || rc.ms === 0) continue;
        const { hot, totalMs } = hotOwners(rc.stacks, rc.requests, requests.flatMap((r) => r.blocks));
        for (const h of hot) findings.push(finding(h, route, totalMs, rc.requests, 'the CPU its traced requests of the window ran (span profile)'));
      }
      return findings;
    }
    if (!cpu.stacks || cpu.requests === 0) return [];
    const { hot, totalMs } = hotOwners(cpu.stacks, cpu.requests, measured.blocks);
    const scope = cpu.scope === 'window' ? 'the measured window' : 'the whole run, start-up and warm-up included (the profile has no clock of the probes)';
    return hot.map((h) => finding(h, null, totalMs, cpu.requests, `CPU of ${scope}, no span profile (which request ran a sample is not known)`));
  },
};
