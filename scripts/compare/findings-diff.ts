/**
 * findings.json (what `looplens diagnose` recognised) of base and head, matched by each finding's stable `key`:
 * new in head, resolved in head, or still there (with its estimated saving per request in both).
 */
import type { Finding, FindingsFile } from '../../profiles/contract/index.js';

export type FindingStatus = 'new' | 'resolved' | 'still';

export interface FindingDiff {
  key: string;
  kind: Finding['kind'];
  route: string | null;
  /** Head's title (base's for resolved findings). */
  title: string;
  status: FindingStatus;
  /** Estimated ms per request a fix would save, per side (absent where the finding is). */
  baseSavingMs?: number;
  headSavingMs?: number;
  fix: string;
}

/** New findings first, then resolved, then those still there; within each, the larger saving first. */
export function diffFindings(base: FindingsFile, head: FindingsFile): FindingDiff[] {
  const b = new Map(base.findings.map((f) => [f.key, f]));
  const h = new Map(head.findings.map((f) => [f.key, f]));
  const out: FindingDiff[] = [];
  for (const key of new Set([...b.keys(), ...h.keys()])) {
    const bf = b.get(key);
    const hf = h.get(key);
    const f = (hf ?? bf)!;
    const d: FindingDiff = { key, kind: f.kind, route: f.route, title: f.title, status: !bf ? 'new' : !hf ? 'resolved' : 'still', fix: f.fix };
    if (bf) d.baseSavingMs = bf.savingMsPerRequest;
    if (hf) d.headSavingMs = hf.savingMsPerRequest;
    out.push(d);
  }
  const rank = { new: 0, resolved: 1, still: 2 } as const;
  const weight = (d: FindingDiff) => Math.max(d.baseSavingMs ?? 0, d.headSavingMs ?? 0);
  return out.sort((x, y) => rank[x.status] - rank[y.status] || weight(y) - weight(x) || (x.key < y.key ? -1 : 1));
}
