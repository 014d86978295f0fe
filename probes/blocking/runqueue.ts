/**
 * Time the main thread spent runnable but not running (waiting for a CPU), from Linux's
 * /proc/thread-self/schedstat. On an overloaded machine the OS can stall a callback for tens of ms: that is the
 * machine's doing, not the app's, and the detector does not count it towards the threshold. Null elsewhere.
 */
import { closeSync, openSync, readSync } from 'node:fs';

export interface RunQueueClock {
  /** Cumulative run-queue wait of the main thread, ms. */
  read(): number;
  close(): void;
}

export function openRunQueueClock(): RunQueueClock | null {
  if (process.platform !== 'linux') return null;
  let fd: number;
  try {
    fd = openSync('/proc/thread-self/schedstat', 'r');
  } catch {
    return null;
  }
  const buf = Buffer.alloc(96);
  const read = (): number => {
    try {
      const n = readSync(fd, buf, 0, buf.length, 0);
      // "<ns on cpu> <ns waiting on a run queue> <timeslices>"
      const text = buf.toString('latin1', 0, n);
      const first = text.indexOf(' ');
      return Number(text.slice(first + 1, text.indexOf(' ', first + 1))) / 1e6;
    } catch {
      return 0;
    }
  };
  if (!Number.isFinite(read())) {
    closeSync(fd);
    return null;
  }
  return {
    read,
    close: () => {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    },
  };
}
