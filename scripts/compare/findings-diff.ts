/**
 * findings.json (what `looplens diagnose` recognised) of base and head, matched by each finding's stable `key`
 * (diagnose's own diffFindings): new in head, resolved in head, or still there, with the estimated saving per
 * request in both — one list, in the order the markdown shows it.
 */
import type { Finding, FindingsFile } from '../../profiles/contract/index.js';
import { diffFindings as matchFindings } from '../diagnose/render.js';

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

function entry(f: Finding, status: FindingStatus, base?: Finding, head?: Finding): FindingDiff {
  const d: FindingDiff = { key: f.key, kind: f.kind, route: f.route, title: f.title, status, fix: f.fix };
  if (base) d.baseSavingMs = base.savingMsPerRequest;
  if (head) d.headSavingMs = head.savingMsPerRequest;
  return d;
}

/** New findings first, then resolved, then those still there; within each, the larger saving first. */
export function diffFindings(base: FindingsFile, head: FindingsFile): FindingDiff[] {
  const m = matchFindings(base.findings, head.findings);
  const weight = (d: FindingDiff) => Math.max(d.baseSavingMs ?? 0, d.headSavingMs ?? 0);
  const sorted = (list: FindingDiff[]) => list.sort((x, y) => weight(y) - weight(x) || (x.key < y.key ? -1 : 1));
  return [
    ...sorted(m.introduced.map((f) => entry(f, 'new', undefined, f))),
    ...sorted(m.fixed.map((f) => entry(f, 'resolved', f, undefined))),
    ...sorted(m.remaining.map((r) => entry(r.head, 'still', r.base, r.head))),
  ];
}
