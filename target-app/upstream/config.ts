/** The external services the app calls, and how their stand-in is configured (UPSTREAM_* env vars). */

export const ENDPOINTS = ['images', 'notify', 'index'] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

/** The seed article's latencies: image upload 300 ms, notification 200 ms, search indexing 150 ms. */
export const DEFAULT_LATENCY_MS: Readonly<Record<Endpoint, number>> = { images: 300, notify: 200, index: 150 };
export const NO_RATES: Readonly<Record<Endpoint, number>> = { images: 0, notify: 0, index: 0 };

/**
 * Parses "images=300,notify=200" into a full record (endpoints not named keep their default).
 * Throws a one-line Error naming the bad part.
 */
export function parsePerEndpoint(
  name: string,
  spec: string | undefined,
  defaults: Readonly<Record<Endpoint, number>>,
  range: { min: number; max: number },
): Record<Endpoint, number> {
  const out = { ...defaults };
  if (!spec?.trim()) return out;
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key, raw, extra] = part.split('=');
    if (!ENDPOINTS.includes(key as Endpoint) || raw === undefined || extra !== undefined) {
      throw new Error(`${name}: "${part}" is not <endpoint>=<number> with endpoint one of ${ENDPOINTS.join(', ')}`);
    }
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || value < range.min || value > range.max) {
      throw new Error(`${name}: ${key} must be a number from ${range.min} to ${range.max}, got "${raw}"`);
    }
    out[key as Endpoint] = value;
  }
  return out;
}
