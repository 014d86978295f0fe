/**
 * Who owns the loop while a callback runs. With tracing, the owner is the active span (probes/tracing.ts); without
 * it, a request token taken from Node's and Fastify's diagnostics channels for the synchronous part of a request.
 */
import dc from 'node:diagnostics_channel';
import type { Block, BlockDetector } from './blocking/detector.js';

export interface OwnerIds {
  route: string | null;
  traceId: string | null;
  spanId: string | null;
  /** In a worker thread: the work item (message) that ran. */
  workItem?: string;
}

export interface OwnerModel {
  currentOwner(): object | null;
  rootOf(owner: object): object;
  attach(detector: BlockDetector): void;
  onBlock?(block: RecordedBlock): void;
  /** Owners whose work was seen starting in [from, to] (performance.now() ms), e.g. spans started then. */
  activityIn?(from: number, to: number): object[];
  /** Called at report time (the route of a span is often known only when it ends). */
  describe(owner: object): OwnerIds;
}

/** A block as the probes write it: its id, when it started on the clock span times use, and how it was found. */
export interface RecordedBlock extends Block {
  /** Unique in the run folder: "<pid>:<n>". */
  id: string;
  /** When it started, epoch ms on the wall clock span times use. */
  startEpochMs: number;
  found: 'timed' | 'recovered';
}

export interface ResolvedBlock {
  block: RecordedBlock;
  topFrame: string;
  /** "at fn (url:line:col)" lines, innermost first. */
  stack: string;
}

interface RequestToken {
  route: string;
}

/** No tracing: the request is known only in the callback that received it (its synchronous part). */
export function requestChannelOwners(): OwnerModel {
  let detector: BlockDetector | null = null;
  const onHttp = (message: unknown) => {
    const req = (message as { request?: { method?: string; url?: string } }).request;
    if (detector && req) detector.switchTo({ route: `${req.method} ${(req.url ?? '/').split('?')[0]}` } as RequestToken);
  };
  const onFastify = (message: unknown) => {
    const route = (message as { route?: { method?: string; url?: string } }).route;
    if (detector && route?.url) detector.switchTo({ route: `${route.method} ${route.url}` } as RequestToken);
  };
  return {
    currentOwner: () => null,
    rootOf: (owner) => owner,
    attach(d) {
      detector = d;
      dc.subscribe('http.server.request.start', onHttp);
      dc.subscribe('tracing:fastify.request.handler:start', onFastify);
    },
    describe: (owner) => ({ route: (owner as RequestToken).route ?? null, traceId: null, spanId: null }),
  };
}
