/**
 * Did the load measure the app at all? A run in which no request succeeded (a `--path` without its leading slash, a
 * route the app answers with 404, an app that fails every request), or in which most requests failed, measures the
 * failure path: its latencies and throughput say nothing about the code under review. `looplens profile` stops such
 * a run with a non-zero exit (RUN_EMPTY / RUN_ERRORS) right after its load, and `looplens compare` fails the gate on
 * it, so a broken run never passes silently.
 */
import type { RequestStats } from '../../profiles/contract/types.js';

/** More than this share of the requests sent failed (no answer, or not 2xx): RUN_ERRORS. */
export const MAX_ERROR_SHARE = 0.5;

export interface LoadProblem {
  code: 'RUN_EMPTY' | 'RUN_ERRORS';
  message: string;
  fix: string;
}

/** Requests sent in the window: answered ones plus those that failed without an answer. */
export function requestsSent(s: RequestStats): number {
  return s.requests + s.errors;
}

/** Share of the requests sent that failed: no answer (connection error, timeout) or a non-2xx answer. */
export function failedShare(s: RequestStats): number {
  const sent = requestsSent(s);
  return sent > 0 ? (s.errors + s.non2xx) / sent : 0;
}

const pct = (x: number) => `${(x * 100).toFixed(x < 0.995 ? 1 : 0)} %`;

/** RUN_EMPTY (no 2xx answer at all) or RUN_ERRORS (failed share above `maxErrorShare`), or null when the load measured. */
export function loadProblem(s: RequestStats, maxErrorShare = MAX_ERROR_SHARE): LoadProblem | null {
  const sent = requestsSent(s);
  const what = `${sent} sent, ${s.requests - s.non2xx} answered 2xx, ${s.non2xx} non-2xx, ${s.errors} without an answer`;
  if (s.requests - s.non2xx <= 0) {
    return {
      code: 'RUN_EMPTY',
      message: `no request succeeded during the load (${what}): the run measured nothing`,
      fix: sent === 0 ? 'the app accepted no request: check it is healthy (app.log)' : 'check that every --path starts with / and is a route the app answers with 2xx (see app.log)',
    };
  }
  const share = failedShare(s);
  if (share > maxErrorShare) {
    return {
      code: 'RUN_ERRORS',
      message: `${pct(share)} of the requests failed during the load (${what}), more than the ${pct(maxErrorShare)} allowed: the run measured the failures`,
      fix: 'check the routes (--path, --scenario) and the app\'s services (see app.log)',
    };
  }
  return null;
}
