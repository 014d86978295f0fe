/**
 * The app's worker threads over the measured window, from their own probe files (threads/<pid>-<threadId>/, read by
 * the contract): each thread's blocks — a block stops that thread's loop only, so none of them counts in the main
 * loop's blocked ms — the functions that blocked, the work items (messages) that ran them, and its loop. Pure.
 */
import type { ThreadFiles, ThreadSummary, TimeWindow } from '../../profiles/contract/types.js';
import { round, summariseEventLoop } from './summarise.js';

export function threadFigures(threads: readonly ThreadFiles[], window: TimeWindow | null): ThreadSummary[] {
  return threads.map((t) => {
    const events = (t.blocking?.events ?? []).filter((e) => !window || (e.startMs >= window.startMs && e.startMs < window.endMs));
    const byFrame = new Map<string, { topFrame: string; blocks: number; blockedMs: number }>();
    for (const e of events) {
      const f = byFrame.get(e.topFrame) ?? { topFrame: e.topFrame, blocks: 0, blockedMs: 0 };
      f.blocks++;
      f.blockedMs += e.durationMs;
      byFrame.set(e.topFrame, f);
    }
    const loop = t.eventLoop.length ? summariseEventLoop(t.eventLoop, window ?? { startMs: -Infinity, endMs: Infinity }) : null;
    return {
      pid: t.pid,
      threadId: t.threadId,
      blocks: events.length,
      blockedMs: round(events.reduce((a, e) => a + e.durationMs, 0)),
      workItems: new Set(events.map((e) => e.workItem).filter((w) => w !== undefined)).size,
      functions: [...byFrame.values()].sort((a, b) => b.blockedMs - a.blockedMs).map((f) => ({ ...f, blockedMs: round(f.blockedMs) })),
      ...(loop ? { eventLoop: loop } : {}),
      cpuProfile: t.cpuProfile,
    };
  });
}
