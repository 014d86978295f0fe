/**
 * mulberry32: a small, fast, seedable PRNG (uniform in [0, 1)). One copy for the project: the external-services
 * stand-in draws its failures from it, and the load generator (scripts/load) its request sequence, so the same seed
 * gives the same run. Lives in target-app/lib because target-app imports nothing from scripts/, while scripts/ may
 * import target-app's library modules.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
