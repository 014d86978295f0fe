/**
 * The allocation diff: per allocation site (the innermost app or package frame of each heap sample, line numbers
 * dropped so a moved function still matches), KiB allocated per request (heap.heapprofile's allocated half) and MiB
 * kept per 1,000 requests (its live half) in base and head — from each run's evidence (scripts/analysis/memory.ts),
 * looplens' own measuring left out. Largest change first.
 */
import type { Evidence } from '../analysis/evidence.js';

export interface AllocationSide {
  /** KiB allocated per request of its half; 0 when the site allocated nothing sampled. */
  kbPerRequest: number;
  /** MiB still live at the end per 1,000 requests of the live half; 0 when nothing of it stayed. */
  keptMbPer1k: number;
}

export interface AllocationDiff {
  /** "name (file)". */
  site: string;
  route: string | null;
  base: AllocationSide;
  head: AllocationSide;
  status: 'new' | 'gone' | 'grew' | 'shrank' | 'same';
}

/** A site whose KiB per request and kept MiB moved less than this (relative) is "same". */
export const ALLOCATION_SAME_WITHIN = 0.2;

const strip = (frame: string) => frame.replace(/:\d+\)$/, ')');

function sides(e: Evidence): Map<string, { route: string | null; side: AllocationSide }> {
  const out = new Map<string, { route: string | null; side: AllocationSide }>();
  const m = e.memory;
  const entry = (site: string, route: string | null) => out.get(site) ?? out.set(site, { route, side: { kbPerRequest: 0, keptMbPer1k: 0 } }).get(site)!;
  if (m?.allocated && m.allocated.requests > 0) {
    for (const s of m.allocated.sites) entry(strip(s.site), s.route).side.kbPerRequest += s.bytes / m.allocated.requests / 1024;
  }
  if (m?.live && m.live.requests > 0) {
    for (const s of m.live.sites) entry(strip(s.site), s.route).side.keptMbPer1k += (s.bytes / m.live.requests) * 1000 / (1024 * 1024);
  }
  return out;
}

export function diffAllocations(base: Evidence, head: Evidence): AllocationDiff[] | null {
  if (!base.memory?.allocated || !head.memory?.allocated) return null;
  const b = sides(base);
  const h = sides(head);
  const zero: AllocationSide = { kbPerRequest: 0, keptMbPer1k: 0 };
  const out: AllocationDiff[] = [];
  for (const site of new Set([...b.keys(), ...h.keys()])) {
    const bs = b.get(site)?.side ?? zero;
    const hs = h.get(site)?.side ?? zero;
    const moved = (x: number, y: number) => Math.abs(y - x) > ALLOCATION_SAME_WITHIN * Math.max(x, y);
    const status: AllocationDiff['status'] = !b.has(site)
      ? 'new'
      : !h.has(site)
        ? 'gone'
        : moved(bs.kbPerRequest, hs.kbPerRequest) || moved(bs.keptMbPer1k, hs.keptMbPer1k)
          ? hs.kbPerRequest + hs.keptMbPer1k > bs.kbPerRequest + bs.keptMbPer1k
            ? 'grew'
            : 'shrank'
          : 'same';
    out.push({ site, route: h.get(site)?.route ?? b.get(site)?.route ?? null, base: bs, head: hs, status });
  }
  // what moved most first: kept memory weighs as 1 MiB per 1,000 requests ≈ 1 KiB per request
  const weight = (d: AllocationDiff) => Math.abs(d.head.kbPerRequest - d.base.kbPerRequest) + Math.abs(d.head.keptMbPer1k - d.base.keptMbPer1k);
  return out.sort((x, y) => weight(y) - weight(x) || x.site.localeCompare(y.site));
}
