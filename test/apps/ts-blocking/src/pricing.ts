/**
 * A quote computed the slow way: every line of the basket priced against every tier, synchronously. About 30 ms of
 * CPU per call on this machine — the loop blocks for as long, and every other request waits.
 */
export interface Line {
  sku: number;
  quantity: number;
}

const TIERS = Array.from({ length: 400 }, (_, i) => ({ from: i * 5, discount: Math.min(0.4, i / 1000) }));

export function priceBasket(lines: readonly Line[], rounds: number): number {
  let total = 0;
  for (let r = 0; r < rounds; r++) {
    for (const line of lines) {
      let best = 0;
      for (const tier of TIERS) {
        if (line.quantity >= tier.from) best = Math.max(best, tier.discount * Math.sqrt(line.sku + r));
      }
      total += line.quantity * (1 - best / 100);
    }
  }
  return Math.round(total * 100) / 100;
}

export function basketFor(id: number): Line[] {
  return Array.from({ length: 50 }, (_, i) => ({ sku: id * 100 + i, quantity: 1 + ((id + i) % 40) }));
}
