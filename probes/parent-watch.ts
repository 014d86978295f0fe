/**
 * The app must not outlive looplens. looplens sets LOOPLENS_PARENT_PID (its own pid) for every app it starts
 * (scripts/profile/process.ts); a looplens killed with SIGKILL sends nothing, so this polls, every POLL_MS on an
 * unref()'d timer, whether that process is still there (same pid and, on Linux, the same start time, so a reused pid
 * does not pass for it). Once it is gone:
 * - if this process is in a process group of its own (looplens starts every app in one: the app, its cluster workers,
 *   and a wrapper such as 0x or clinic with the app under it), the whole group gets SIGKILL — 0x would otherwise sit
 *   on the app's exit and analyse for a minute with nobody to read it;
 * - else this process alone gets SIGTERM (the app's and the probes' handlers run as on any SIGTERM).
 * Without LOOPLENS_PARENT_PID (the probes preloaded by hand) it does nothing. Never keeps the app alive.
 */
import { readFileSync } from 'node:fs';

export const POLL_MS = 500;

interface ProcStat {
  pgrp: number;
  /** Clock ticks after boot the process started: with the pid, who it is. */
  startTime: string;
}

/** Fields of /proc/<pid>/stat (Linux); null elsewhere or when the process is gone. */
function procStat(pid: number | 'self'): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid pgrp session … starttime …": comm may hold spaces and parentheses, so split after the last ')'
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pgrp: Number(f[2]), startTime: f[19] ?? '' };
  } catch {
    return null;
  }
}

function alive(pid: number, startTime: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return startTime === undefined || procStat(pid)?.startTime === startTime;
}

/** The pid from LOOPLENS_PARENT_PID, when it is one. */
export function parentPidFrom(env: NodeJS.ProcessEnv): number | null {
  const pid = Number(env.LOOPLENS_PARENT_PID);
  return Number.isInteger(pid) && pid > 1 && pid !== process.pid ? pid : null;
}

export interface ParentWatch {
  stop(): void;
}

/** Starts the watch when looplens launched this process (see above); returns null otherwise. */
export function watchParent(env: NodeJS.ProcessEnv = process.env, pollMs = POLL_MS): ParentWatch | null {
  const parent = parentPidFrom(env);
  if (parent === null) return null;
  const parentStat = procStat(parent);
  // looplens was gone before we started: nobody will stop or read this app
  if (!alive(parent, parentStat?.startTime)) return onParentGone(parentStat), null;
  const timer = setInterval(() => {
    if (alive(parent, parentStat?.startTime)) return;
    clearInterval(timer);
    onParentGone(parentStat);
  }, pollMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

function onParentGone(parentStat: ProcStat | null): void {
  const own = procStat('self');
  // a group looplens made for the app (never looplens's own group, never init's)
  if (own && parentStat && own.pgrp > 1 && own.pgrp !== parentStat.pgrp) {
    try {
      process.kill(-own.pgrp, 'SIGKILL');
      return;
    } catch {
      /* fall back to this process alone */
    }
  }
  try {
    process.kill(process.pid, 'SIGTERM');
  } catch {
    /* nothing more to do */
  }
}
