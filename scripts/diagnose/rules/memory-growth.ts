/**
 * Memory growth — the heap keeps what requests allocated: a module-level Map or array every request adds to, a cache
 * with no bound, listeners added per request and never removed. Live size grows with the requests served, until the
 * process runs out of memory or spends its time in GC.
 *
 * From the heap profile's live half (scripts/analysis/memory.ts): what was allocated in the window's second half —
 * up to the sample the probes noted halfway into it — and is still live at the end, after a full GC. Churn
 * (allocated and collected, however much of it) is not in it, nor what requests in flight at the stop held.
 * - Per route (where the allocation stacks tell the route: see memory.ts): what the route's requests kept, per 1,000
 *   of them, at MIN_KEPT_BYTES in all and MIN_BYTES_PER_1K per 1,000 requests or more, is a finding naming the route
 *   and its allocation sites (the innermost app or package frame of each allocation; looplens' own measuring left
 *   out), largest first with their share. One finding per route, not per site: V8's heap samples name the function
 *   an inlined callee was inlined into, so one leak often shows at two sites (the function and its caller).
 * - Sites of no known route: each, past the same thresholds per 1,000 requests of the window, a finding of its own.
 * The growth rate is per 1,000 requests and per minute of that stretch. MIN_REQUESTS requests at least.
 *
 * Saving per request: 0 — a leak costs memory, then GC time and a crash, not latency per request today.
 */
import type { Finding } from '../../../profiles/contract/index.js';
import type { AllocationSite } from '../../analysis/memory.js';
import { frameOwner } from '../../analysis/frames.js';
import { findingKey, pct, round, type Rule } from '../rule.js';

/** Less than this kept in all is a few samples: sampling noise (16 samples at the default 128 KiB). */
export const MIN_KEPT_BYTES = 2 * 1024 * 1024;
/** ... or less than this per 1,000 requests (1 KiB a request). */
export const MIN_BYTES_PER_1K = 1024 * 1024;
export const MIN_REQUESTS = 50;
/** Sites named per finding. */
const MAX_SITES = 3;

const MIB = 1024 * 1024;

/** "name (file:line)" → its parts. */
function parts(frame: string): { fn: string; file: string; line: number | null } {
  const m = /^(.*) \((.*?)(?::(\d+))?\)$/.exec(frame);
  return m ? { fn: m[1]!, file: m[2]!, line: m[3] ? Number(m[3]) : null } : { fn: frame, file: '', line: null };
}

/** The app's frames that led to a site, innermost first. */
function callers(site: AllocationSite): string[] {
  return site.stack
    .slice(0, -1)
    .reverse()
    .filter((f) => frameOwner(f)?.kind === 'app' && f !== site.site)
    .slice(0, 3);
}

const FIX =
  "Bound what this keeps: delete the entry when the request is done, give the map or cache a size limit (an LRU) or a TTL, or key it by an object that dies with the request (a WeakMap). heap.heapprofile's live half (looplens.live; DevTools Memory panel) shows the stacks.";

export const memoryGrowth: Rule = {
  kind: 'memory-growth',
  describe: 'the heap keeps what requests allocated (a map, array or cache that only grows): live size growing with requests',
  detect({ memory }): Finding[] {
    const live = memory?.live;
    if (!live || live.requests < MIN_REQUESTS) return [];
    const seconds = Math.max(0.001, (live.window.endMs - live.window.startMs) / 1000);
    const heapUsedMb =
      memory.heapUsedStartBytes !== null && memory.heapUsedEndBytes !== null ? { start: round(memory.heapUsedStartBytes / MIB), end: round(memory.heapUsedEndBytes / MIB) } : null;
    const stretch = `between ${new Date(live.window.startMs).toISOString()} and ${new Date(live.window.endMs).toISOString()}`;
    const make = (route: string | null, kept: number, requests: number, sites: AllocationSite[]): Finding | null => {
      const per1k = (kept / Math.max(1, requests)) * 1000;
      if (requests < (route ? 5 : MIN_REQUESTS) || kept < MIN_KEPT_BYTES || per1k < MIN_BYTES_PER_1K) return null;
      const top = sites[0];
      if (!top) return null;
      const { fn, file, line } = parts(top.site);
      const of = route ? `${route} request` : 'request';
      const named = sites.slice(0, MAX_SITES).map((s) => ({ site: s.site, share: pct(s.bytes / kept), callers: callers(s) }));
      return {
        kind: 'memory-growth',
        key: findingKey('memory-growth', route, route ? 'heap' : `${fn} (${file.split('/').pop()})`),
        route,
        title: `every ${of} keeps ${round(per1k / 1000 / 1024)} KiB live, allocated at ${top.site}${callers(top)[0] ? ` (from ${callers(top)[0]})` : ''}: the heap grows ${round(per1k / MIB)} MiB per 1,000 ${route ? `${route} ` : ''}requests`,
        evidence: {
          site: top.site,
          function: fn,
          file,
          line,
          sites: named,
          keptBytes: Math.round(kept),
          requests,
          mbPer1kRequests: round(per1k / MIB),
          mbPerMinute: round((kept / seconds / MIB) * 60),
          heapUsedMb,
          estimate: `bytes the heap profile sampled ${route ? `in ${route}'s allocations` : `at ${top.site}`} ${stretch} that were still live when the app stopped (after a full GC) ÷ the ${requests} ${route ? `${route} ` : ''}requests that started then`,
        },
        savingMsPerRequest: 0,
        fix: FIX,
      };
    };
    const out: Finding[] = [];
    const byRoute = new Map<string, AllocationSite[]>();
    for (const s of live.sites) if (s.route) (byRoute.get(s.route) ?? byRoute.set(s.route, []).get(s.route)!).push(s);
    for (const [route, kept] of [...live.routes].sort((a, b) => b[1] - a[1])) {
      const f = make(route, kept, live.requestsByRoute.get(route) ?? 0, byRoute.get(route) ?? []);
      if (f) out.push(f);
    }
    for (const s of live.sites) {
      if (s.route) continue;
      const f = make(null, s.bytes, live.requests, [s]);
      if (f) out.push(f);
    }
    return out;
  },
};
