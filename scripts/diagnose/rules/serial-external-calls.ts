/**
 * Serial external calls — within one request, outgoing HTTP calls the response waited for that ran one after another.
 *
 * Calls are grouped into waves (calls whose times overlap ran concurrently and form one wave); two or more waves in
 * a row are serial. Spans cannot show data flow, so the rule assumes the calls are independent — the finding says so —
 * and a chain where one call needs the previous one's answer (a token, an id) is a false positive to dismiss.
 *
 * Saving per request: sum of the wave durations minus the longest — what starting them together (Promise.all) would
 * save — plus the idle gaps between the waves (taking in one answer and starting the next call, which a concurrent
 * version overlaps with the calls in flight). Database work between the waves stays on the path and is not counted.
 * Averaged over all requests of the route. Waiting behind other requests' blocks is not the calls' time: a wave
 * counts its calls' own time (the evidence's victim correction), a gap its time less that waiting.
 */
import type { Finding } from '../../../profiles/contract/index.js';
import type { EvidenceRequest } from '../../analysis/evidence.js';
import type { HttpCall, RequestTrace } from '../../analysis/requests.js';
import { routesOf, covered, except, findingKey, groupBy, interval, median, medianExample, pct, round, routeVerdict, sum, waitedIn, waitingEvidence, type Interval, type Rule } from '../rule.js';

export const MIN_REQUEST_SHARE = 0.5;
export const MIN_SAVING_MS = 1;
/** Calls ending this close to the response (ms) still count as waited for (span end timestamps are not exact). */
export const WAITED_TOLERANCE_MS = 0.5;

/** Calls the response waited for: they ended before the server span did. */
export function waitedCalls(request: RequestTrace): HttpCall[] {
  return request.calls.filter((c) => c.span.endMs <= request.endMs + WAITED_TOLERANCE_MS);
}

/**
 * How far a call's start may lie before the previous call's end and still count as after it: OpenTelemetry JS stamps
 * a span's start from Date.now() (whole milliseconds) and its end to the microsecond, so a call started the moment
 * the previous one ended can look up to 1 ms earlier.
 */
export const START_RESOLUTION_MS = 1;

/** Overlapping calls merged into waves, in time order. */
export function waves(calls: HttpCall[]): HttpCall[][] {
  const sorted = [...calls].sort((a, b) => a.span.startMs - b.span.startMs);
  const out: { end: number; calls: HttpCall[] }[] = [];
  for (const c of sorted) {
    const last = out[out.length - 1];
    if (last && c.span.startMs < last.end - START_RESOLUTION_MS) {
      last.calls.push(c);
      last.end = Math.max(last.end, c.span.endMs);
    } else out.push({ end: c.span.endMs, calls: [c] });
  }
  return out.map((w) => w.calls);
}

const waveStart = (w: HttpCall[]): number => Math.min(...w.map((c) => c.span.startMs));
const waveEnd = (w: HttpCall[]): number => Math.max(...w.map((c) => c.span.endMs));
const waveMs = (w: HttpCall[]): number => waveEnd(w) - waveStart(w);

/** A wave's own time: its stretch less the waiting behind others' blocks, and at least its longest call's own time. */
function ownWaveMs(request: EvidenceRequest, w: HttpCall[]): number {
  return Math.max(Math.max(...w.map((c) => c.ownMs)), waveMs(w) - waitedIn(request, waveStart(w), waveEnd(w)));
}

/** Idle stretches between the waves: from the first call to the last, what no call and no query covers. */
function gapIntervals(request: RequestTrace, w: HttpCall[][]): Interval[] {
  const calls = w.flat();
  const start = Math.min(...calls.map((c) => c.span.startMs));
  const end = Math.max(...calls.map((c) => c.span.endMs));
  const busy: Interval[] = [...calls.map((c) => interval(c.span)), ...request.queries.map((q) => interval(q.span))];
  return except([[start, end]], busy);
}

/** Idle time between the waves. */
export function gapsMs(request: RequestTrace, w: HttpCall[][]): number {
  return covered(gapIntervals(request, w));
}

interface Hit {
  request: EvidenceRequest;
  waves: HttpCall[][];
  gapsMs: number;
  savingMs: number;
  rawSavingMs: number;
  sequence: string;
}

export const serialExternalCalls: Rule = {
  kind: 'serial-external-calls',
  describe: 'outgoing HTTP calls awaited one after another within one request',
  detect({ measured }): Finding[] {
    const findings: Finding[] = [];
    for (const [route, list] of routesOf(measured)) {
      const hits: Hit[] = [];
      for (const request of list) {
        const w = waves(waitedCalls(request));
        if (w.length < 2) continue;
        const raw = w.map(waveMs);
        const own = w.map((wave) => ownWaveMs(request, wave));
        const gaps = gapIntervals(request, w);
        const rawGaps = covered(gaps);
        const ownGaps = gaps.reduce((a, [s, e]) => a + Math.max(0, e - s - waitedIn(request, s, e)), 0);
        hits.push({
          request,
          waves: w,
          gapsMs: ownGaps,
          savingMs: sum(own) - Math.max(...own) + ownGaps,
          rawSavingMs: sum(raw) - Math.max(...raw) + rawGaps,
          sequence: w.map((wave) => wave.map((c) => `${c.method} ${c.endpoint}`).join(' + ')).join(' → '),
        });
      }
      const { share, saving, fires } = routeVerdict(hits, list.length, MIN_REQUEST_SHARE, MIN_SAVING_MS);
      if (!fires) continue;
      // The most common sequence names the finding; its calls' median durations are the evidence.
      const [sequence, typical] = [...groupBy(hits, (h) => h.sequence)].sort((a, b) => b[1].length - a[1].length)[0]!;
      const example = medianExample(typical, (h) => h.savingMs)!;
      const calls = example.waves.flat().map((c, i) => ({
        call: `${c.method} ${c.endpoint}`,
        medianMs: round(median(typical.map((h) => h.waves.flat()[i]!.ownMs))),
      }));
      const sumMs = median(typical.map((h) => sum(h.waves.map((wave) => ownWaveMs(h.request, wave)))));
      const maxMs = median(typical.map((h) => Math.max(...h.waves.map((wave) => ownWaveMs(h.request, wave)))));
      const rawSaving = sum(hits.map((h) => h.rawSavingMs)) / list.length;
      findings.push({
        kind: 'serial-external-calls',
        key: findingKey('serial-external-calls', route, sequence),
        route,
        title: `${route} awaits ${example.waves.length} external calls one after another (${round(sumMs)} ms; concurrently ≈ ${round(maxMs)} ms)`,
        evidence: {
          calls,
          sequence,
          serialMs: round(sumMs),
          longestMs: round(maxMs),
          gapsMs: round(median(typical.map((h) => h.gapsMs))),
          requestsAffected: hits.length,
          tracedRequests: list.length,
          shareOfRequests: pct(share),
          assumption: 'the calls do not use each other\'s responses (spans cannot show data flow)',
          ...waitingEvidence(rawSaving, saving, hits.map((h) => h.request)),
          estimate: 'per request: sum of the serial calls\' own durations minus the longest (sum − max), plus the idle gaps between them, averaged over the route\'s requests; time the calls spent waiting behind other requests\' blocks is not counted',
        },
        savingMsPerRequest: round(saving),
        fix: 'Start the independent calls together and await them with Promise.all (or Promise.allSettled), so the request waits for the slowest call only.',
        traceId: example.request.traceId,
      });
    }
    return findings;
  },
};
