/**
 * Worker threads write their own probe files (threads/<pid>-<threadId>/), but a thread gets no 'exit' event when the
 * process ends or the thread is terminated: its files would never be written. So the main thread's probes, as they
 * finish, ask every live thread's probes to finish too and wait for them (bounded: THREAD_FINISH_MS) — over a
 * BroadcastChannel (each thread says hello when its probes start, bye when they finish on their own), the answer an
 * Atomics counter in a SharedArrayBuffer the request carries, so the main thread can wait inside its own 'exit'
 * handler. A thread busy in one long synchronous task when the process ends cannot answer: its blocking.json then
 * holds what the 5 s flush last wrote (stacks pending) and its profile is missing.
 */
import { BroadcastChannel } from 'node:worker_threads';

const CHANNEL = 'looplens:probes:threads';
/** How long the main thread waits for its threads' probes to write their files. */
export const THREAD_FINISH_MS = 2000;

type Message = { type: 'hello' | 'bye' } | { type: 'finish'; sab: SharedArrayBuffer };

/** Main thread: counts the threads whose probes run; finishAll() has them write their files. */
export function threadCoordinator(): { finishAll(timeoutMs: number): void; close(): void } {
  const channel = new BroadcastChannel(CHANNEL);
  (channel as unknown as { unref(): void }).unref();
  let live = 0;
  channel.onmessage = (event) => {
    const type = ((event as { data?: unknown }).data as Message | undefined)?.type;
    if (type === 'hello') live++;
    else if (type === 'bye') live = Math.max(0, live - 1);
  };
  return {
    finishAll(timeoutMs) {
      if (live === 0) return;
      const sab = new SharedArrayBuffer(4);
      const done = new Int32Array(sab);
      channel.postMessage({ type: 'finish', sab } satisfies Message);
      const until = Date.now() + timeoutMs;
      for (let seen = 0; (seen = Atomics.load(done, 0)) < live && Date.now() < until; ) Atomics.wait(done, 0, seen, until - Date.now());
    },
    close: () => channel.close(),
  };
}

/** Worker thread: runs `finish` when the main thread's probes ask; close() (when they finished on their own) says bye. */
export function threadFinisher(finish: () => void): { close(): void } {
  const channel = new BroadcastChannel(CHANNEL);
  (channel as unknown as { unref(): void }).unref();
  channel.postMessage({ type: 'hello' } satisfies Message);
  let closed = false;
  channel.onmessage = (event) => {
    const data = (event as { data?: unknown }).data as Message | undefined;
    if (data?.type !== 'finish') return;
    closed = true;
    try {
      finish();
    } finally {
      const done = new Int32Array(data.sab);
      Atomics.add(done, 0, 1);
      Atomics.notify(done, 0);
      channel.close();
    }
  };
  return {
    close() {
      if (closed) return;
      closed = true;
      channel.postMessage({ type: 'bye' } satisfies Message);
      channel.close();
    },
  };
}
