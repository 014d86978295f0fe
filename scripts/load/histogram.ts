/**
 * Latency histograms (hdr-histogram-js, µs): what the load generator records per route, its percentiles in ms, and
 * the compressed form load.json keeps so that the load routes meeting on one app route can be merged later.
 */
import * as hdr from 'hdr-histogram-js';
import type { LatencyMs } from '../../profiles/contract/types.js';

export type Histogram = hdr.Histogram;

export function newHistogram(): Histogram {
  // microseconds, 1 µs .. 10 min, 3 significant digits
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
}

export function latencyOf(h: Histogram): LatencyMs {
  const ms = (us: number) => Math.round(us) / 1000;
  if (h.totalCount === 0) return { p50: 0, p90: 0, p95: 0, p99: 0, max: 0 };
  // a percentile is reported as the top of its bucket, which can exceed the largest value recorded
  const max = h.maxValue;
  const at = (p: number) => ms(Math.min(max, h.getValueAtPercentile(p)));
  return { p50: at(50), p90: at(90), p95: at(95), p99: at(99), max: ms(max) };
}

export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

/** The sum of several encoded histograms; null when one cannot be decoded. */
export function mergeHistograms(encoded: readonly string[]): Histogram | null {
  const total = newHistogram();
  try {
    for (const e of encoded) total.add(hdr.decodeFromCompressedBase64(e));
  } catch {
    return null;
  }
  return total;
}
