/**
 * The app's memory during the measured window, from outside: every process of the app's process group (the app
 * starts detached, so its group is its whole tree — a node:cluster primary and its workers, a profiler and the app it
 * wraps), its resident set size read from /proc twice a second → load.json `memory`. Linux only: elsewhere (no
 * /proc) nothing is sampled and the run has no memory figures. Never throws: a process that exits between two reads
 * simply stops having samples.
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { ProcessMemory } from '../../profiles/contract/types.js';

/** pid, ppid, process group and name of one /proc/<pid>/stat line (the name may hold spaces and parentheses). */
export function parseStat(text: string): { pid: number; name: string; ppid: number; pgrp: number } | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  // after the name: state ppid pgrp …
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const ppid = Number(rest[1]);
  const pgrp = Number(rest[2]);
  if (!Number.isInteger(pid) || !Number.isInteger(ppid) || !Number.isInteger(pgrp)) return null;
  return { pid, name: text.slice(open + 1, close), ppid, pgrp };
}

/** VmRSS of a /proc/<pid>/status text, KiB (null for a zombie or kernel thread, which have none). */
export function parseRssKb(status: string): number | null {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) : null;
}

export interface MemoryReading {
  pid: number;
  ppid: number;
  name: string;
  rssKb: number;
}

/** One reading of every live process in process group `pgrp` (empty without /proc). */
export function readGroup(pgrp: number, proc = '/proc'): MemoryReading[] {
  let entries: string[];
  try {
    entries = readdirSync(proc);
  } catch {
    return [];
  }
  const out: MemoryReading[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = parseStat(readFileSync(`${proc}/${e}/stat`, 'utf8'));
      if (!stat || stat.pgrp !== pgrp) continue;
      const rssKb = parseRssKb(readFileSync(`${proc}/${e}/status`, 'utf8'));
      if (rssKb !== null) out.push({ pid: stat.pid, ppid: stat.ppid, name: stat.name, rssKb });
    } catch {
      // it exited between the listing and the read
    }
  }
  return out;
}

export interface MemorySampler {
  /** Stops sampling; the samples taken, per process. */
  stop(): ProcessMemory[];
}

/** Samples the process group of `pgrp` every `intervalMs` (and once at once) until stop(). */
export function sampleMemory(pgrp: number, intervalMs = 500, proc = '/proc'): MemorySampler {
  const byPid = new Map<number, ProcessMemory>();
  const take = () => {
    const t = Date.now();
    for (const r of readGroup(pgrp, proc)) {
      let p = byPid.get(r.pid);
      if (!p) byPid.set(r.pid, (p = { pid: r.pid, ppid: r.ppid, name: r.name, samples: [] }));
      p.samples.push({ t, rssKb: r.rssKb });
    }
  };
  take();
  const timer = setInterval(take, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      take();
      return [...byPid.values()].sort((a, b) => a.pid - b.pid);
    },
  };
}
