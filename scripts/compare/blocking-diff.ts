/**
 * Blocking hotspots of base and head, keyed by (route, top frame), from each run's evidence (its measured window):
 * ms per request of the hotspot's route as the evidence counts the route's requests — so a route's hotspots add up to
 * its blocked ms per request in summary.json, and each one is the saving of its blocking-call finding — overall
 * requests when the block ran outside a request, so runs of different length compare.
 */
import type { Evidence } from '../analysis/evidence.js';
import { relativeChange } from './change.js';
import { findProjectRoot, normaliseFrame } from './folded.js';

export interface HotspotSide {
  count: number;
  totalMs: number;
  msPerRequest: number;
}

export type HotspotStatus = 'new' | 'gone' | 'grew' | 'shrank' | 'same';

export interface HotspotDiff {
  /** null: the loop was blocked outside any request (start-up, timers). */
  route: string | null;
  /** Normalised "name (file)", line numbers dropped so a moved function still matches. */
  topFrame: string;
  base: HotspotSide;
  head: HotspotSide;
  status: HotspotStatus;
  /** head.msPerRequest / base.msPerRequest − 1 (±Infinity for new). */
  relative: number;
}

/** A hotspot whose ms per request moved less than this is "same". */
export const HOTSPOT_SAME_WITHIN = 0.1;

function collect(evidence: Evidence, root?: string): Map<string, { route: string | null; topFrame: string; side: HotspotSide }> {
  const { measured } = evidence;
  const out = new Map<string, { route: string | null; topFrame: string; side: HotspotSide }>();
  root ??= findProjectRoot(measured.blocks.flatMap((e) => e.frames.map((f) => f.url)));
  const requests = new Map(measured.routes.map((f) => [f.route, f.requests]));
  for (const e of measured.blocks) {
    const topFrame = normaliseFrame(e.topFrame, root);
    const key = JSON.stringify([e.route, topFrame]);
    let entry = out.get(key);
    if (!entry) out.set(key, (entry = { route: e.route, topFrame, side: { count: 0, totalMs: 0, msPerRequest: 0 } }));
    entry.side.count += 1;
    entry.side.totalMs += e.durationMs;
  }
  for (const entry of out.values()) {
    // as the evidence's per-route figures: a run without requests counts as one, so its blocked time still shows
    const n = (entry.route !== null && requests.get(entry.route)) || measured.requestCount;
    entry.side.msPerRequest = entry.side.totalMs / Math.max(1, n);
  }
  return out;
}

/**
 * `roots`: each run's project root for frame names (see findProjectRoot); by default detected from the blocks' own
 * frames. Pass the roots found in stacks.folded so hotspots and functions are named alike.
 */
export function diffBlocking(base: Evidence, head: Evidence, roots: { base?: string; head?: string } = {}): HotspotDiff[] {
  const b = collect(base, roots.base);
  const h = collect(head, roots.head);
  const empty: HotspotSide = { count: 0, totalMs: 0, msPerRequest: 0 };
  const out: HotspotDiff[] = [];
  for (const key of new Set([...b.keys(), ...h.keys()])) {
    const be = b.get(key);
    const he = h.get(key);
    const bs = be?.side ?? empty;
    const hs = he?.side ?? empty;
    const relative = relativeChange(bs.msPerRequest, hs.msPerRequest);
    const status: HotspotStatus = !be
      ? 'new'
      : !he
        ? 'gone'
        : Math.abs(relative) < HOTSPOT_SAME_WITHIN
          ? 'same'
          : relative > 0
            ? 'grew'
            : 'shrank';
    const { route, topFrame } = (be ?? he)!;
    out.push({ route, topFrame, base: bs, head: hs, status, relative });
  }
  const weight = (d: HotspotDiff) => Math.abs(d.head.msPerRequest - d.base.msPerRequest);
  return out.sort(
    (x, y) =>
      weight(y) - weight(x) ||
      Math.max(y.base.msPerRequest, y.head.msPerRequest) - Math.max(x.base.msPerRequest, x.head.msPerRequest) ||
      (x.topFrame < y.topFrame ? -1 : 1),
  );
}
