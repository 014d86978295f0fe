/**
 * Serial independent queries — within one request, database reads of different statements awaited one after another
 * that could run together (Promise.all on a pool) or be one query: `await getArticle(); await getAuthor(); await
 * getTags(); …`.
 *
 * The reads of a request are grouped into waves (overlapping queries ran concurrently and form one wave; a read's start
 * up to START_RESOLUTION_MS before the previous one's end is still after it); MIN_WAVES or more waves of reads is the
 * pattern. Left out, because they cannot simply run together: writes (their order matters), queries inside a
 * transaction (between BEGIN and COMMIT/ROLLBACK one connection runs them in turn), and the repeats of one statement
 * that make an N+1 loop (the n-plus-one rule's business: one set-based query, not a Promise.all). Spans cannot show
 * data flow, so the rule assumes the reads do not use each other's results — the finding says so — and a chain where
 * one read needs the previous one's answer (an id) is a false positive to dismiss.
 *
 * Saving per request: the waves' own durations (the evidence's victim correction: waiting behind other requests'
 * blocks taken out) minus the longest — what running them together saves; the work between them stays on the path.
 * Averaged over all requests of the route.
 */
import type { Finding } from '../../../profiles/contract/index.js';
import type { EvidenceRequest } from '../../analysis/evidence.js';
import { isCacheSystem, type DbQuery } from '../../analysis/requests.js';
import { findingKey, groupBy, median, medianExample, pct, round, routeVerdict, routesOf, sum, waitingEvidence, type Rule } from '../rule.js';
import { MIN_REPEATS, shortStatement } from './n-plus-one.js';
import { START_RESOLUTION_MS } from './serial-external-calls.js';

/** Waves of reads from which they are a pattern (two reads in a row are often a check and its read). */
export const MIN_WAVES = 3;
export const MIN_REQUEST_SHARE = 0.5;
/** Less than this per request is not worth changing the code for. */
export const MIN_SAVING_MS = 2;

const TX_BEGIN = /^\s*(begin|start\s+transaction)\b/i;
const TX_END = /^\s*(commit|rollback|end)\b/i;

/** The reads of a request that could run together: not in a transaction, not an N+1 loop's repeats. */
export function independentReads(request: EvidenceRequest): DbQuery[] {
  const queries = request.queries.filter((q) => !isCacheSystem(q.system)).sort((a, b) => a.span.startMs - b.span.startMs);
  const repeated = new Set([...groupBy(queries, (q) => q.shape)].filter(([, qs]) => qs.length >= MIN_REPEATS).map(([shape]) => shape));
  const out: DbQuery[] = [];
  let inTransaction = false;
  for (const q of queries) {
    if (TX_BEGIN.test(q.statement)) inTransaction = true;
    else if (TX_END.test(q.statement)) inTransaction = false;
    else if (!inTransaction && q.read && !repeated.has(q.shape)) out.push(q);
  }
  return out;
}

/** Overlapping reads merged into waves, in time order. */
function waves(reads: DbQuery[]): DbQuery[][] {
  const out: { end: number; reads: DbQuery[] }[] = [];
  for (const q of reads) {
    const last = out[out.length - 1];
    if (last && q.span.startMs < last.end - START_RESOLUTION_MS) {
      last.reads.push(q);
      last.end = Math.max(last.end, q.span.endMs);
    } else out.push({ end: q.span.endMs, reads: [q] });
  }
  return out.map((w) => w.reads);
}

const ownWave = (w: DbQuery[]): number => Math.max(...w.map((q) => q.ownMs));
const rawWave = (w: DbQuery[]): number => Math.max(...w.map((q) => q.span.endMs)) - Math.min(...w.map((q) => q.span.startMs));

interface Hit {
  request: EvidenceRequest;
  waves: DbQuery[][];
  savingMs: number;
  rawSavingMs: number;
}

export const serialQueries: Rule = {
  kind: 'serial-independent-queries',
  readsQueries: true,
  describe: 'database reads of different statements awaited one after another within one request',
  detect({ measured }): Finding[] {
    const findings: Finding[] = [];
    for (const [route, list] of routesOf(measured)) {
      const hits: Hit[] = [];
      for (const request of list) {
        const w = waves(independentReads(request));
        if (w.length < MIN_WAVES) continue;
        const own = w.map(ownWave);
        const raw = w.map(rawWave);
        hits.push({ request, waves: w, savingMs: sum(own) - Math.max(...own), rawSavingMs: sum(raw) - Math.max(...raw) });
      }
      const { share, saving, fires } = routeVerdict(hits, list.length, MIN_REQUEST_SHARE, MIN_SAVING_MS);
      if (!fires) continue;
      const example = medianExample(hits, (h) => h.savingMs)!;
      const shapes = [...new Set(example.waves.flat().map((q) => q.shape))];
      findings.push({
        kind: 'serial-independent-queries',
        key: findingKey('serial-independent-queries', route, shapes.join(' → ')),
        route,
        title: `${route} awaits ${round(median(hits.map((h) => h.waves.length)))} database reads one after another (${round(median(hits.map((h) => sum(h.waves.map(ownWave)))))} ms; together ≈ ${round(median(hits.map((h) => Math.max(...h.waves.map(ownWave)))))} ms)`,
        evidence: {
          statements: example.waves.map((w) => w.map((q) => shortStatement(q.statement)).join(' + ')),
          wavesPerRequest: round(median(hits.map((h) => h.waves.length))),
          serialMs: round(median(hits.map((h) => sum(h.waves.map(ownWave))))),
          longestMs: round(median(hits.map((h) => Math.max(...h.waves.map(ownWave))))),
          requestsAffected: hits.length,
          tracedRequests: list.length,
          shareOfRequests: pct(share),
          assumption: 'the reads do not use each other\'s results (spans cannot show data flow); writes, reads inside a transaction and N+1 repeats are left out',
          ...waitingEvidence(sum(hits.map((h) => h.rawSavingMs)) / list.length, saving, hits.map((h) => h.request)),
          estimate: 'per request: the reads\' own durations (waiting behind other requests\' blocks taken out) minus the longest, averaged over the route\'s requests',
        },
        savingMsPerRequest: round(saving),
        fix: 'Start the independent reads together and await them with Promise.all on a connection pool (one client runs queries one at a time), or fetch the rows in one query (a JOIN or a CTE).',
        traceId: example.request.traceId,
      });
    }
    return findings;
  },
};
