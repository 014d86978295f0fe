/**
 * Work the client need not wait for — outgoing calls the response waited for although nothing in the response
 * depends on them (a notification, a search-index update, a webhook, an analytics event).
 *
 * Spans do not show whether a call's answer was used, so the rule uses a documented heuristic. A call counts as
 * deferrable when all of these hold:
 *   1. the response waited for it (it ended before the server span ended — calls already moved after the response,
 *      e.g. fired after `reply.send()`, end later and are never flagged);
 *   2. no database query starts after it ended within the request (its answer fed no further work);
 *   3. it changes something elsewhere rather than reading (method is not GET/HEAD/OPTIONS);
 *   4. it looks like a side effect: the service answered 202 Accepted or 204 No Content, or its host or path names a
 *      fire-and-forget kind of service (notify, notification, index, webhook, event, analytics, track, audit, mail,
 *      push, sms, publish, queue, log, metric).
 *
 * Saving per request: from the first deferrable call to the last, the time no needed call or query was running (the
 * deferrable calls and the idle gaps between them; overlap with needed work is not counted) — what answering first
 * and doing them afterwards (or on a queue) takes off the response. Waiting behind other requests' blocks is not the
 * calls' time: each stretch counts less that waiting, and at least the longest deferrable call's own time (the
 * evidence's victim correction).
 */
import type { Finding } from '../../../profiles/contract/index.js';
import type { EvidenceRequest } from '../../analysis/evidence.js';
import type { HttpCall, RequestTrace } from '../../analysis/requests.js';
import { routesOf, covered, except, findingKey, interval, median, medianExample, pct, round, routeVerdict, waitedIn, waitingEvidence, type Interval, type Rule } from '../rule.js';
import { waitedCalls } from './serial-external-calls.js';

export const MIN_REQUEST_SHARE = 0.5;
export const MIN_SAVING_MS = 1;
export const SIDE_EFFECT_NAMES =
  /notif|notify|index|webhook|hook|event|analytic|track|audit|mail|push|sms|publish|queue|(^|[/.-])logs?([/.-]|$)|metric|broadcast|fanout|enqueue/i;
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isDeferrable(call: HttpCall, request: RequestTrace): boolean {
  if (READ_METHODS.has(call.method)) return false;
  if (request.queries.some((q) => q.span.startMs >= call.span.endMs)) return false;
  return call.status === 202 || call.status === 204 || SIDE_EFFECT_NAMES.test(call.endpoint);
}

interface Hit {
  request: EvidenceRequest;
  deferrable: HttpCall[];
  savingMs: number;
  rawSavingMs: number;
}

export const unawaitedWork: Rule = {
  kind: 'unawaited-work-on-critical-path',
  describe: 'side-effect calls (notify, index…) the response waits for although it does not need their answer',
  detect({ measured }): Finding[] {
    const findings: Finding[] = [];
    for (const [route, list] of routesOf(measured)) {
      const hits: Hit[] = [];
      for (const request of list) {
        const waited = waitedCalls(request);
        const deferrable = waited.filter((c) => isDeferrable(c, request));
        if (deferrable.length === 0) continue;
        const others = [...waited.filter((c) => !deferrable.includes(c)).map((c) => interval(c.span)), ...request.queries.map((q) => interval(q.span))];
        // From the first deferrable call to the last, what no needed call or query covers: the calls and the idle
        // gaps between them (taking in one answer, starting the next).
        const window: Interval = [Math.min(...deferrable.map((c) => c.span.startMs)), Math.max(...deferrable.map((c) => c.span.endMs))];
        const stretches = except([window], others);
        const rawSavingMs = covered(stretches);
        const own = stretches.reduce((a, [s, e]) => a + Math.max(0, e - s - waitedIn(request, s, e)), 0);
        const savingMs = Math.min(rawSavingMs, Math.max(own, Math.max(...deferrable.map((c) => c.ownMs))));
        hits.push({ request, deferrable, savingMs, rawSavingMs });
      }
      const { share, saving, fires } = routeVerdict(hits, list.length, MIN_REQUEST_SHARE, MIN_SAVING_MS);
      if (!fires) continue;
      const names = [...new Set(hits.flatMap((h) => h.deferrable.map((c) => `${c.method} ${c.endpoint}`)))].sort();
      const example = medianExample(hits, (h) => h.savingMs)!;
      findings.push({
        kind: 'unawaited-work-on-critical-path',
        key: findingKey('unawaited-work-on-critical-path', route, names.join(' ')),
        route,
        title: `${route} makes the client wait ${round(median(hits.map((h) => h.savingMs)))} ms for ${names.length === 1 ? 'a call' : 'calls'} it does not need (${names.map((n) => n.replace(/^\S+ [^/]*/, '')).join(', ')})`,
        evidence: {
          calls: names.map((name) => ({
            call: name,
            medianMs: round(median(hits.flatMap((h) => h.deferrable.filter((c) => `${c.method} ${c.endpoint}` === name).map((c) => c.ownMs)))),
            status: hits.flatMap((h) => h.deferrable.filter((c) => `${c.method} ${c.endpoint}` === name)).find((c) => c.status !== null)?.status ?? null,
          })),
          requestsAffected: hits.length,
          tracedRequests: list.length,
          shareOfRequests: pct(share),
          heuristic: 'a non-GET call the response waited for, with no query after it, answered 202/204 or named like a side effect (notify, index, webhook, event…)',
          ...waitingEvidence(hits.reduce((a, h) => a + h.rawSavingMs, 0) / list.length, saving, hits.map((h) => h.request)),
          estimate: 'per request: from the first of these calls to the last, the time no needed call or query was running, averaged over the route\'s requests',
        },
        savingMsPerRequest: round(saving),
        fix: 'Send the response first and run these calls afterwards (after `reply.send()`, or on a job queue), catching and logging their errors.',
        traceId: example.request.traceId,
      });
    }
    return findings;
  },
};
