/**
 * GC pressure — garbage collection takes a large share of the loop: the app allocates so much, or keeps objects
 * alive just long enough to survive a scavenge (buffers held across awaits, big intermediate arrays), that V8's
 * pauses stop every request for a noticeable part of the time.
 *
 * From the GC pauses of the measured window (perf_hooks gc entries, memory.jsonl): their ms over the window's ms. At
 * MIN_GC_SHARE or more (and MIN_GC_MS in all), a finding that names what fed it: the top allocation sites of the heap
 * profile's allocated half (the innermost app or package frame; looplens' own measuring left out) with their share
 * of the bytes and their routes (where the allocation stacks tell: scripts/analysis/memory.ts). Without a heap
 * profile the finding names no allocator and says so.
 *
 * Saving per request: the GC ms per request of the window × the top site's share of the allocated bytes — what
 * allocating nothing there would save, if GC time follows the bytes allocated (it follows the bytes that survive a
 * scavenge more closely: an upper bound for churn, about right for objects held across awaits).
 */
import type { Finding } from '../../../profiles/contract/index.js';
import { findingKey, pct, round, type Rule } from '../rule.js';

/** GC at this share of the window's wall time or more. */
export const MIN_GC_SHARE = 0.2;
/** ... and this many ms in all (a short window's few pauses say little). */
export const MIN_GC_MS = 200;
const TOP_SITES = 3;
const KIB = 1024;

export const gcPressure: Rule = {
  kind: 'gc-pressure',
  describe: 'garbage collection takes a large share of the loop; names the functions and routes that allocate the most',
  detect({ memory, measured }): Finding[] {
    if (!memory || memory.gcShare < MIN_GC_SHARE || memory.gcMs < MIN_GC_MS) return [];
    const requests = Math.max(1, measured.requestCount);
    const gcMsPerRequest = memory.gcMs / requests;
    const alloc = memory.allocated;
    const top = (alloc?.sites ?? []).slice(0, TOP_SITES);
    const first = top[0] ?? null;
    const routes = [...(alloc?.routes ?? [])].sort((a, b) => b[1] - a[1]).slice(0, TOP_SITES);
    const named = first ? `${first.site}${first.route ? ` in ${first.route}` : ''} allocates ${pct(first.share)} % of it` : 'no heap profile names what allocated';
    return [
      {
        kind: 'gc-pressure',
        key: findingKey('gc-pressure', first?.route ?? null, first ? first.site.replace(/:\d+\)$/, ')') : 'gc'),
        route: first?.route ?? null,
        title: `garbage collection takes ${pct(memory.gcShare)} % of the window (${round(gcMsPerRequest)} ms per request): ${named}`,
        evidence: {
          gcMs: round(memory.gcMs),
          gcShare: pct(memory.gcShare),
          pauses: memory.pauses.length,
          longestPauseMs: round(memory.longestPause?.durationMs ?? 0),
          byKind: memory.byKind,
          gcMsPerRequest: round(gcMsPerRequest),
          allocatedKbPerRequest: alloc?.bytesPerRequest != null ? round(alloc.bytesPerRequest / KIB) : null,
          topAllocators: top.map((s) => ({ site: s.site, share: pct(s.share), route: s.route, kbPerRequest: alloc && alloc.requests > 0 ? round(s.bytes / alloc.requests / KIB) : null })),
          topRoutes: routes.map(([route, bytes]) => ({ route, share: alloc && alloc.bytes > 0 ? pct(bytes / alloc.bytes) : 0 })),
          estimate: first
            ? `GC pauses of the window (${round(memory.gcMs)} ms) ÷ ${requests} requests × ${first.site}'s share of the bytes allocated (heap profile, first half of the window)`
            : `GC pauses of the window (${round(memory.gcMs)} ms) ÷ ${requests} requests`,
        },
        savingMsPerRequest: round(gcMsPerRequest * (first?.share ?? 0)),
        fix: 'Allocate less on the request path in the functions named: reuse buffers and arrays, stream or paginate instead of building large intermediate arrays, and do not hold big temporary objects across awaits (they survive scavenges and are copied and promoted). The allocation flamegraph shows where.',
      },
    ];
  },
};
